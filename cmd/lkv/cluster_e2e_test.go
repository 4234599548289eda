package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/slots"
)

// The multi-process cluster tests (issue 4): separate lkv agent processes
// joined by gossip through different seeds, driven with the CLI and the Go
// client. Every wait is bounded by eventually; every process is killed at
// the end of its test by startAgent's cleanup.

// How long the cluster gets to settle after each change, and how often
// it is polled meanwhile.
const (
	settleTimeout = 30 * time.Second
	pollInterval  = 100 * time.Millisecond
)

// The shapes DESIGN §9 gives for lkv cluster nodes|slots|info --json,
// declared here (not borrowed from cluster.go) so that the tests check
// the documented names.
type e2eNode struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	GossipAddr  string `json:"gossip_addr"`
	Role        string `json:"role"`
	State       string `json:"state"`
	Master      string `json:"master"`
	Slots       int    `json:"slots"`
	Coordinator bool   `json:"coordinator"`
}

type e2eSlots struct {
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Master   string   `json:"master"`
	Replicas []string `json:"replicas"`
	Epoch    uint64   `json:"epoch"`
}

type e2eInfo struct {
	NodeID       string `json:"node_id"`
	Cluster      string `json:"cluster"`
	Epoch        uint64 `json:"epoch"`
	Coordinator  string `json:"coordinator"`
	SlotsCovered int    `json:"slots_covered"`
	Migrations   int    `json:"migrations"`
}

// clusterAgent is an agent with the node id and gossip address it was
// started with.
type clusterAgent struct {
	*agent
	id     string
	gossip string
}

// startClusterAgent starts an agent with node id id (and no lambdas: these
// tests are about the store) and reads its gossip address off the banner.
func startClusterAgent(t *testing.T, id string, args ...string) *clusterAgent {
	t.Helper()
	a := startAgent(t, append([]string{"--executors=-1", "--node-id", id}, args...)...)
	ca := &clusterAgent{agent: a, id: id}
	for _, line := range a.banner {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "gossip:"); ok {
			if f := strings.Fields(rest); len(f) > 0 && f[0] != "off" {
				ca.gossip = f[0]
			}
		}
	}
	if ca.gossip == "" {
		t.Fatalf("agent %s: banner gives no gossip address:\n%s", id, strings.Join(a.banner, "\n"))
	}
	return ca
}

// startChain starts agents n1..nN, each joining the previous one's gossip
// address, so that no single node is every other's seed.
func startChain(t *testing.T, n int) []*clusterAgent {
	t.Helper()
	var as []*clusterAgent
	for i := 1; i <= n; i++ {
		var args []string
		if i > 1 {
			args = []string{"--join", as[i-2].gossip}
		}
		as = append(as, startClusterAgent(t, fmt.Sprintf("n%d", i), args...))
	}
	return as
}

// eventually calls f every pollInterval until it returns nil, and fails the
// test with f's last error if that takes longer than timeout.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := f()
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// query runs the CLI against a with a short timeout and decodes its JSON
// output into v.
func (a *clusterAgent) query(t *testing.T, v any, args ...string) error {
	t.Helper()
	r := lkv(t, nil, nil, append([]string{"--addr", a.addr, "--timeout", "3s"}, args...)...)
	if r.code != 0 {
		return fmt.Errorf("%s: lkv %s: exit %d: %s", a.id, strings.Join(args, " "), r.code, strings.TrimSpace(r.stderr))
	}
	if err := json.Unmarshal(r.stdout, v); err != nil {
		return fmt.Errorf("%s: lkv %s: %v in %q", a.id, strings.Join(args, " "), err, r.stdout)
	}
	return nil
}

// view is one node's answer to cluster nodes, slots and info.
type view struct {
	nodes []e2eNode
	slots []e2eSlots
	info  e2eInfo
}

func (a *clusterAgent) view(t *testing.T) (*view, error) {
	t.Helper()
	var v view
	if err := a.query(t, &v.nodes, "cluster", "nodes", "--json"); err != nil {
		return nil, err
	}
	if err := a.query(t, &v.slots, "cluster", "slots", "--json"); err != nil {
		return nil, err
	}
	if err := a.query(t, &v.info, "cluster", "info", "--json"); err != nil {
		return nil, err
	}
	return &v, nil
}

func (v *view) node(id string) (e2eNode, bool) {
	for _, n := range v.nodes {
		if n.ID == id {
			return n, true
		}
	}
	return e2eNode{}, false
}

// slotsOf returns how many slots id owns in the table.
func (v *view) slotsOf(id string) int {
	counts, _ := slotCounts(v.slots)
	return counts[id]
}

// slotCounts checks that the ranges cover 0..16383 exactly once, in order,
// and returns how many slots each master owns.
func slotCounts(ranges []e2eSlots) (map[string]int, error) {
	counts := make(map[string]int)
	next := 0
	for _, r := range ranges {
		if r.Start != next || r.End < r.Start || r.End >= slots.NumSlots {
			return nil, fmt.Errorf("range %d-%d after slot %d: the table has a gap or an overlap: %v", r.Start, r.End, next-1, ranges)
		}
		if r.Master == "" {
			return nil, fmt.Errorf("range %d-%d has no master", r.Start, r.End)
		}
		counts[r.Master] += r.End - r.Start + 1
		next = r.End + 1
	}
	if next != slots.NumSlots {
		return nil, fmt.Errorf("the table ends at slot %d: %v", next-1, ranges)
	}
	return counts, nil
}

// settled checks that every agent in as sees exactly the members of as,
// all alive, one and the same coordinator, and the same slot table, which
// spreads the 16384 slots evenly over them with no move in progress. The
// nodes in left, which left gracefully, may still be listed, in state
// "left", owning nothing. It returns the agreed view.
func settled(t *testing.T, as []*clusterAgent, left ...string) (*view, error) {
	t.Helper()
	var ids []string
	for _, a := range as {
		ids = append(ids, a.id)
	}
	slices.Sort(ids)
	low, high := slots.NumSlots/len(as), (slots.NumSlots+len(as)-1)/len(as)
	var first *view
	var firstSlots []byte
	for _, a := range as {
		v, err := a.view(t)
		if err != nil {
			return nil, err
		}
		var got []string
		coords := 0
		for _, n := range v.nodes {
			if slices.Contains(left, n.ID) {
				if n.State != "left" || n.Slots != 0 || n.Coordinator {
					return nil, fmt.Errorf("%s sees %s, which left, as %+v", a.id, n.ID, n)
				}
				continue
			}
			got = append(got, n.ID)
			if n.State != "alive" {
				return nil, fmt.Errorf("%s sees %s %s", a.id, n.ID, n.State)
			}
			if n.Role != "master" {
				return nil, fmt.Errorf("%s sees %s as %s; want master", a.id, n.ID, n.Role)
			}
			if n.Coordinator {
				coords++
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			return nil, fmt.Errorf("%s sees nodes %v; want %v", a.id, got, ids)
		}
		if coords != 1 {
			return nil, fmt.Errorf("%s sees %d coordinators: %+v", a.id, coords, v.nodes)
		}
		counts, err := slotCounts(v.slots)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a.id, err)
		}
		for _, id := range ids {
			if c := counts[id]; c < low || c > high {
				return nil, fmt.Errorf("%s: %s owns %d slots; want %d or %d (%v)", a.id, id, c, low, high, counts)
			}
			if n, _ := v.node(id); n.Slots != counts[id] {
				return nil, fmt.Errorf("%s: cluster nodes gives %s %d slots, cluster slots %d", a.id, id, n.Slots, counts[id])
			}
		}
		if len(counts) != len(ids) {
			return nil, fmt.Errorf("%s: slots owned by %v; want only %v", a.id, counts, ids)
		}
		if v.info.Migrations != 0 {
			return nil, fmt.Errorf("%s: %d migrations in progress", a.id, v.info.Migrations)
		}
		js, _ := json.Marshal(v.slots)
		if first == nil {
			first, firstSlots = v, js
			continue
		}
		if !bytes.Equal(js, firstSlots) {
			return nil, fmt.Errorf("slot tables differ:\n%s: %s\n%s: %s", as[0].id, firstSlots, a.id, js)
		}
		if c, c0 := coordinatorOf(v), coordinatorOf(first); c != c0 {
			return nil, fmt.Errorf("%s follows coordinator %s, %s follows %s", a.id, c, as[0].id, c0)
		}
	}
	return first, nil
}

func coordinatorOf(v *view) string {
	for _, n := range v.nodes {
		if n.Coordinator {
			return n.ID
		}
	}
	return ""
}

// awaitSettled waits until settled holds and returns the agreed view.
func awaitSettled(t *testing.T, what string, as []*clusterAgent, left ...string) *view {
	t.Helper()
	var v *view
	eventually(t, settleTimeout, what, func() (err error) {
		v, err = settled(t, as, left...)
		return err
	})
	return v
}

// dialClient connects the Go client to a.
func dialClient(t *testing.T, a *clusterAgent) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{a.addr}, Name: "cluster-e2e"})
	if err != nil {
		t.Fatalf("dial %s: %v", a.id, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testKeys returns n keys and their values.
func testKeys(n int) map[string][]byte {
	kv := make(map[string][]byte, n)
	for i := range n {
		kv[fmt.Sprintf("key-%03d", i)] = fmt.Appendf(nil, "value %d of %d: %s", i, n, strings.Repeat("x", i%17))
	}
	return kv
}

// putAll writes kv through c, pipelined.
func putAll(t *testing.T, c *client.Client, kv map[string][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	futures := make(map[string]*client.Future[uint64], len(kv))
	for k, v := range kv {
		futures[k] = c.PutAsync(ctx, k, v)
	}
	for k, f := range futures {
		if _, err := f.Wait(); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
}

// checkAll reads every key of kv through c and returns the first key that
// is missing or differs.
func checkAll(c *client.Client, kv map[string][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	futures := make(map[string]*client.Future[[]byte], len(kv))
	for k := range kv {
		futures[k] = c.GetAsync(ctx, k)
	}
	var errs []error
	for _, k := range sortedKeys(kv) {
		got, err := futures[k].Wait()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("get %s: %w", k, err))
		case !bytes.Equal(got, kv[k]):
			errs = append(errs, fmt.Errorf("get %s = %q; want %q", k, got, kv[k]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d keys unreadable, first: %w", len(errs), len(kv), errs[0])
	}
	return nil
}

func sortedKeys(kv map[string][]byte) []string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ownerOf returns the master of key's slot in the table.
func ownerOf(ranges []e2eSlots, key string) string {
	s := int(slots.KeySlot(key))
	for _, r := range ranges {
		if r.Start <= s && s <= r.End {
			return r.Master
		}
	}
	return ""
}

// keysByOwner groups keys by the master of their slot.
func keysByOwner(ranges []e2eSlots, kv map[string][]byte) map[string][]string {
	by := make(map[string][]string)
	for _, k := range sortedKeys(kv) {
		o := ownerOf(ranges, k)
		by[o] = append(by[o], k)
	}
	return by
}

// cliGet checks lkv get through a for each key.
func cliGet(t *testing.T, a *clusterAgent, kv map[string][]byte, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if got := a.ok(t, nil, "--timeout", "10s", "get", k); !bytes.Equal(got, kv[k]) {
			t.Errorf("lkv --addr %s get %s = %q; want %q", a.id, k, got, kv[k])
		}
	}
}

// sample returns up to n keys of each owner.
func sample(by map[string][]string, n int) []string {
	var out []string
	for _, o := range slices.Sorted(mapKeys(by)) {
		out = append(out, by[o][:min(n, len(by[o]))]...)
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// runCLI runs the CLI like lkv, but returns an error where lkv would fail
// the test, so that it can run in a goroutine.
func runCLI(bin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return result{stdout: out.Bytes(), stderr: errb.String(), code: ee.ExitCode()}, nil
	}
	return result{stdout: out.Bytes(), stderr: errb.String()}, err
}

func skipIfShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agent processes; skipped with -short")
	}
}

// Three agents joined through different seeds (n2 through n1, n3 through
// n2) agree on one table; keys written through n1 are readable through n3.
func TestE2E_cluster_joinThroughDifferentSeeds(t *testing.T) {
	skipIfShort(t)
	as := startChain(t, 3)
	v := awaitSettled(t, "3 nodes agree", as)
	if c := coordinatorOf(v); c != "n3" {
		t.Errorf("coordinator %s; want n3 (the highest id)", c)
	}

	for _, a := range as {
		var info e2eInfo
		if err := a.query(t, &info, "cluster", "info", "--json"); err != nil {
			t.Fatal(err)
		}
		want := e2eInfo{NodeID: a.id, Cluster: "lkv", Epoch: info.Epoch, Coordinator: "n3", SlotsCovered: slots.NumSlots}
		if info != want || info.Epoch == 0 {
			t.Errorf("%s: cluster info --json = %+v; want %+v with an epoch > 0", a.id, info, want)
		}
		for _, r := range v.slots {
			if r.Epoch > info.Epoch {
				t.Errorf("%s: range %d-%d has epoch %d above the table's %d", a.id, r.Start, r.End, r.Epoch, info.Epoch)
			}
		}
		var nodes []e2eNode
		if err := a.query(t, &nodes, "cluster", "nodes", "--json"); err != nil {
			t.Fatal(err)
		}
		for _, b := range as {
			n, ok := (&view{nodes: nodes}).node(b.id)
			if !ok || n.Addr != b.addr || n.GossipAddr != b.gossip {
				t.Errorf("%s lists %s as %+v; want addr %s, gossip %s", a.id, b.id, n, b.addr, b.gossip)
			}
		}
	}

	kv := testKeys(200)
	by := keysByOwner(v.slots, kv)
	if len(by) != 3 {
		t.Fatalf("200 keys fall on %d masters; want all 3", len(by))
	}
	putAll(t, dialClient(t, as[0]), kv)
	if err := checkAll(dialClient(t, as[2]), kv); err != nil {
		t.Fatalf("through n3: %v", err)
	}
	cliGet(t, as[2], kv, sample(by, 3)...)
}

// SIGSTOP cuts one agent off; the others declare it dead and keep serving
// the rest of the key space. After SIGCONT the cluster heals by itself.
func TestE2E_cluster_partitionHeals(t *testing.T) {
	skipIfShort(t)
	as := startChain(t, 3)
	v := awaitSettled(t, "3 nodes agree", as)
	kv := testKeys(200)
	by := keysByOwner(v.slots, kv)
	if len(by) != 3 || len(by["n2"]) < 3 {
		t.Fatalf("keys by master: %v; want some on each, 3 or more on n2", by)
	}
	putAll(t, dialClient(t, as[0]), kv)

	// n2 is n3's seed and not the coordinator; we talk to n1 and n3.
	stopped, live := as[1], []*clusterAgent{as[0], as[2]}
	if err := stopped.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := stopped.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT: %v", err)
			}
		}
	}
	defer resume()
	stoppedAt := time.Now()

	eventually(t, settleTimeout, "n1 and n3 declare n2 dead", func() error {
		for _, a := range live {
			var nodes []e2eNode
			if err := a.query(t, &nodes, "cluster", "nodes", "--json"); err != nil {
				return err
			}
			w := &view{nodes: nodes}
			if n, ok := w.node(stopped.id); !ok || n.State != "dead" {
				return fmt.Errorf("%s sees %s as %+v", a.id, stopped.id, n)
			}
			for _, b := range live {
				if n, _ := w.node(b.id); n.State != "alive" {
					return fmt.Errorf("%s sees %s as %+v", a.id, b.id, n)
				}
			}
		}
		return nil
	})
	t.Logf("n2 declared dead %v after SIGSTOP", time.Since(stoppedAt).Round(time.Millisecond))

	for _, a := range live {
		var info e2eInfo
		if err := a.query(t, &info, "cluster", "info", "--json"); err != nil {
			t.Fatal(err)
		}
		if want := slots.NumSlots - v.slotsOf(stopped.id); info.SlotsCovered != want {
			t.Errorf("%s: slots_covered %d while n2 is dead; want %d", a.id, info.SlotsCovered, want)
		}
	}
	// The rest of the key space keeps serving, through the CLI and the Go
	// client.
	var rest []string
	liveBy := make(map[string][]string)
	for _, a := range live {
		rest = append(rest, by[a.id]...)
		liveBy[a.id] = by[a.id]
	}
	for _, a := range live {
		cliGet(t, a, kv, sample(liveBy, 2)...)
	}
	c := dialClient(t, as[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	for _, k := range rest {
		if got, err := c.Get(ctx, k); err != nil || !bytes.Equal(got, kv[k]) {
			t.Errorf("while n2 is stopped, get %s (master %s) = %q, %v; want %q", k, ownerOf(v.slots, k), got, err, kv[k])
		}
	}
	cancel()
	// n2's keys fail with UNAVAILABLE (DESIGN §5, Coverage), through the
	// CLI on either live node and through the Go client. The three probes
	// run at once, each given 5 s, so that the stop stays short.
	onStopped := by[stopped.id]
	bin := lkvBinary(t)
	probes := make([]string, 3)
	var wg sync.WaitGroup
	for i, a := range live {
		wg.Go(func() {
			k := onStopped[i]
			start := time.Now()
			r, err := runCLI(bin, "--addr", a.addr, "--timeout", "5s", "get", k)
			switch {
			case err != nil:
				probes[i] = fmt.Sprintf("lkv --addr %s get %s: %v", a.id, k, err)
			case r.code != 1 || !strings.Contains(r.stderr, "unavailable"):
				probes[i] = fmt.Sprintf("lkv --addr %s get %s (master n2, stopped) took %v: exit %d, stderr %q; want exit 1 and \"unavailable\"",
					a.id, k, time.Since(start).Round(time.Millisecond), r.code, r.stderr)
			}
		})
	}
	wg.Go(func() {
		k := onStopped[2]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.Get(ctx, k); !errors.Is(err, client.ErrUnavailable) {
			probes[2] = fmt.Sprintf("Go client get %s (master n2, stopped) took %v: %v; want an error matching client.ErrUnavailable",
				k, time.Since(start).Round(time.Millisecond), err)
		}
	})
	wg.Wait()
	for _, p := range probes {
		if p != "" {
			t.Error(p)
		}
	}

	resume()
	resumedAt := time.Now()
	awaitSettled(t, "the partition heals", as)
	t.Logf("healed %v after SIGCONT", time.Since(resumedAt).Round(time.Millisecond))
	eventually(t, settleTimeout, "every key readable again", func() error {
		return checkAll(dialClient(t, as[2]), kv)
	})
	cliGet(t, as[0], kv, sample(by, 2)...)
}

// Two clusters with different names never merge, even when a node is told
// to join both: blue2 is pointed at red and at blue, and only ever joins
// blue, at the start and each time its rejoin loop tries red again (seen in
// its debug log).
func TestE2E_cluster_namesNeverMerge(t *testing.T) {
	skipIfShort(t)
	red := startClusterAgent(t, "red1", "--cluster", "red")
	blue := startClusterAgent(t, "blue1", "--cluster", "blue")
	start := time.Now()
	blue2 := startClusterAgent(t, "blue2", "--cluster", "blue", "--join", red.gossip+","+blue.gossip, "--log-level", "debug")
	clusters := []struct {
		name    string
		members []*clusterAgent
	}{{"red", []*clusterAgent{red}}, {"blue", []*clusterAgent{blue, blue2}}}
	check := func() error {
		for _, c := range clusters {
			v, err := settled(t, c.members)
			if err != nil {
				return fmt.Errorf("cluster %s: %w", c.name, err)
			}
			if len(v.nodes) != len(c.members) || v.info.Cluster != c.name || v.info.SlotsCovered != slots.NumSlots {
				return fmt.Errorf("cluster %s: nodes %+v, info %+v", c.name, v.nodes, v.info)
			}
		}
		return nil
	}
	eventually(t, settleTimeout, "red alone and blue with two nodes", check)
	retried := func() bool {
		for _, line := range strings.Split(blue2.stderr.String(), "\n") {
			if strings.Contains(line, "rejoin failed") && strings.Contains(line, "addr="+red.gossip) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(settleTimeout)
	for !retried() {
		if time.Now().After(deadline) {
			t.Fatalf("blue2's rejoin loop did not try red (%s) within %v", red.gossip, settleTimeout)
		}
		if err := check(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("blue2's rejoin loop tried red %v after it started", time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second) // what that rejoin might have started
	if err := check(); err != nil {
		t.Fatal(err)
	}
}

// An agent that gets SIGTERM leaves: it hands its slots over with their
// data and exits 0; the other two cover every slot and serve every key.
func TestE2E_cluster_gracefulLeave(t *testing.T) {
	skipIfShort(t)
	as := startChain(t, 3)
	before := awaitSettled(t, "3 nodes agree", as)
	kv := testKeys(200)
	if len(keysByOwner(before.slots, kv)[as[1].id]) == 0 {
		t.Fatal("no key falls on n2")
	}
	putAll(t, dialClient(t, as[0]), kv)

	leaving := as[1]
	start := time.Now()
	if err := leaving.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leaving.exited:
	case <-time.After(25 * time.Second):
		t.Fatal("n2 did not exit within 25s of SIGTERM")
	}
	t.Logf("n2 exited %v after SIGTERM: %v", time.Since(start).Round(time.Millisecond), leaving.err)
	if leaving.err != nil {
		t.Errorf("n2's exit after SIGTERM: %v; want status 0", leaving.err)
	}
	rest := []*clusterAgent{as[0], as[2]}
	v := awaitSettled(t, "n1 and n3 cover every slot", rest, leaving.id)
	for _, a := range rest {
		var info e2eInfo
		if err := a.query(t, &info, "cluster", "info", "--json"); err != nil {
			t.Fatal(err)
		}
		if info.SlotsCovered != slots.NumSlots || info.NodeID != a.id {
			t.Errorf("%s: cluster info --json = %+v", a.id, info)
		}
	}
	if err := checkAll(dialClient(t, as[0]), kv); err != nil {
		t.Errorf("after n2 left, through n1: %v", err)
	}
	if err := checkAll(dialClient(t, as[2]), kv); err != nil {
		t.Errorf("after n2 left, through n3: %v", err)
	}
	cliGet(t, as[2], kv, sample(keysByOwner(v.slots, kv), 3)...)
}
