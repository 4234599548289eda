package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lab drives lkv lab up and down for one configuration at a time, in its
// own directory, name and subnet so that it never touches another lab on
// the machine.
type lab struct {
	lkv       string // the built binary
	dir       string
	name      string
	subnet    string
	rtt       string
	bandwidth string
	executors int
	netns     string
	config    string   // agent HCL file: sandbox maxima for the Go toolchain
	agent     []string // more agent flags
}

// upArgs are the lkv lab up arguments for s.
func (l *lab) upArgs(s spec) []string {
	args := []string{"lab", "up", "--dir", l.dir, "--name", l.name, "--subnet", l.subnet,
		"--netns", l.netns, "--layout", s.Layout, "--nodes", strconv.Itoa(s.Nodes),
		"--executors", strconv.Itoa(l.executors)}
	if s.Layout == layoutDisaggregated {
		args = append(args, "--compute", strconv.Itoa(s.Nodes))
	}
	if l.rtt != "" && l.rtt != "0" {
		args = append(args, "--rtt", l.rtt)
	}
	if l.bandwidth != "" {
		args = append(args, "--bandwidth", l.bandwidth)
	}
	if s.CacheBytes >= 0 {
		args = append(args, "--cache-bytes", strconv.FormatInt(s.CacheBytes, 10))
	}
	args = append(args, "--", "--config", l.config)
	return append(args, l.agent...)
}

// up starts the lab for s and returns the client addresses.
func (l *lab) up(ctx context.Context, s spec) ([]string, error) {
	out, err := l.lkvOutput(ctx, l.upArgs(s)...)
	if err != nil {
		return nil, err
	}
	addrs := parseAddrLine(out)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("lkv lab up printed no addr: line:\n%s", out)
	}
	return addrs, nil
}

// parseAddrLine reads the "addr: a,b,c" line lkv lab up prints.
func parseAddrLine(out []byte) []string {
	for line := range strings.SplitSeq(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "addr: "); ok {
			return strings.Split(strings.TrimSpace(rest), ",")
		}
	}
	return nil
}

// down removes the lab. It runs on its own context: it must work after
// the experiment's was cancelled.
func (l *lab) down() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := l.lkvOutput(ctx, "lab", "down", "--dir", l.dir, "--name", l.name)
	return err
}

// lkvOutput runs the lkv binary and returns its stdout; its stderr goes
// into the error.
func (l *lab) lkvOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, l.lkv, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("lkv %s: %w\n%s", strings.Join(args[:2], " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// agentConfig is the HCL every agent gets: the Go toolchain needs more
// than a lambda's default limits (docs/gobuild.md, "Node limits").
const agentConfig = `max_limits {
  wall       = "5m"
  cpu        = "2m"
  memory     = "2GiB"
  file_size  = "1GiB"
  open_files = 1024
}
`

func writeAgentConfig(dir string) (string, error) {
	path := filepath.Join(dir, "agent.hcl")
	return path, os.WriteFile(path, []byte(agentConfig), 0o644)
}

// cpuTimes returns the CPU time the lab's agents used themselves and the
// time their reaped children (the sandboxed lambdas) used, from
// /proc/PID/stat; a node it cannot read counts zero.
func (l *lab) cpuTimes() (agents, lambdas time.Duration) {
	b, err := os.ReadFile(filepath.Join(l.dir, "lab.json"))
	if err != nil {
		return 0, 0
	}
	var st struct {
		Nodes []struct {
			PID int `json:"pid"`
		} `json:"nodes"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0, 0
	}
	for _, n := range st.Nodes {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.PID))
		if err != nil {
			continue
		}
		self, children := parseStatCPU(string(stat))
		agents += self
		lambdas += children
	}
	return agents, lambdas
}

// parseStatCPU reads utime+stime and cutime+cstime from a /proc/PID/stat
// line, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func parseStatCPU(stat string) (self, children time.Duration) {
	// The command name may hold spaces; the fields start after its ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(s string) time.Duration {
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.Duration(n) * 10 * time.Millisecond
	}
	// After ')': state(3) ... utime is field 14 of the line, f[11] here.
	return tick(f[11]) + tick(f[12]), tick(f[13]) + tick(f[14])
}

// netBytes is what the lab's nodes have sent so far: the sum of rx_bytes
// of the host ends of their veths (NAME-<id>; the bridge is NAME-br).
// Zero on loopback.
func (l *lab) netBytes() int64 {
	links, _ := filepath.Glob(filepath.Join("/sys/class/net", l.name+"-*"))
	var sum int64
	for _, link := range links {
		if filepath.Base(link) == l.name+"-br" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(link, "statistics", "rx_bytes"))
		if err != nil {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		sum += n
	}
	return sum
}
