package membership_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/membership"
)

// Five nodes, each joining through a different seed (node i joins node
// i-1), all see five members with their metadata.
func TestMembership_Join_throughDifferentSeeds(t *testing.T) {
	checkNoLeaks(t)
	nodes := startCluster(t, 5)
	for _, n := range nodes {
		got := aliveIDs(n)
		want := []string{"node-0", "node-1", "node-2", "node-3", "node-4"}
		if !slices.Equal(got, want) {
			t.Errorf("%s sees %v; want %v", n.NodeID(), got, want)
		}
		for i, mem := range n.Members() {
			if want := fmt.Sprintf("127.0.0.1:%d", 7000+i); mem.Meta.ClientAddr != want || mem.Meta.Role != "master" {
				t.Errorf("%s sees %s meta %+v; want ClientAddr %s, Role master", n.NodeID(), mem.ID, mem.Meta, want)
			}
			if mem.Addr != nodes[i].LocalAddr() {
				t.Errorf("%s sees %s at %s; want %s", n.NodeID(), mem.ID, mem.Addr, nodes[i].LocalAddr())
			}
		}
	}
	// Every node got a Join event for every other node.
	for _, n := range nodes {
		for _, o := range nodes {
			waitUntil(t, n.NodeID()+" join event for "+o.NodeID(), func() bool {
				_, ok := n.events.find(membership.EventJoin, o.NodeID())
				return ok
			})
		}
	}
}

// A node without seeds is a cluster of one.
func TestMembership_Start_noSeeds(t *testing.T) {
	n := startNode(t, 0, nil)
	if got := aliveIDs(n); !slices.Equal(got, []string{"node-0"}) {
		t.Errorf("members %v; want [node-0]", got)
	}
	if !strings.HasPrefix(n.LocalAddr(), "127.0.0.1:") || strings.HasSuffix(n.LocalAddr(), ":0") {
		t.Errorf("LocalAddr %q; want 127.0.0.1 and the bound port", n.LocalAddr())
	}
}

// Unreachable seeds do not fail Start; the rejoin loop joins them once
// they are up.
func TestMembership_Start_seedDownThenUp(t *testing.T) {
	// Find a free port for the seed, then start the joiner first.
	probe := startNode(t, 9, nil)
	addr := probe.LocalAddr()
	shutdown(t, probe)
	_, port, _ := strings.Cut(addr, ":")

	joiner := startNode(t, 1, []string{addr})
	if got := len(aliveIDs(joiner)); got != 1 {
		t.Fatalf("joiner sees %d members; want 1", got)
	}
	seed := startNode(t, 0, nil, func(c *membership.Config) { fmt.Sscan(port, &c.BindPort) })
	waitAlive(t, []*testNode{joiner, seed}, 2)
	// The members can be alive before the rejoin that merged them has
	// returned and been counted.
	deadline := time.Now().Add(5 * time.Second)
	for joiner.Stats().Rejoins == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := joiner.Stats(); s.Rejoins == 0 {
		t.Errorf("Rejoins = 0 after the rejoin loop merged; stats %+v", s)
	}
}

// Metadata reaches every node, and UpdateMeta spreads with an Update event.
func TestMembership_UpdateMeta_spreads(t *testing.T) {
	nodes := startCluster(t, 3)
	meta := membership.Meta{ClientAddr: "10.0.0.1:7370", HTTPAddr: "10.0.0.1:7372", Role: "replica",
		Version: "v2", Tags: map[string]string{"zone": "b"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nodes[0].UpdateMeta(ctx, meta); err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	for _, n := range nodes {
		waitUntil(t, n.NodeID()+" sees the new meta", func() bool {
			mem, _ := n.Member("node-0")
			return mem.Meta.Role == "replica" && mem.Meta.Tags["zone"] == "b" && mem.Meta.HTTPAddr == meta.HTTPAddr
		})
		waitUntil(t, n.NodeID()+" update event", func() bool {
			ev, ok := n.events.find(membership.EventUpdate, "node-0")
			return ok && ev.Member.Meta.Role == "replica"
		})
	}
	big := membership.Meta{Tags: map[string]string{"x": strings.Repeat("y", membership.MetaMaxSize)}}
	if err := nodes[0].UpdateMeta(ctx, big); !errors.Is(err, membership.ErrMetaTooLarge) {
		t.Errorf("UpdateMeta(too large) = %v; want ErrMetaTooLarge", err)
	}
}

// noPushPull makes push/pull too rare to matter, so that only broadcasts
// can spread a state within the test.
func noPushPull(c *membership.Config) { c.Profile.PushPullInterval = time.Hour }

// A state broadcast by one node is merged by all; a node that joins later
// gets it by the join's push/pull.
func TestMembership_Broadcast_converges(t *testing.T) {
	nodes := startCluster(t, 5, noPushPull)
	_, _, before := nodes[3].state.get()
	msg := nodes[0].state.set(7, []byte("table-v7"))
	if err := nodes[0].Broadcast(msg); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	start := time.Now()
	waitConverged(t, nodes, 7, "table-v7")
	t.Logf("5 nodes merged a broadcast state in %v", time.Since(start))
	if _, _, after := nodes[3].state.get(); after <= before {
		t.Errorf("node-3 MergeRemoteState calls %d -> %d; want more", before, after)
	}
	if s := nodes[3].Stats(); s.StatesReceived == 0 {
		t.Errorf("node-3 StatesReceived = 0; want > 0 (stats %+v)", s)
	}

	// A newer state from another node wins everywhere.
	msg = nodes[2].state.set(8, []byte("table-v8"))
	if err := nodes[2].Broadcast(msg); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	waitConverged(t, nodes, 8, "table-v8")

	late := startNode(t, 5, []string{nodes[4].LocalAddr()}, noPushPull)
	if epoch, data, merges := late.state.get(); epoch != 8 || string(data) != "table-v8" || merges == 0 {
		t.Errorf("late joiner state %d:%q after %d merges; want 8:table-v8 from the join's push/pull", epoch, data, merges)
	}
}

// A state too large for a gossip packet spreads as a notice, and each node
// pulls it by push/pull.
func TestMembership_Broadcast_large(t *testing.T) {
	nodes := startCluster(t, 3, noPushPull)
	big := bytes.Repeat([]byte("slot-range;"), 2000) // 22 kB
	if max := nodes[0].MaxBroadcastSize(); max < 1000 || max >= len(big) {
		t.Fatalf("MaxBroadcastSize = %d; want about 1.2 kB", max)
	}
	if err := nodes[0].Broadcast(nodes[0].state.set(3, big)); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	waitConverged(t, nodes, 3, string(big))
	if s := nodes[1].Stats(); s.StatePulls == 0 {
		t.Errorf("node-1 StatePulls = 0; want a pull (stats %+v)", s)
	}
}

func waitConverged(t *testing.T, nodes []*testNode, epoch int, data string) {
	t.Helper()
	for _, n := range nodes {
		waitUntil(t, fmt.Sprintf("%s at epoch %d", n.NodeID(), epoch), func() bool {
			e, d, _ := n.state.get()
			return e == epoch && string(d) == data
		})
	}
}

// Two clusters with different names never merge, even when one is told to
// join the other.
func TestMembership_Cluster_labelsNeverMerge(t *testing.T) {
	a := startCluster(t, 2, func(c *membership.Config) { c.Cluster = "alpha" })
	var b []*testNode
	for i := 2; i < 4; i++ {
		var seeds []string
		if i == 3 {
			seeds = []string{b[0].LocalAddr()}
		}
		b = append(b, startNode(t, i, seeds, func(c *membership.Config) { c.Cluster = "beta" }))
	}
	waitAlive(t, b, 2)
	ctx := context.Background()
	if n, err := b[0].Join(ctx, []string{a[0].LocalAddr()}); err == nil || n != 0 {
		t.Errorf("beta Join(alpha) = %d, %v; want 0 and an error", n, err)
	}
	if n, err := a[1].Join(ctx, []string{b[1].LocalAddr()}); err == nil || n != 0 {
		t.Errorf("alpha Join(beta) = %d, %v; want 0 and an error", n, err)
	}
	time.Sleep(300 * time.Millisecond) // many gossip and probe rounds
	for _, n := range append(a, b...) {
		if got := len(aliveIDs(n)); got != 2 {
			t.Errorf("%s sees %d members %v; want 2", n.NodeID(), got, aliveIDs(n))
		}
	}
}

// Only nodes with the cluster's key can join.
func TestMembership_EncryptKey_wrongKeyCannotJoin(t *testing.T) {
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	nodes := startCluster(t, 2, func(c *membership.Config) { c.EncryptKey = key(1) })
	for i, tc := range []struct {
		name string
		key  []byte
	}{
		{"wrong key", key(2)},
		{"no key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, 5+i, []string{nodes[0].LocalAddr()}, func(c *membership.Config) { c.EncryptKey = tc.key })
			if _, err := n.Join(context.Background(), []string{nodes[1].LocalAddr()}); err == nil {
				t.Errorf("Join with %s succeeded", tc.name)
			}
			time.Sleep(200 * time.Millisecond)
			if got := len(aliveIDs(n)); got != 1 {
				t.Errorf("node with %s sees %v; want only itself", tc.name, aliveIDs(n))
			}
			if got := len(aliveIDs(nodes[0])); got != 2 {
				t.Errorf("cluster sees %v; want 2 members", aliveIDs(nodes[0]))
			}
		})
	}
	// The right key, given in base64, joins.
	k, err := membership.ParseKey("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	n := startNode(t, 9, []string{nodes[0].LocalAddr()}, func(c *membership.Config) { c.EncryptKey = k })
	waitAlive(t, append(nodes, n), 3)
}

// A node that stops without leaving is declared dead by the others (a Fail
// event, state dead) within the test profile's detection time.
func TestMembership_Fail_detected(t *testing.T) {
	nodes := startCluster(t, 4)
	victim := nodes[3]
	lo, hi := membership.TestProfile().DetectionTime(4)
	stopped := time.Now()
	shutdown(t, victim)
	for _, n := range nodes[:3] {
		waitUntil(t, n.NodeID()+" fail event", func() bool {
			_, ok := n.events.find(membership.EventFail, "node-3")
			return ok
		})
		ev, _ := n.events.find(membership.EventFail, "node-3")
		took := ev.at.Sub(stopped)
		t.Logf("%s: node-3 declared dead after %v (documented %v..%v)", n.NodeID(), took.Round(time.Millisecond), lo, hi)
		// Allow for scheduling on a loaded machine (-race, shared CPUs).
		if took > hi+500*time.Millisecond {
			t.Errorf("%s declared node-3 dead after %v; want about %v at most", n.NodeID(), took, hi)
		}
		if st, ok := stateOf(n, "node-3"); !ok || st != membership.StateDead {
			t.Errorf("%s sees node-3 %v (known %v); want dead", n.NodeID(), st, ok)
		}
		if s := n.Stats(); s.Alive != 3 || s.Gone != 1 {
			t.Errorf("%s stats alive %d gone %d; want 3, 1", n.NodeID(), s.Alive, s.Gone)
		}
	}
}

// A node that leaves is seen leaving and then left, not dead.
func TestMembership_Leave_seenAsLeave(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nodes[2].Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := nodes[2].Leave(ctx); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := nodes[2].Broadcast([]byte("x")); !errors.Is(err, membership.ErrLeft) {
		t.Errorf("Broadcast after Leave = %v; want ErrLeft", err)
	}
	shutdown(t, nodes[2])
	for _, n := range nodes[:2] {
		waitUntil(t, n.NodeID()+" leave event", func() bool {
			_, ok := n.events.find(membership.EventLeave, "node-2")
			return ok
		})
		if _, ok := n.events.find(membership.EventFail, "node-2"); ok {
			t.Errorf("%s got a Fail event for a node that left", n.NodeID())
		}
		if st, _ := stateOf(n, "node-2"); st != membership.StateLeft {
			t.Errorf("%s sees node-2 %v; want left", n.NodeID(), st)
		}
	}
}

// A crashed node restarted on the same address without seeds is found
// again by the others' rejoin loop.
func TestMembership_Restart_rejoinedByOthers(t *testing.T) {
	nodes := startCluster(t, 3)
	addr := nodes[2].LocalAddr()
	shutdown(t, nodes[2])
	waitAlive(t, nodes[:2], 2)
	_, port, _ := strings.Cut(addr, ":")
	back := startNode(t, 2, nil, func(c *membership.Config) { fmt.Sscan(port, &c.BindPort) })
	waitAlive(t, []*testNode{nodes[0], nodes[1], back}, 3)
	if _, ok := nodes[0].events.find(membership.EventJoin, "node-2"); !ok {
		t.Error("no join event for the restarted node")
	}
}

// A crashed node restarted with the same id on another port (a new
// address) is accepted once DeadNodeReclaimTime has passed.
func TestMembership_Restart_newAddress(t *testing.T) {
	nodes := startCluster(t, 3)
	old := nodes[2].LocalAddr()
	shutdown(t, nodes[2])
	waitAlive(t, nodes[:2], 2)
	time.Sleep(2 * membership.TestProfile().DeadNodeReclaimTime)
	back := startNode(t, 2, []string{nodes[0].LocalAddr()})
	if back.LocalAddr() == old {
		t.Skip("the kernel gave the same port back")
	}
	waitAlive(t, []*testNode{nodes[0], nodes[1], back}, 3)
	for _, n := range nodes[:2] {
		if mem, _ := n.Member("node-2"); mem.Addr != back.LocalAddr() {
			t.Errorf("%s sees node-2 at %s; want the new address %s", n.NodeID(), mem.Addr, back.LocalAddr())
		}
	}
}

// SendTo delivers a message with its sender, both ways and for large
// messages.
func TestMembership_SendTo_roundTrip(t *testing.T) {
	nodes := startCluster(t, 2)
	if err := nodes[0].SendTo("node-1", []byte("elect me")); err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	got := receive(t, nodes[1])
	if got.from != "node-0" || string(got.msg) != "elect me" {
		t.Errorf("node-1 got %q from %q; want \"elect me\" from node-0", got.msg, got.from)
	}
	big := bytes.Repeat([]byte{0xab}, 256<<10)
	if err := nodes[1].SendTo("node-0", big); err != nil {
		t.Fatalf("SendTo(256 KiB): %v", err)
	}
	if got := receive(t, nodes[0]); got.from != "node-1" || !bytes.Equal(got.msg, big) {
		t.Errorf("node-0 got %d bytes from %q; want 256 KiB from node-1", len(got.msg), got.from)
	}
	if err := nodes[0].SendTo("node-9", []byte("x")); !errors.Is(err, membership.ErrUnknownNode) {
		t.Errorf("SendTo(unknown) = %v; want ErrUnknownNode", err)
	}
	if err := nodes[0].SendTo("node-1", make([]byte, membership.MaxMessageSize+1)); !errors.Is(err, membership.ErrTooLarge) {
		t.Errorf("SendTo(too large) = %v; want ErrTooLarge", err)
	}
}

func receive(t *testing.T, n *testNode) message {
	t.Helper()
	select {
	case m := <-n.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("%s received nothing", n.NodeID())
		return message{}
	}
}

// A consumer that does not read Events never holds memberlist up: events
// coalesce per member, and the latest one is delivered when it reads.
func TestMembership_Events_slowConsumer(t *testing.T) {
	nodes := startCluster(t, 3)
	cfg, _, _ := testConfig(t, 3)
	cfg.EventBuffer = 1
	cfg.Seeds = []string{nodes[0].LocalAddr()}
	slow, err := membership.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := slow.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer slow.Shutdown(ctx)
	for _, role := range []string{"v1", "v2", "v3"} {
		if err := nodes[0].UpdateMeta(ctx, membership.Meta{Role: role}); err != nil {
			t.Fatalf("UpdateMeta: %v", err)
		}
		waitUntil(t, "slow node sees role "+role, func() bool {
			mem, _ := slow.Member("node-0")
			return mem.Meta.Role == role
		})
	}
	if got := slow.NumAlive(); got != 4 {
		t.Errorf("slow consumer's node sees %d members; want 4", got)
	}
	if s := slow.Stats(); s.EventsCoalesced == 0 {
		t.Errorf("EventsCoalesced = 0; want some (stats %+v)", s)
	}
	var last membership.Event
	for drained := false; !drained; {
		select {
		case ev := <-slow.Events():
			if ev.Member.ID == "node-0" {
				last = ev
			}
		case <-time.After(100 * time.Millisecond):
			drained = true
		}
	}
	if last.Member.Meta.Role != "v3" {
		t.Errorf("last event for node-0 = %v %+v; want its latest meta (role v3)", last.Kind, last.Member.Meta)
	}
}
