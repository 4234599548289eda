package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"125000000", 125000000, true},
		{"12MB", 12e6, true},
		{"1MiB/s", 1 << 20, true},
		{"1gbit", 125e6, true},
		{"100mbit", 12.5e6, true},
		{"1.5Gbit", 187.5e6, true},
		{"64kbit", 8000, true},
		{"", 0, false},
		{"fast", 0, false},
		{"-1mbit", 0, false},
		{"1.5MB", 0, false},
	} {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLoadAgentConfig_link(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		args  []string
		env   map[string]string
		delay time.Duration
		rate  int64
	}{
		{"off by default", "", nil, nil, 0, 0},
		{"flags", "", []string{"--link-delay", "250us", "--link-rate", "100mbit"}, nil, 250 * time.Microsecond, 12.5e6},
		{"file", "link_delay = \"1ms\"\nlink_rate = \"1MB\"\n", nil, nil, time.Millisecond, 1e6},
		{"env wins", "", []string{"--link-delay", "1ms"}, map[string]string{"LKV_LINK_DELAY": "2ms"}, 2 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadForTest(t, tc.file, append([]string{"--data-dir", "d"}, tc.args...), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			pc, _, err := c.peerConfig(testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if pc.LinkDelay != tc.delay || pc.LinkRate != tc.rate {
				t.Errorf("LinkDelay, LinkRate = %v, %d; want %v, %d", pc.LinkDelay, pc.LinkRate, tc.delay, tc.rate)
			}
		})
	}
	if _, err := loadForTest(t, "", []string{"--data-dir", "d", "--link-rate", "fast"}, nil); err == nil {
		t.Error("--link-rate fast: no error")
	}
}

func validLabFlags() *labFlags {
	return &labFlags{nodes: 2, layout: "colocated", executors: labExecutorsUnset, dir: "lab", netns: "off", name: "lkv", subnet: labDefaultSubnet}
}

func TestLabFlags_validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*labFlags)
		want string
	}{
		{"no nodes", func(f *labFlags) { f.nodes = 0 }, "--nodes"},
		{"layout", func(f *labFlags) { f.layout = "mixed" }, "--layout"},
		{"disaggregated without compute", func(f *labFlags) { f.layout = "disaggregated" }, "--compute"},
		{"bandwidth", func(f *labFlags) { f.bandwidth = "fast" }, "--bandwidth"},
		{"rtt", func(f *labFlags) { f.rtt = -time.Millisecond }, "--rtt"},
		{"name", func(f *labFlags) { f.name = "Lab-1" }, "--name"},
		{"public subnet", func(f *labFlags) { f.subnet = "8.8.8.0/24" }, "--subnet"},
		{"subnet size", func(f *labFlags) { f.subnet = "10.77.0.0/16" }, "--subnet"},
		{"netns", func(f *labFlags) { f.netns = "maybe" }, "--netns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := validLabFlags()
			tc.edit(f)
			err := f.validate(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v; want an error about %s", err, tc.want)
			}
		})
	}
	if err := validLabFlags().validate(nil); err != nil {
		t.Errorf("valid flags: %v", err)
	}
}

// TestLabFlags_agentArgs checks the disaggregated layout and the network
// options as the agents get them.
func TestLabFlags_agentArgs(t *testing.T) {
	f := validLabFlags()
	f.layout, f.compute, f.rtt, f.bandwidth, f.executors = "disaggregated", 1, time.Millisecond, "100mbit", 4
	if err := f.validate(nil); err != nil {
		t.Fatal(err)
	}
	st := f.plan(false)
	if len(st.Nodes) != 3 || st.Nodes[2].ID != "c1" {
		t.Fatalf("plan: %+v; want n1, n2, c1", st.Nodes)
	}
	storage := strings.Join(f.agentArgs(st, &st.Nodes[1], "127.0.0.1:1", []string{"--sync", "none"}), " ")
	compute := strings.Join(f.agentArgs(st, &st.Nodes[2], "127.0.0.1:1", nil), " ")
	for _, want := range []string{"--role master", "--executors 0", "--join 127.0.0.1:1", "--link-delay 500µs", "--link-rate 100mbit", "--port 0"} {
		if !strings.Contains(storage, want) {
			t.Errorf("storage node args %q lack %q", storage, want)
		}
	}
	if !strings.HasSuffix(storage, "--sync none") {
		t.Errorf("storage node args %q: want the extra flags last", storage)
	}
	for _, want := range []string{"--role compute", "--cache-bytes 0", "--executors 4"} {
		if !strings.Contains(compute, want) {
			t.Errorf("compute node args %q lack %q", compute, want)
		}
	}
	netns := f.plan(true)
	if n := netns.Nodes[0]; n.IP != "10.77.0.11" || n.Netns != "lkv-n1" || netns.Bridge != "lkv-br" {
		t.Errorf("netns plan: %+v, bridge %s; want n1 at 10.77.0.11 in lkv-n1 on lkv-br", n, netns.Bridge)
	}
	if args := strings.Join(f.agentArgs(netns, &netns.Nodes[0], "", nil), " "); strings.Contains(args, "--link-rate") || !strings.Contains(args, "--bind 10.77.0.11") {
		t.Errorf("netns node args %q: want --bind 10.77.0.11 and tbf instead of --link-rate", args)
	}
}

func TestParseBanner(t *testing.T) {
	out := "2026-01-01T00:00:00Z [INFO] lkv: starting\nlkv agent: node n1 serving\n  client:   127.0.0.1:7370 (token required)\n" +
		"  http:     127.0.0.1:7372\n  gossip:   127.0.0.1:7371 (cluster lab)\n  data dir: /x\n"
	var n labNode
	if parseBanner([]byte(out), &n) {
		t.Error("banner without its version line counted as complete")
	}
	if !parseBanner([]byte(out+"  version:  dev (protocol 1)\n"), &n) || n.Addr != "127.0.0.1:7370" || n.Gossip != "127.0.0.1:7371" || n.HTTP != "127.0.0.1:7372" {
		t.Errorf("parseBanner: %+v", n)
	}
}

// TestLab_upDown runs lkv lab up --nodes 2, uses the cluster, and checks
// that lkv lab down leaves no process, namespace, link or file behind:
// on loopback, on loopback after losing the state file (as a crashed up
// would), and, as root, in namespaces.
func TestLab_upDown(t *testing.T) {
	lkvBinary(t)
	for _, tc := range []struct {
		name      string
		netns     bool
		loseState bool
	}{
		{"loopback", false, false},
		{"loopback state lost", false, true},
		{"netns", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.netns && os.Geteuid() != 0 {
				t.Skip("network namespaces need root")
			}
			if _, err := lookPath("tc"); tc.netns && err != nil {
				t.Skip("no tc (iproute2) to shape the namespaces' links")
			}
			testLabUpDown(t, tc.netns, tc.loseState)
		})
	}
}

// Names that stay clear of a lab a user runs with the defaults.
const (
	testLabName   = "lkvtest"
	testLabSubnet = "10.78.99.0/24"
)

func testLabUpDown(t *testing.T, netns, loseState bool) {
	dir := filepath.Join(t.TempDir(), "lab")
	mode := "off"
	if netns {
		mode = "on"
	}
	down := func() result {
		return lkv(t, nil, nil, "lab", "down", "--dir", dir, "--name", testLabName)
	}
	t.Cleanup(func() { down() })
	const rtt = 250 * time.Microsecond
	r := lkv(t, nil, nil, "lab", "up", "--nodes", "2", "--dir", dir, "--netns", mode, "--rtt", rtt.String(),
		"--bandwidth", "1gbit", "--name", testLabName, "--subnet", testLabSubnet, "--", "--sync", "none", "--executors", "0")
	if r.code != 0 {
		t.Fatalf("lab up: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var addrs []string
	for _, line := range strings.Split(string(r.stdout), "\n") {
		if rest, ok := strings.CutPrefix(line, "addr: "); ok {
			addrs = strings.Split(rest, ",")
		}
	}
	if len(addrs) != 2 {
		t.Fatalf("lab up printed addresses %q; want 2 in:\n%s", addrs, r.stdout)
	}
	if netns && !strings.HasPrefix(addrs[0], "10.78.99.") {
		t.Errorf("netns node address %s; want one on %s", addrs[0], testLabSubnet)
	}
	st, err := loadLabState(dir)
	if err != nil || st == nil || len(st.Nodes) != 2 {
		t.Fatalf("lab state: %+v, %v", st, err)
	}

	// Through the lab: a put on one node, a get through the other.
	if r := lkv(t, nil, []byte("hello lab"), "--addr", addrs[0], "put", "greeting", "-"); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	if r := lkv(t, nil, nil, "--addr", addrs[1], "get", "greeting"); r.code != 0 || string(r.stdout) != "hello lab" {
		t.Fatalf("get: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	// Every round trip to a node crosses the emulated link.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Seeds: addrs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		start := time.Now()
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < rtt {
			t.Errorf("ping took %v; want at least the lab's rtt %v", d, rtt)
		}
	}
	c.Close()

	if loseState {
		os.Remove(filepath.Join(dir, labStateFile))
	}
	if r := down(); r.code != 0 {
		t.Fatalf("lab down: exit %d: %s", r.code, r.stderr)
	}
	for _, n := range st.Nodes {
		if alive(n.PID) {
			t.Errorf("node %s (pid %d) still runs after lab down", n.ID, n.PID)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab directory after down: %v; want it removed", err)
	}
	if netns {
		if nss := labNamespaces(testLabName + "-"); len(nss) > 0 {
			t.Errorf("namespaces left after down: %v", nss)
		}
		if linkExists(testLabName + "-br") {
			t.Errorf("bridge %s-br left after down", testLabName)
		}
	}
	if r := down(); r.code != 0 {
		t.Errorf("second lab down: exit %d: %s; want it to succeed with nothing to do", r.code, r.stderr)
	}
}

// TestLab_up_failure: a node that cannot start fails lab up, which then
// removes everything it started.
func TestLab_up_failure(t *testing.T) {
	lkvBinary(t)
	dir := filepath.Join(t.TempDir(), "lab")
	t.Cleanup(func() { lkv(t, nil, nil, "lab", "down", "--dir", dir) })
	r := lkv(t, nil, nil, "lab", "up", "--nodes", "1", "--dir", dir, "--netns", "off", "--", "--no-such-flag")
	if r.code != 1 || !strings.Contains(r.stderr, "n1 exited before serving") || !strings.Contains(r.stderr, "no-such-flag") {
		t.Errorf("lab up with a bad agent flag: exit %d, stderr:\n%s\nwant exit 1 naming the node and showing its log", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab directory after a failed up: %v; want it removed", err)
	}
	if pids := labPIDs(dir); len(pids) > 0 {
		t.Errorf("processes left after a failed up: %v", pids)
	}
	if r := lkv(t, nil, nil, "lab", "up", "--nodes", "1", "--dir", dir, "stray"); r.code != 1 || !slices.ContainsFunc(strings.Split(r.stderr, "\n"), func(l string) bool { return strings.Contains(l, "stray") }) {
		t.Errorf("lab up with a stray argument: exit %d, %q; want a usage error", r.code, r.stderr)
	}
}
