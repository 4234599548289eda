package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// labDown removes the lab in dir: its agents, its network (as root) and
// its files. name, if not blank, also removes namespaces and links named
// name-* whatever the state says. Nothing there is not an error.
func (a *app) labDown(dir, name string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := loadLabState(dir)
	if err != nil {
		fmt.Fprintf(a.stderr, "lkv lab down: %v; cleaning up by name and directory\n", err)
		st = nil
	}
	cleanNet := os.Geteuid() == 0 && (st == nil || st.Netns || name != "")
	if name == "" {
		name = labDefaultName
		if st != nil {
			name = st.Name
		}
	}
	var errs []error
	var nss []string
	if _, ipErr := lookPath("ip"); cleanNet && ipErr == nil {
		nss = labNamespaces(name + "-")
		if st != nil {
			for _, n := range st.Nodes {
				if n.Netns != "" && !slices.Contains(nss, n.Netns) {
					nss = append(nss, n.Netns)
				}
			}
		}
	}
	var pids []int
	for _, ns := range nss {
		pids = append(pids, namespacePIDs(ns)...)
	}
	pids = append(pids, labPIDs(dir)...)
	killed := killAll(pids)
	if cleanNet && len(nss) > 0 || cleanNet && linkExists(name+"-br") {
		errs = append(errs, removeNetwork(nss, name+"-br")...)
	}
	removed, err := removeLabFiles(dir, st)
	if err != nil {
		errs = append(errs, err)
	}
	fmt.Fprintf(a.stdout, "lkv lab: down: %d processes killed, %d namespaces removed, %s\n", killed, len(nss), removed)
	return errors.Join(errs...)
}

// labPIDs finds the lab's agents by their command line, which names
// paths inside dir: so it finds those of an up that crashed before saving
// their pids, and never a process that reused a saved pid.
func labPIDs(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if argsInDir(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// argsInDir reports whether process pid is an agent with an argument
// inside dir.
func argsInDir(pid int, dir string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
	if !slices.Contains(args, "agent") {
		return false
	}
	for _, a := range args {
		if strings.HasPrefix(a, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// killAll sends SIGKILL to each pid and waits (up to 5s) until they are
// gone; it returns how many it killed.
func killAll(pids []int) int {
	slices.Sort(pids)
	pids = slices.Compact(pids)
	n := 0
	for _, pid := range pids {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

// nodeDirRE matches the node directories lab up makes.
var nodeDirRE = regexp.MustCompile(`^[nc][0-9]+$`)

// removeLabFiles removes the node directories and the state file, then dir
// itself if nothing else is left in it.
func removeLabFiles(dir string, st *labState) (string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "no directory " + dir, nil
	}
	var errs []error
	unmountUnder(dir)
	for _, e := range ents {
		if e.IsDir() && nodeDirRE.MatchString(e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	for _, f := range []string{labStateFile, labStateFile + ".tmp"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return dir + " kept (it holds other files)", errors.Join(errs...)
	}
	return dir + " removed", errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first: a node
// killed as root leaves its jail's tmpfs mounted.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mnts []string
	for _, line := range strings.Split(string(b), "\n") {
		// The fifth field is the mount point, with spaces as \040.
		if f := strings.Fields(line); len(f) > 4 {
			m := strings.ReplaceAll(f[4], "\\040", " ")
			if strings.HasPrefix(m, dir+string(filepath.Separator)) {
				mnts = append(mnts, m)
			}
		}
	}
	slices.SortFunc(mnts, func(a, b string) int { return len(b) - len(a) })
	for _, m := range mnts {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}
