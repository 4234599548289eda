//go:build linux && amd64

package jail

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// cgroupPool owns the jail's cgroups: a directory lkv-jail-<pid>-<random> under
// the parent cgroup and a pool of reusable per-run slots in it. Creating
// a memory cgroup costs far more than reusing one, so a slot serves one
// run at a time and is kept for the next.
type cgroupPool struct {
	version      string // "v2" or "v1"
	memory, pids bool   // controllers in use
	canKill      bool   // v2 cgroup.kill exists
	logger       hclog.Logger

	base     string // v2: the jail's cgroup directory
	memBase  string // v1: the jail's directory in the memory hierarchy
	pidsBase string // v1: the jail's directory in the pids hierarchy

	mu   sync.Mutex // guards free, all
	free []*cgroupSlot
	all  []*cgroupSlot
}

// cgroupSlot is one per-run cgroup.
type cgroupSlot struct {
	pool            *cgroupPool
	dir             string   // v2
	fd              *os.File // v2: for CLONE_INTO_CGROUP
	memDir, pidsDir string   // v1
	memLimit        int64    // as last written
	pidsLimit       int      // as last written
	oomKills        uint64   // the counter after the last run
	retired         bool     // killed with processes left: never reused
}

// newCgroupPool detects cgroup v2 (cgroup.controllers at root) or v1
// (memory and pids hierarchies below root) and creates the jail's cgroup
// under parent. An empty parent means, with v2, the cgroup this process
// is in (the delegation model: limits nest under the node's), and with
// v1, the root of each hierarchy (as Docker's cgroupfs driver does: a v1
// cgroup has no owner to delegate it, and a cgroup left by a crash must
// not block whoever manages the node's own cgroup).
func newCgroupPool(root, parent string, logger hclog.Logger) (*cgroupPool, error) {
	p := &cgroupPool{logger: logger}
	var salt [4]byte
	_, _ = rand.Read(salt[:])
	// Several jails may live in one process (an in-process test cluster).
	name := fmt.Sprintf("lkv-jail-%d-%x", os.Getpid(), salt)
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return p, p.initV2(root, parent, name)
	}
	return p, p.initV1(root, parent, name)
}

// initV2 creates the jail's cgroup and enables memory and pids for its
// children where the parent delegates them.
func (p *cgroupPool) initV2(root, parent, name string) error {
	p.version = "v2"
	if parent == "" {
		parent = ownCgroup("")
	}
	dir := filepath.Join(root, parent)
	removeStale(dir)
	p.base = filepath.Join(dir, name)
	if err := os.Mkdir(p.base, 0o755); err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	// Enabling controllers in the parent fails if it holds processes
	// (the no-internal-process rule) unless it is the root; they may be
	// enabled already by whoever delegated it to us.
	_ = writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+memory +pids")
	have, _ := os.ReadFile(filepath.Join(p.base, "cgroup.controllers"))
	for _, c := range strings.Fields(string(have)) {
		if c != "memory" && c != "pids" {
			continue
		}
		if err := writeFile(filepath.Join(p.base, "cgroup.subtree_control"), "+"+c); err == nil {
			p.memory = p.memory || c == "memory"
			p.pids = p.pids || c == "pids"
		}
	}
	return nil
}

// initV1 creates the jail's directory in the memory and pids hierarchies.
func (p *cgroupPool) initV1(root, parent, name string) error {
	p.version = "v1"
	for _, c := range []string{"memory", "pids"} {
		mnt := filepath.Join(root, c)
		if _, err := os.Stat(filepath.Join(mnt, "cgroup.procs")); err != nil {
			continue
		}
		dir := filepath.Join(mnt, parent)
		removeStale(dir)
		base := filepath.Join(dir, name)
		if err := os.Mkdir(base, 0o755); err != nil {
			return errors.Join(fmt.Errorf("cgroup v1 %s: %w", c, err), p.close())
		}
		if c == "memory" {
			p.memory, p.memBase = true, base
		} else {
			p.pids, p.pidsBase = true, base
		}
	}
	if !p.memory && !p.pids {
		return errors.New("cgroup v1: neither the memory nor the pids controller is mounted")
	}
	return nil
}

// ownCgroup returns this process's cgroup path for controller c ("" for
// the v2 unified hierarchy), "/" if unknown.
func ownCgroup(c string) string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "/"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == c {
				return parts[2]
			}
		}
	}
	return "/"
}

// removeStale removes lkv-jail-<pid>[-<random>] cgroups left by dead
// processes.
func removeStale(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), "lkv-jail-")
		pid, _, _ = strings.Cut(pid, "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || !e.IsDir() || unix.Kill(n, 0) != unix.ESRCH {
			continue
		}
		stale := filepath.Join(dir, e.Name())
		subs, _ := os.ReadDir(stale)
		for _, s := range subs {
			if s.IsDir() {
				_ = unix.Rmdir(filepath.Join(stale, s.Name()))
			}
		}
		_ = unix.Rmdir(stale)
	}
}

// get returns a free slot, creating one if needed.
func (p *cgroupPool) get() (*cgroupSlot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s, nil
	}
	s, err := p.newSlotLocked("slot-" + strconv.Itoa(len(p.all)))
	if err != nil {
		return nil, err
	}
	p.all = append(p.all, s)
	return s, nil
}

// newSlotLocked creates the cgroup directories of a slot.
func (p *cgroupPool) newSlotLocked(name string) (*cgroupSlot, error) {
	s := &cgroupSlot{pool: p}
	if p.version == "v2" {
		return s, s.initV2(filepath.Join(p.base, name))
	}
	if p.memory {
		s.memDir = filepath.Join(p.memBase, name)
		if err := os.Mkdir(s.memDir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
	}
	if p.pids {
		s.pidsDir = filepath.Join(p.pidsBase, name)
		if err := os.Mkdir(s.pidsDir, 0o755); err != nil {
			s.remove()
			return nil, fmt.Errorf("cgroup: %w", err)
		}
	}
	return s, nil
}

// initV2 creates a v2 slot: no swap, and the whole group is killed on OOM.
func (s *cgroupSlot) initV2(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	s.dir = dir
	if s.pool.memory {
		_ = writeFile(filepath.Join(dir, "memory.swap.max"), "0")
		_ = writeFile(filepath.Join(dir, "memory.oom.group"), "1")
	}
	_, err := os.Stat(filepath.Join(dir, "cgroup.kill"))
	s.pool.canKill = err == nil
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		s.remove()
		return fmt.Errorf("cgroup: %w", err)
	}
	s.fd = f
	return nil
}

// put returns a slot whose processes are all gone. A slot that still has
// processes (which the tracer makes impossible) is killed and retired:
// after cgroup.kill a v2 slot cannot be reused (see run.killLocked).
func (p *cgroupPool) put(s *cgroupSlot) {
	if pids := s.procs(); len(pids) > 0 {
		p.logger.Error("cgroup not empty after a run; killing and retiring it", "pids", pids)
		s.killAll()
		p.mu.Lock()
		defer p.mu.Unlock()
		s.retired = true
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, s)
}

// close removes every slot and the jail's cgroups. Every worker has
// returned, but its thread may still be exiting (and so still in a v1
// slot): rmdir is retried for a while.
func (p *cgroupPool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, s := range p.all {
		if s.retired {
			s.killAll()
		}
		errs = append(errs, s.remove())
	}
	p.all, p.free = nil, nil
	for _, d := range []string{p.base, p.memBase, p.pidsBase} {
		errs = append(errs, rmdirCgroup(d))
	}
	return errors.Join(errs...)
}

// rmdirCgroup removes an empty cgroup, waiting up to two seconds for
// exiting tasks to leave it.
func rmdirCgroup(d string) error {
	if d == "" {
		return nil
	}
	var err error
	for i := 0; i < 200; i++ {
		if err = unix.Rmdir(d); err != unix.EBUSY {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("cgroup: rmdir %s: %w", d, err)
	}
	return nil
}

// limit sets the slot's memory and process limits for the next run,
// writing only what changed since the last run. The pids limit leaves
// room for the worker thread (v1) and one more task, so that the tracer,
// which counts every thread, reports "process limit" before the kernel
// refuses a clone.
func (s *cgroupSlot) limit(mem int64, procs int) error {
	procs++
	if s.dir == "" {
		procs++
	}
	if s.pool.memory && mem != s.memLimit {
		if err := s.setMemory(mem); err != nil {
			return err
		}
		s.memLimit = mem
	}
	if s.pool.pids && procs != s.pidsLimit {
		if err := writeFile(filepath.Join(s.pidsDirOrDir(), "pids.max"), strconv.Itoa(procs)); err != nil {
			return fmt.Errorf("cgroup pids.max: %w", err)
		}
		s.pidsLimit = procs
	}
	return nil
}

// setMemory writes the memory limit (v1: also memory+swap, when the
// kernel accounts swap, in the order the kernel accepts).
func (s *cgroupSlot) setMemory(mem int64) error {
	v := strconv.FormatInt(mem, 10)
	if s.dir != "" {
		return writeFile(filepath.Join(s.dir, "memory.max"), v)
	}
	lim := filepath.Join(s.memDir, "memory.limit_in_bytes")
	sw := filepath.Join(s.memDir, "memory.memsw.limit_in_bytes")
	_, err := os.Stat(sw)
	if err != nil {
		return writeFile(lim, v)
	}
	if mem > s.memLimit && s.memLimit != 0 {
		if err := writeFile(sw, v); err != nil {
			return err
		}
		return writeFile(lim, v)
	}
	if err := writeFile(lim, v); err != nil {
		return err
	}
	return writeFile(sw, v)
}

func (s *cgroupSlot) pidsDirOrDir() string {
	if s.dir != "" {
		return s.dir
	}
	return s.pidsDir
}

// join moves the calling thread tid (not its process) into a v1 slot;
// what it forks is born there. (v2 slots are entered at clone time.)
func (s *cgroupSlot) join(tid int) error {
	v := strconv.Itoa(tid)
	for _, d := range []string{s.memDir, s.pidsDir} {
		if d == "" {
			continue
		}
		if err := writeFile(filepath.Join(d, "tasks"), v); err != nil {
			return fmt.Errorf("cgroup join: %w", err)
		}
	}
	return nil
}

// oomKilled reports whether the kernel's OOM killer killed something in
// the slot since the last call.
func (s *cgroupSlot) oomKilled() bool {
	if !s.pool.memory {
		return false
	}
	file := filepath.Join(s.dir, "memory.events")
	if s.dir == "" {
		file = filepath.Join(s.memDir, "memory.oom_control")
	}
	n := readCounter(file, "oom_kill")
	old := s.oomKills
	s.oomKills = n
	return n > old
}

// kill kills every process in a v2 slot at once (cgroup.kill).
func (s *cgroupSlot) kill() {
	if s.dir != "" && s.pool.canKill {
		_ = writeFile(filepath.Join(s.dir, "cgroup.kill"), "1")
	}
}

// procs lists the pids in the slot other than ours: with v1 the worker
// thread is in the slot, so cgroup.procs lists the node's own pid.
func (s *cgroupSlot) procs() []int {
	d := s.dir
	if d == "" {
		d = s.pidsDir
	}
	if d == "" {
		d = s.memDir
	}
	data, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil && n != os.Getpid() {
			pids = append(pids, n)
		}
	}
	return pids
}

// killAll SIGKILLs every process in the slot.
func (s *cgroupSlot) killAll() {
	s.kill()
	for _, pid := range s.procs() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// remove deletes the slot's directories.
func (s *cgroupSlot) remove() error {
	if s.fd != nil {
		s.fd.Close()
	}
	var errs []error
	for _, d := range []string{s.dir, s.memDir, s.pidsDir} {
		errs = append(errs, rmdirCgroup(d))
	}
	return errors.Join(errs...)
}

// readCounter returns the value of "key N" in a flat-keyed cgroup file.
func readCounter(file, key string) uint64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// writeFile writes s to an existing (kernel) file in one write.
func writeFile(path, s string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = unix.Write(fd, []byte(s))
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
