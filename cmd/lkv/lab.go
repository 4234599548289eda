package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The lab: a local cluster of real agent processes for experiments, with
// an emulated network. As root each node gets its own network namespace
// on a bridge, with tc tbf shaping; otherwise the nodes share loopback.
// Either way added latency comes from the nodes' link emulator
// (--link-delay), since this kernel has no netem.

// Lab defaults.
const (
	labDefaultName   = "lkv"
	labDefaultSubnet = "10.77.0.0/24"
	labStateFile     = "lab.json"
	labFormTimeout   = 2 * time.Minute
	labBannerTimeout = 20 * time.Second
)

// labFlags are lkv lab up's options.
type labFlags struct {
	nodes      int
	compute    int
	layout     string
	bandwidth  string
	rtt        time.Duration
	cacheBytes string
	executors  int
	dir        string
	netns      string
	name       string
	subnet     string
}

// labExecutorsUnset marks --executors as not given: the agent's default.
const labExecutorsUnset = -1

// labState is what lab up records in DIR/lab.json for lab down. It is
// written before anything is started and rewritten as nodes start, so a
// crashed up leaves enough behind to clean up.
type labState struct {
	Dir       string    `json:"dir"`
	Netns     bool      `json:"netns"`
	Name      string    `json:"name"`
	Subnet    string    `json:"subnet,omitempty"` // first three octets, netns only
	Bridge    string    `json:"bridge,omitempty"`
	Layout    string    `json:"layout"`
	RTT       string    `json:"rtt"`
	Bandwidth string    `json:"bandwidth"`
	Nodes     []labNode `json:"nodes"`
}

// labNode is one agent of the lab.
type labNode struct {
	ID      string `json:"id"`
	Role    string `json:"role"` // storage or compute
	Dir     string `json:"dir"`  // holds data/, jail/ and agent.log
	Netns   string `json:"netns,omitempty"`
	IP      string `json:"ip,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Addr    string `json:"addr,omitempty"`
	Gossip  string `json:"gossip,omitempty"`
	HTTP    string `json:"http,omitempty"`
	LogFile string `json:"log"`
}

func (a *app) labCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab up|down",
		Short: "Start or remove a local cluster with an emulated network, for experiments",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{err: fmt.Errorf("unknown subcommand %q for %q (want up or down)", args[0], cmd.CommandPath()), cmd: cmd}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.labUpCommand(), a.labDownCommand())
	return cmd
}

func defaultLabDir() string { return filepath.Join(os.TempDir(), "lkv-lab") }

func (a *app) labUpCommand() *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "up [flags] [-- AGENT_FLAGS...]",
		Short: "Start a local cluster of lkv agents and wait until it has formed",
		Long: `Start a local cluster of lkv agent processes (this binary) and wait until
every node is alive and all 16384 slots are covered; then print the client
addresses to use with --addr. "lkv lab down" removes it.

Layouts: colocated (default) runs --nodes nodes that store and run lambdas,
plus --compute nodes that only run lambdas. disaggregated runs --nodes
storage nodes with --executors 0 and --compute nodes with --role compute
and --cache-bytes 0 (unless --cache-bytes is given): the baseline where
code and data live apart.

As root (--netns auto or on) each node runs in its own network namespace,
NAME-<id>, with address .11, .12, ... of --subnet on a bridge NAME-br whose
host side is .1, so clients on the host reach the nodes directly; tc tbf
shapes each node's link to --bandwidth in both directions. Without root
(or with --netns off) the nodes listen on loopback on free ports and
--bandwidth becomes the agents' --link-rate. In both cases --rtt D adds D
to every TCP round trip through the agents' link emulator (--link-delay
D/2 on each node's client port).

Flags after -- go to every agent as they are, after the lab's own, so they
win (for example: -- --sync none --replicas 1 --role auto). LKV_*
variables are not passed to the agents.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.labUp(cmd, &f, args)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.nodes, "nodes", 3, "storage nodes (colocated: they also run lambdas)")
	fs.IntVar(&f.compute, "compute", 0, "compute nodes (--role compute): run lambdas, own no slots")
	fs.StringVar(&f.layout, "layout", "colocated", "colocated or disaggregated (storage nodes run no lambdas; compute nodes cache nothing)")
	fs.StringVar(&f.bandwidth, "bandwidth", "", "link rate each way per node, such as 1gbit, 100mbit or 12MB (bytes/s); empty: unlimited")
	fs.DurationVar(&f.rtt, "rtt", 0, "round-trip time added to every TCP connection to a node, such as 500us or 2ms")
	fs.StringVar(&f.cacheBytes, "cache-bytes", "", "each node's cache of immutable remote values (agent default: 256MiB)")
	fs.IntVar(&f.executors, "executors", labExecutorsUnset, "lambdas each executing node runs at once (default: the agent's, one per CPU)")
	fs.StringVar(&f.dir, "dir", defaultLabDir(), "directory for the lab's state, node data and logs")
	fs.StringVar(&f.netns, "netns", "auto", "auto (when root), on or off: a network namespace per node")
	fs.StringVar(&f.name, "name", labDefaultName, "prefix of namespaces, links and the cluster name (at most 8 letters or digits)")
	fs.StringVar(&f.subnet, "subnet", labDefaultSubnet, "private /24 for the namespaces")
	return cmd
}

func (a *app) labDownCommand() *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove a lab: kill its agents, delete its namespaces, links and files",
		Long: `Remove the lab that "lkv lab up" started in --dir: kill its agents, delete
its network namespaces, bridge and veths, and remove its files. It works
after a crashed up and when there is nothing to remove.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.labDown(dir, name)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultLabDir(), "the lab's directory")
	cmd.Flags().StringVar(&name, "name", "", "also remove namespaces and links named NAME-* (default: the name in the lab's state, else "+labDefaultName+")")
	return cmd
}

var labNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`)

// validate checks the flags and fills in what they imply.
func (f *labFlags) validate(extra []string) error {
	switch {
	case f.nodes < 1:
		return usageErrorf("--nodes %d: want at least 1", f.nodes)
	case f.compute < 0:
		return usageErrorf("--compute %d: must not be negative", f.compute)
	case f.nodes+f.compute > 200:
		return usageErrorf("--nodes plus --compute: at most 200")
	case f.layout != "colocated" && f.layout != "disaggregated":
		return usageErrorf("--layout %q: want colocated or disaggregated", f.layout)
	case f.layout == "disaggregated" && f.compute < 1:
		return usageErrorf("--layout disaggregated needs --compute 1 or more: the storage nodes run no lambdas")
	case f.rtt < 0:
		return usageErrorf("--rtt %v: must not be negative", f.rtt)
	case f.executors < labExecutorsUnset:
		return usageErrorf("--executors %d: must not be negative", f.executors)
	case f.netns != "auto" && f.netns != "on" && f.netns != "off":
		return usageErrorf("--netns %q: want auto, on or off", f.netns)
	case !labNameRE.MatchString(f.name):
		return usageErrorf("--name %q: want 1 to 8 lower-case letters or digits, starting with a letter", f.name)
	}
	if _, err := parseRate(f.bandwidth); f.bandwidth != "" && err != nil {
		return usageErrorf("--bandwidth: %v", err)
	}
	if _, err := parseSize(f.cacheBytes); f.cacheBytes != "" && err != nil {
		return usageErrorf("--cache-bytes: %v", err)
	}
	if _, err := labSubnet(f.subnet); err != nil {
		return usageErrorf("--subnet: %v", err)
	}
	if len(extra) > 0 && !strings.HasPrefix(extra[0], "-") {
		return usageErrorf("unexpected argument %q (agent flags go after --)", extra[0])
	}
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	f.dir = dir
	return nil
}

// labSubnet returns the first three octets of a private /24 such as
// 10.77.0.0/24.
func labSubnet(s string) (string, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return "", err
	}
	ones, bits := n.Mask.Size()
	ip4 := ip.To4()
	if ones != 24 || bits != 32 || ip4 == nil || !ip4.IsPrivate() {
		return "", fmt.Errorf("%q: want a private IPv4 /24 such as %s", s, labDefaultSubnet)
	}
	return fmt.Sprintf("%d.%d.%d", ip4[0], ip4[1], ip4[2]), nil
}

// useNetns decides between namespaces and loopback.
func (f *labFlags) useNetns() (bool, error) {
	root := os.Geteuid() == 0
	_, ipErr := lookPath("ip")
	switch f.netns {
	case "off":
		return false, nil
	case "on":
		if !root {
			return false, errors.New("--netns on needs root")
		}
		if ipErr != nil {
			return false, errors.New("--netns on needs the ip command (iproute2)")
		}
		return true, nil
	}
	return root && ipErr == nil, nil
}

// plan lays out the nodes: storage nodes n1..nN, then compute nodes
// c1..cM.
func (f *labFlags) plan(netns bool) *labState {
	st := &labState{Dir: f.dir, Netns: netns, Name: f.name, Layout: f.layout, RTT: f.rtt.String(), Bandwidth: f.bandwidth}
	if st.Bandwidth == "" {
		st.Bandwidth = "unlimited"
	}
	if netns {
		st.Subnet, _ = labSubnet(f.subnet)
		st.Bridge = f.name + "-br"
	}
	add := func(id, role string) {
		n := labNode{ID: id, Role: role, Dir: filepath.Join(f.dir, id)}
		n.LogFile = filepath.Join(n.Dir, "agent.log")
		if netns {
			n.Netns = f.name + "-" + id
			n.IP = st.Subnet + "." + strconv.Itoa(11+len(st.Nodes))
		}
		st.Nodes = append(st.Nodes, n)
	}
	for i := 1; i <= f.nodes; i++ {
		add("n"+strconv.Itoa(i), "storage")
	}
	for i := 1; i <= f.compute; i++ {
		add("c"+strconv.Itoa(i), "compute")
	}
	return st
}

// agentArgs are the lkv agent arguments of node n; join is the gossip
// address of the first node ("" for the first node itself).
func (f *labFlags) agentArgs(st *labState, n *labNode, join string, extra []string) []string {
	args := []string{"agent", "--node-id", n.ID, "--cluster", f.name,
		"--data-dir", filepath.Join(n.Dir, "data"), "--jail-dir", filepath.Join(n.Dir, "jail")}
	if st.Netns {
		args = append(args, "--bind", n.IP) // default ports, on the node's own address
	} else {
		args = append(args, "--bind", "127.0.0.1", "--port", "0", "--gossip-port", "0", "--http-port", "0")
		if f.bandwidth != "" {
			args = append(args, "--link-rate", f.bandwidth)
		}
	}
	if join != "" {
		args = append(args, "--join", join)
	}
	if f.rtt > 0 {
		args = append(args, "--link-delay", (f.rtt / 2).String())
	}
	disagg := f.layout == "disaggregated"
	if n.Role == "compute" {
		args = append(args, "--role", "compute")
		if disagg && f.cacheBytes == "" {
			args = append(args, "--cache-bytes", "0")
		}
	} else {
		args = append(args, "--role", "master")
		if disagg {
			args = append(args, "--executors", "0")
		}
	}
	if f.executors != labExecutorsUnset && !(disagg && n.Role == "storage") {
		args = append(args, "--executors", strconv.Itoa(f.executors))
	}
	if f.cacheBytes != "" {
		args = append(args, "--cache-bytes", f.cacheBytes)
	}
	return append(args, extra...)
}

// save writes the state file atomically.
func (st *labState) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(st.Dir, labStateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return os.Rename(tmp, path)
}

// loadLabState reads DIR/lab.json; a missing file gives (nil, nil).
func loadLabState(dir string) (*labState, error) {
	b, err := os.ReadFile(filepath.Join(dir, labStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var st labState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab state %s: %w", filepath.Join(dir, labStateFile), err)
	}
	return &st, nil
}

// addrs returns the client addresses of the nodes that have one.
func (st *labState) addrs() []string {
	var out []string
	for _, n := range st.Nodes {
		if n.Addr != "" {
			out = append(out, n.Addr)
		}
	}
	return out
}
