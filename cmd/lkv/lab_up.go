package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// labUp starts the lab and waits for it to form; on any failure it
// removes what it started.
func (a *app) labUp(cmd *cobra.Command, f *labFlags, args []string) error {
	dash := cmd.ArgsLenAtDash()
	if len(args) > 0 && dash != 0 {
		return &usageError{err: fmt.Errorf("unexpected argument %q (agent flags go after --)", args[0]), cmd: cmd}
	}
	extra := args
	if err := f.validate(extra); err != nil {
		return err
	}
	netns, err := f.useNetns()
	if err != nil {
		return err
	}
	if _, err := lookPath("tc"); netns && f.bandwidth != "" && err != nil {
		return errors.New("--bandwidth in namespaces needs the tc command (iproute2)")
	}
	if old, err := loadLabState(f.dir); err != nil || old != nil {
		return fmt.Errorf("a lab is already up in %s (remove it with: lkv lab down --dir %s)", f.dir, f.dir)
	}
	if netns {
		if nss := labNamespaces(f.name + "-"); len(nss) > 0 || linkExists(f.name+"-br") {
			return fmt.Errorf("namespaces or links named %s-* exist already (remove them with: lkv lab down --name %s, or pick another --name)", f.name, f.name)
		}
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fmt.Errorf("create lab directory: %w", err)
	}
	st := f.plan(netns)
	if err := st.save(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), labFormTimeout+labBannerTimeout)
	defer cancel()
	start := time.Now()
	if err := a.labStart(ctx, f, st, extra); err != nil {
		fmt.Fprintf(a.stderr, "lkv lab up: %v\nlkv lab up: removing what was started\n", err)
		if derr := a.labDown(f.dir, f.name); derr != nil {
			fmt.Fprintf(a.stderr, "lkv lab up: %v\n", derr)
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("lab up failed: %s", strings.TrimSuffix(first, ":"))
	}
	a.printLab(st, time.Since(start))
	return nil
}

// labStart sets up the network, starts the first node, then the others
// joining it, and waits for the cluster to form.
func (a *app) labStart(ctx context.Context, f *labFlags, st *labState, extra []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	if st.Netns {
		rate, _ := parseRate(f.bandwidth)
		if err := setupBridge(st); err != nil {
			return err
		}
		for i := range st.Nodes {
			if err := setupNodeNet(st, &st.Nodes[i], rate); err != nil {
				return err
			}
		}
	}
	procs := make([]*labProc, len(st.Nodes))
	for i := range st.Nodes {
		n := &st.Nodes[i]
		join := ""
		if i > 0 {
			join = st.Nodes[0].Gossip
		}
		if procs[i], err = startLabNode(exe, st, n, f.agentArgs(st, n, join, extra)); err != nil {
			return err
		}
		if err := st.save(); err != nil {
			return err
		}
		// The first node must serve before the others can join it; the
		// others start together and are awaited together.
		var wait []*labProc
		switch {
		case i == 0:
			wait = procs[:1]
		case i == len(st.Nodes)-1:
			wait = procs[1:]
		}
		if err := waitBanners(ctx, wait); err != nil {
			return err
		}
	}
	if err := st.save(); err != nil {
		return err
	}
	return waitFormed(ctx, a.global, st, procs)
}

// labProc is a started agent.
type labProc struct {
	node   *labNode
	exited chan struct{} // closed when the process has ended
}

// labEnv is this process's environment without LKV_* variables, which
// would override the lab's flags.
func labEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LKV_") {
			env = append(env, kv)
		}
	}
	return env
}

// startLabNode starts node n's agent in its own session (so that it
// outlives lkv lab up and its terminal), with its output in its log file.
func startLabNode(exe string, st *labState, n *labNode, args []string) (*labProc, error) {
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the agent has its own copy
	argv := append([]string{exe}, args...)
	if st.Netns {
		// ip netns exec execs the agent, so the pid is the agent's.
		argv = append([]string{"ip", "netns", "exec", n.Netns}, argv...)
	}
	fmt.Fprintf(logf, "lkv lab: %s\n", strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = labEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", n.ID, err)
	}
	n.PID = cmd.Process.Pid
	p := &labProc{node: n, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitBanners waits until each process has printed its banner, and reads
// its addresses off it.
func waitBanners(ctx context.Context, procs []*labProc) error {
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		wg.Go(func() { errs[i] = waitBanner(ctx, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func waitBanner(ctx context.Context, p *labProc) error {
	ctx, cancel := context.WithTimeout(ctx, labBannerTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(p.node.LogFile); err == nil && parseBanner(b, p.node) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before serving; its log %s ends:\n%s", p.node.ID, p.node.LogFile, logTail(p.node.LogFile))
		case <-ctx.Done():
			return fmt.Errorf("%s did not start serving in %v; its log %s ends:\n%s", p.node.ID, labBannerTimeout, p.node.LogFile, logTail(p.node.LogFile))
		case <-tick.C:
		}
	}
}

// parseBanner reads the agent's banner (see printBanner) from its output
// and reports whether it was complete.
func parseBanner(out []byte, n *labNode) bool {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		f := strings.Fields(rest)
		if !ok || len(f) == 0 {
			continue
		}
		switch key {
		case "client":
			n.Addr = f[0]
		case "http":
			n.HTTP = f[0]
		case "gossip":
			n.Gossip = f[0]
		case "version":
			return n.Addr != "" && n.Gossip != "" && n.Gossip != "off"
		}
	}
	return false
}

// logTail returns the error lines of a log file ("lkv: ...", which a
// usage message may bury) and its last lines.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	tail := lines[max(0, len(lines)-10):]
	var errs []string
	for _, l := range lines[:len(lines)-len(tail)] {
		if strings.HasPrefix(l, "lkv: ") {
			errs = append(errs, l)
		}
	}
	return "  " + strings.Join(append(errs, tail...), "\n  ")
}

// waitFormed waits until every node sees every other alive, all slots
// covered and spread evenly over the masters.
func waitFormed(ctx context.Context, g globalFlags, st *labState, procs []*labProc) error {
	cfg := client.Config{Name: "lkv-lab", Seeds: st.addrs(), Token: g.value("token", "LKV_TOKEN")}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to the lab: %w", err)
	}
	defer c.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := formed(ctx, c, st)
		if err == nil {
			return nil
		}
		for _, p := range procs {
			select {
			case <-p.exited:
				return fmt.Errorf("%s exited; its log %s ends:\n%s", p.node.ID, p.node.LogFile, logTail(p.node.LogFile))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster did not form in time: %w", err)
		case <-tick.C:
		}
	}
}

// formed checks every node's own view of the cluster.
func formed(ctx context.Context, c *client.Client, st *labState) error {
	for _, n := range st.Nodes {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := c.Do(rctx, &wire.Request{Op: wire.OpTopology}, n.Addr)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", n.ID, err)
		}
		if err := checkView(resp.Topology, st); err != nil {
			return fmt.Errorf("%s sees %w", n.ID, err)
		}
	}
	return nil
}

func checkView(top *wire.Topology, st *labState) error {
	if top == nil {
		return errors.New("no topology")
	}
	alive := make(map[string]bool)
	masters, least := 0, slots.NumSlots
	for _, n := range top.Nodes {
		if n.State == "" || n.State == "alive" {
			alive[n.ID] = true
		}
		if n.Role == "master" {
			masters++
			least = min(least, n.Slots)
		}
	}
	// Balanced within 10%, so that experiments start from an even
	// spread rather than from the first node owning nearly everything.
	if masters > 0 && least < slots.NumSlots/masters*9/10 {
		return fmt.Errorf("slots not spread yet (a master has %d)", least)
	}
	if top.MigratingSlots > 0 {
		return fmt.Errorf("%d slots still moving", top.MigratingSlots)
	}
	for _, n := range st.Nodes {
		if !alive[n.ID] {
			return fmt.Errorf("%s not alive yet", n.ID)
		}
	}
	if info := clusterInfo(top, nil); info.SlotsCovered != slots.NumSlots {
		return fmt.Errorf("%d of %d slots covered", info.SlotsCovered, slots.NumSlots)
	}
	return nil
}

// printLab tells the user what runs where and how to reach it.
func (a *app) printLab(st *labState, took time.Duration) {
	w := a.stdout
	mode := "loopback"
	if st.Netns {
		mode = "namespaces on bridge " + st.Bridge + ", host " + st.Subnet + ".1"
	}
	fmt.Fprintf(w, "lkv lab: %d nodes up in %v (%s layout; %s; rtt +%s; bandwidth %s)\n",
		len(st.Nodes), took.Round(time.Millisecond), st.Layout, mode, st.RTT, st.Bandwidth)
	for _, n := range st.Nodes {
		where := ""
		if n.Netns != "" {
			where = "  netns " + n.Netns
		}
		fmt.Fprintf(w, "  %-4s %-8s client %-21s gossip %-21s http %-21s%s\n", n.ID, n.Role, n.Addr, n.Gossip, n.HTTP, where)
	}
	fmt.Fprintf(w, "  logs:  %s\n", filepath.Join(st.Dir, "*", "agent.log"))
	fmt.Fprintf(w, "addr: %s\n", strings.Join(st.addrs(), ","))
	fmt.Fprintf(w, "try:  lkv --addr %s cluster nodes\n", st.Nodes[0].Addr)
	fmt.Fprintf(w, "stop: lkv lab down --dir %s\n", st.Dir)
}
