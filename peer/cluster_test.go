package peer_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// testCluster is n nodes in this process, on loopback, with short gossip
// and election timers.
type testCluster struct {
	t     *testing.T
	nodes []*peer.Peer
}

func clusterConfig(t testing.TB, i int) *peer.Config {
	cfg := testConfig(t)
	cfg.NodeID = fmt.Sprintf("node-%d", i)
	cfg.RebalanceInterval = 100 * time.Millisecond
	cfg.Election = election.DefaultConfig()
	return cfg
}

// newTestCluster starts n nodes; node i joins through node i-1, so that
// every node has a different seed.
func newTestCluster(t *testing.T, n int) *testCluster {
	c := &testCluster{t: t}
	for i := range n {
		c.add(i)
	}
	return c
}

// add starts node i, joining through the last node started.
func (c *testCluster) add(i int) *peer.Peer {
	cfg := clusterConfig(c.t, i)
	if len(c.nodes) > 0 {
		cfg.Join = []string{c.nodes[len(c.nodes)-1].GossipAddr()}
	}
	p := startPeer(c.t, cfg)
	c.nodes = append(c.nodes, p)
	return p
}

// waitUntil retries cond until it holds or the time is up.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, d, err)
}

// agreed checks that every node sees the same table, covering every slot,
// evenly spread over masters, and the same coordinator.
func (c *testCluster) agreed(masters []*peer.Peer) error {
	var first string
	for i, p := range c.nodes {
		top := p.Topology()
		covered := 0
		owned := map[string]int{}
		for _, r := range top.Slots {
			covered += r.End - r.Start + 1
			owned[r.Master] += r.End - r.Start + 1
		}
		if covered != slots.NumSlots {
			return fmt.Errorf("%s covers %d slots", p.ID(), covered)
		}
		for _, m := range masters {
			if n := owned[m.ID()]; n < slots.NumSlots/len(masters)-1 || n > slots.NumSlots/len(masters)+1 {
				return fmt.Errorf("%s sees %s owning %d slots", p.ID(), m.ID(), n)
			}
		}
		var coord []string
		for _, n := range top.Nodes {
			if n.Coordinator {
				coord = append(coord, n.ID)
			}
		}
		sig := fmt.Sprintf("epoch %d coordinator %v slots %v", top.Epoch, coord, top.Slots)
		if len(coord) != 1 {
			return fmt.Errorf("%s sees coordinators %v", p.ID(), coord)
		}
		if i == 0 {
			first = sig
		} else if sig != first {
			return fmt.Errorf("%s disagrees with %s", p.ID(), c.nodes[0].ID())
		}
	}
	return nil
}

func TestCluster_joinThroughDifferentSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("five-node cluster")
	}
	c := newTestCluster(t, 5)
	waitUntil(t, 60*time.Second, "five nodes agree on one balanced table", func() error { return c.agreed(c.nodes) })

	// 10,000 keys written through one node are readable through every other.
	ctx := ctxT(t)
	w := dial(t, c.nodes[0])
	b := w.Batch(ctx)
	var futs []*client.Future[uint64]
	for i := range 10000 {
		futs = append(futs, b.Put(fmt.Sprintf("key-%d", i), []byte(fmt.Sprintf("value-%d", i))))
		if b.Len() == 500 {
			b.Send()
		}
	}
	b.Send()
	for i, f := range futs {
		if _, err := f.Wait(); err != nil {
			t.Fatalf("put key-%d: %v", i, err)
		}
	}
	for _, p := range c.nodes[1:] {
		r := dial(t, p)
		rb := r.Batch(ctx)
		var gets []*client.Future[[]byte]
		for i := range 10000 {
			gets = append(gets, rb.Get(fmt.Sprintf("key-%d", i)))
		}
		rb.Send()
		for i, f := range gets {
			if v, err := f.Wait(); err != nil || string(v) != fmt.Sprintf("value-%d", i) {
				t.Fatalf("through %s: key-%d = %q, %v", p.ID(), i, v, err)
			}
		}
	}
	// /v1/status tells each node's part in the cluster.
	coord := c.nodes[0].Status().Coordinator
	for _, p := range c.nodes {
		st := p.Status()
		if st.SlotsCovered != slots.NumSlots || st.SlotsOwned < 3276 || st.SlotsOwned > 3277 || st.Coordinator != coord || st.Members != 5 {
			t.Errorf("%s status: covered %d, owned %d, coordinator %q (want %q), members %d",
				p.ID(), st.SlotsCovered, st.SlotsOwned, st.Coordinator, coord, st.Members)
		}
	}
	// Every node has some of the keys: they were spread by slot.
	for _, p := range c.nodes {
		if n := p.Status().Store["keys"].(int64); n < 1000 {
			t.Errorf("%s stores %d keys; want about 2000", p.ID(), n)
		}
	}
}

// writer puts keys until stopped and remembers every acknowledged one.
type writer struct {
	acked sync.Map // key → value
	n     atomic.Int64
	fails atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func startWriter(t *testing.T, c *client.Client, prefix string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			k, v := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("v%d", i)
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Put(cctx, k, []byte(v))
			cancel()
			if err == nil {
				w.acked.Store(k, v)
				w.n.Add(1)
			} else {
				w.fails.Add(1)
			}
		}
	}()
	return w
}

func (w *writer) finish() { close(w.stop); <-w.done }

// checkAcked reads every acknowledged key through c.
func (w *writer) checkAcked(t *testing.T, c *client.Client) {
	t.Helper()
	ctx := ctxT(t)
	missing := 0
	w.acked.Range(func(k, v any) bool {
		got, err := c.Get(ctx, k.(string))
		if err != nil || string(got) != v.(string) {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged %s = %q, %v; want %q", k, got, err, v)
			}
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost", missing, w.n.Load())
	}
	t.Logf("%d acknowledged writes all readable (%d refused during moves)", w.n.Load(), w.fails.Load())
}

func TestCluster_joinAndLeaveUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster under load")
	}
	c := newTestCluster(t, 5)
	waitUntil(t, 60*time.Second, "five nodes agree", func() error { return c.agreed(c.nodes) })
	cl := dial(t, c.nodes[0])
	w := startWriter(t, cl, "join")
	time.Sleep(300 * time.Millisecond)

	sixth := c.add(5)
	waitUntil(t, 60*time.Second, "a sixth node takes its share", func() error { return c.agreed(c.nodes) })
	w.finish()
	w.checkAcked(t, dial(t, sixth))
	if w.n.Load() == 0 {
		t.Fatal("no write was acknowledged")
	}

	// The second node leaves gracefully, under load: its slots move to the
	// others with their data first.
	w2 := startWriter(t, cl, "leave")
	time.Sleep(300 * time.Millisecond)
	leaving := c.nodes[1]
	lctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := leaving.Leave(lctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if n := leaving.Topology().Slots; slices.ContainsFunc(n, func(r wireSlotRange) bool { return r.Master == leaving.ID() }) {
		t.Errorf("%s still owns slots after Leave", leaving.ID())
	}
	if err := leaving.Shutdown(lctx); err != nil {
		t.Fatal(err)
	}
	rest := slices.Delete(slices.Clone(c.nodes), 1, 2)
	c.nodes = rest
	waitUntil(t, 60*time.Second, "five nodes rebalance after the leave", func() error { return c.agreed(rest) })
	w2.finish()
	w2.checkAcked(t, dial(t, c.nodes[2]))
	w.checkAcked(t, dial(t, c.nodes[1]))
}

// cut drops gossip traffic between two sides, as a network partition does.
type cut struct {
	mu    sync.Mutex
	side  map[string]int // gossip address → side; 0 when not cut; guarded by mu
	addrs []string       // gossip address of node i; guarded by mu
}

// dropper is node i's DropTo: whether to drop what it sends to addr.
func (c *cut) dropper(i int) func(addr string) bool {
	return func(to string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i >= len(c.addrs) {
			return false
		}
		a, b := c.side[c.addrs[i]], c.side[to]
		return a != 0 && b != 0 && a != b
	}
}

func TestCluster_partitionHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("partition")
	}
	pc := &cut{side: map[string]int{}}
	c := &testCluster{t: t}
	for i := range 3 {
		cfg := clusterConfig(t, i)
		cfg.Membership.DropTo = pc.dropper(i)
		if i > 0 {
			cfg.Join = []string{c.nodes[i-1].GossipAddr()}
		}
		p := startPeer(t, cfg)
		pc.mu.Lock()
		pc.addrs = append(pc.addrs, p.GossipAddr())
		pc.mu.Unlock()
		c.nodes = append(c.nodes, p)
	}
	addrs := pc.addrs
	waitUntil(t, 60*time.Second, "three nodes agree", func() error { return c.agreed(c.nodes) })
	ctx := ctxT(t)
	cl := dial(t, c.nodes[0])
	for i := range 300 {
		if err := cl.Put(ctx, fmt.Sprintf("p-%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}

	// Cut node-2 off from the others.
	pc.mu.Lock()
	pc.side[addrs[0]], pc.side[addrs[1]], pc.side[addrs[2]] = 1, 1, 2
	pc.mu.Unlock()
	waitUntil(t, 20*time.Second, "the majority sees node-2 dead", func() error {
		for _, n := range c.nodes[0].Topology().Nodes {
			if n.ID == "node-2" && n.State != "dead" {
				return fmt.Errorf("node-2 is %s", n.State)
			}
		}
		return nil
	})
	// The minority (one of three masters) never acts: it keeps the table it
	// had and moves nothing.
	epoch := c.nodes[2].Topology().Epoch
	time.Sleep(time.Second)
	if e := c.nodes[2].Topology().Epoch; e != epoch {
		t.Errorf("the cut-off node changed the table (epoch %d → %d)", epoch, e)
	}

	// Heal: the rejoin loop merges the cluster again by itself.
	pc.mu.Lock()
	clear(pc.side)
	pc.mu.Unlock()
	waitUntil(t, 30*time.Second, "the partition heals", func() error {
		for _, p := range c.nodes {
			for _, n := range p.Topology().Nodes {
				if n.State != "alive" {
					return fmt.Errorf("%s sees %s %s", p.ID(), n.ID, n.State)
				}
			}
		}
		return c.agreed(c.nodes)
	})
	for i := range 300 {
		if v, err := cl.Get(ctx, fmt.Sprintf("p-%d", i)); err != nil || string(v) != "v" {
			t.Fatalf("p-%d after the heal = %q, %v", i, v, err)
		}
	}
}

// A node told to join a cluster whose seed is not up yet claims nothing
// while alone; when the seed comes up it joins, and the seed's data stays
// readable (the joiner never wins slots it holds no data for).
func TestCluster_joinBeforeSeedIsUp(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seedAddr := ln.Addr().String()
	_, seedPort, _ := net.SplitHostPort(seedAddr)
	ln.Close()

	cfg := clusterConfig(t, 1)
	cfg.Join = []string{seedAddr}
	joiner := startPeer(t, cfg)
	time.Sleep(1500 * time.Millisecond) // past its election and several rebalance ticks
	if n := ownedBy(joiner.Topology().Slots, joiner.ID()); n != 0 {
		t.Fatalf("alone and not yet joined, %s claimed %d slots", joiner.ID(), n)
	}

	scfg := clusterConfig(t, 0)
	scfg.GossipPort, _ = strconv.Atoi(seedPort)
	seed := startPeer(t, scfg)
	cl := dial(t, seed)
	ctx := ctxT(t)
	for i := range 200 {
		if err := cl.Put(ctx, fmt.Sprintf("s-%d", i), []byte("seed")); err != nil {
			t.Fatal(err)
		}
	}
	c := &testCluster{t: t, nodes: []*peer.Peer{seed, joiner}}
	waitUntil(t, 30*time.Second, "the two agree", func() error { return c.agreed(c.nodes) })
	via := dial(t, joiner)
	for i := range 200 {
		if v, err := via.Get(ctx, fmt.Sprintf("s-%d", i)); err != nil || string(v) != "seed" {
			t.Fatalf("s-%d = %q, %v", i, v, err)
		}
	}
}

// A node that restarts after copying a slot away (and before the flip
// reached it) keeps the slot held: it neither serves nor takes writes for
// it until the move is settled.
func TestCluster_restartKeepsHeldSlots(t *testing.T) {
	cfg := clusterConfig(t, 0)
	p, err := newStarted(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl := dial(t, p)
	ctx := ctxT(t)
	if err := cl.Put(ctx, "{held}k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := cl.Put(ctx, "{free}k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	slot := slots.KeySlot("{held}k")
	held := fmt.Sprintf(`{"%d":"node-gone"}`, slot)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "held.json"), []byte(held), 0o600); err != nil {
		t.Fatal(err)
	}
	p2 := startPeer(t, cfg)
	rc := dialRaw(t, p2.Addr())
	rc.send(&wire.Request{ID: 1, Op: wire.OpGet, Key: "{held}k"})
	if r := rc.read(); r == nil || r.Status != wire.StatusTryAgain {
		t.Errorf("get of a held slot after restart = %+v; want TRYAGAIN", r)
	}
	rc.send(&wire.Request{ID: 2, Op: wire.OpPut, Key: "{held}k", Value: []byte("w"), Perm: 3})
	if r := rc.read(); r == nil || r.Status != wire.StatusTryAgain {
		t.Errorf("put to a held slot after restart = %+v; want TRYAGAIN", r)
	}
	rc.send(&wire.Request{ID: 3, Op: wire.OpGet, Key: "{free}k"})
	if r := rc.read(); r == nil || r.Status != wire.StatusOK || string(r.Value) != "v" {
		t.Errorf("get of another slot = %+v; want v", r)
	}
}
