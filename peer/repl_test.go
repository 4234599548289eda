package peer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// replCluster starts masters nodes of role master, then replicas nodes of
// role replica (each follows the master with the fewest replicas), every
// one joining through node-0. mod, if not nil, changes each config.
func replCluster(t *testing.T, masters, replicas int, mod func(i int, cfg *peer.Config)) *testCluster {
	c := &testCluster{t: t}
	for i := range masters + replicas {
		cfg := clusterConfig(t, i)
		cfg.Role = peer.RoleMaster
		if i >= masters {
			cfg.Role = peer.RoleReplica
		}
		if i > 0 {
			cfg.Join = []string{c.nodes[0].GossipAddr()}
		}
		if mod != nil {
			mod(i, cfg)
		}
		c.nodes = append(c.nodes, startPeer(t, cfg))
	}
	waitUntil(t, 60*time.Second, "masters and replicas settle", func() error {
		return c.settled(c.nodes[:masters], c.nodes[masters:])
	})
	return c
}

// settled checks that every node sees the masters sharing all slots and
// each replica following a master, with the replicas spread evenly.
func (c *testCluster) settled(masters, replicas []*peer.Peer) error {
	if err := c.agreedOn(masters); err != nil {
		return err
	}
	perMaster := map[string]int{}
	for _, r := range replicas {
		info, ok := selfInfo(r)
		if !ok || info.Role != peer.RoleReplica || info.Master == "" {
			return fmt.Errorf("%s is %+v", r.ID(), info)
		}
		if info.Link != "streaming" {
			return fmt.Errorf("%s: link %q", r.ID(), info.Link)
		}
		perMaster[info.Master]++
	}
	if len(replicas) >= len(masters) && len(perMaster) != len(masters) {
		return fmt.Errorf("replicas per master %v", perMaster)
	}
	return nil
}

// agreedOn is agreed for a cluster whose other nodes are replicas.
func (c *testCluster) agreedOn(masters []*peer.Peer) error {
	all := c.nodes
	defer func() { c.nodes = all }()
	var live []*peer.Peer
	for _, p := range c.nodes {
		if !p.Stopped() {
			live = append(live, p)
		}
	}
	c.nodes = live
	return c.agreed(masters)
}

// selfInfo is what p reports of itself.
func selfInfo(p *peer.Peer) (wire.NodeInfo, bool) {
	for _, n := range p.Topology().Nodes {
		if n.ID == p.ID() {
			return n, true
		}
	}
	return wire.NodeInfo{}, false
}

// masterOf returns the master of key's slot as p sees it.
func masterOf(p *peer.Peer, key string) string {
	slot := int(slots.KeySlot(key))
	for _, r := range p.Topology().Slots {
		if r.Start <= slot && slot <= r.End {
			return r.Master
		}
	}
	return ""
}

// readReplica reads key from node p itself, as a replica may answer.
func readReplica(ctx context.Context, c *client.Client, p *peer.Peer, key string) ([]byte, error) {
	resp, err := c.Do(ctx, &wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: true}, p.Addr())
	if err != nil {
		return nil, err
	}
	return resp.Value, nil
}

func TestRepl_minReplicasAndReplicaReads(t *testing.T) {
	c := replCluster(t, 1, 1, nil)
	master, replica := c.nodes[0], c.nodes[1]
	ctx := ctxT(t)
	cl := dial(t, master)
	for i := range 200 {
		if err := cl.Put(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i)), client.WithMinReplicas(1)); err != nil {
			t.Fatalf("put with min_replicas 1: %v", err)
		}
	}
	// Applied before the answer: the replica has every one of them.
	for i := range 200 {
		v, err := readReplica(ctx, cl, replica, fmt.Sprintf("k%d", i))
		if err != nil || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("replica read k%d = %q, %v", i, v, err)
		}
	}
	// Without replica_ok the replica sends the client to the master.
	_, err := cl.Do(ctx, &wire.Request{Op: wire.OpGet, Key: "k1"}, replica.Addr())
	var se *client.StatusError
	if !errors.As(err, &se) || se.Status != wire.StatusMoved || !strings.Contains(se.Message, master.ID()) {
		t.Fatalf("get through the replica without replica_ok: %v; want MOVED to the master", err)
	}
	// More replicas than the slot has: refused before anything is stored.
	err = cl.Put(ctx, "too-many", []byte("x"), client.WithMinReplicas(2))
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("min_replicas 2 with one replica: %v; want UNAVAILABLE", err)
	}
	if _, err := cl.Get(ctx, "too-many"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a refused min_replicas put was stored: %v", err)
	}
	// A client that allows replica reads spreads them over both copies.
	rc := dial(t, master, func(cfg *client.Config) { cfg.ReadFromReplicas = true })
	for i := range 50 {
		if v, err := rc.Get(ctx, fmt.Sprintf("k%d", i)); err != nil || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("replica-ok read k%d = %q, %v", i, v, err)
		}
	}
	if st := replica.Status(); st.Role != peer.RoleReplica || st.Master != master.ID() {
		t.Errorf("/v1/status of the replica: role %q master %q", st.Role, st.Master)
	}
	info, _ := selfInfo(replica)
	if info.Master != master.ID() || info.Lag != 0 || info.Offset != master.Topology().Nodes[0].Offset {
		t.Errorf("replica reports %+v; master at offset %d", info, master.Topology().Nodes[0].Offset)
	}
}

func TestRepl_minReplicasTimesOutWhenTheReplicaIsGone(t *testing.T) {
	c := replCluster(t, 1, 1, func(i int, cfg *peer.Config) { cfg.ReplicaAckTimeout = 300 * time.Millisecond })
	ctx := ctxT(t)
	cl := dial(t, c.nodes[0])
	shutdown(t, c.nodes[1])
	err := cl.Put(ctx, "k", []byte("v"), client.WithMinReplicas(1))
	if !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("min_replicas 1 with its replica down: %v; want TIMEOUT", err)
	}
	// Without min_replicas, replication is asynchronous: the write goes on.
	if err := cl.Put(ctx, "k2", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

// shutdown stops p without leaving: the others see it die.
func shutdown(t *testing.T, p *peer.Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// A replica that joins late, or that the log cannot bring up to date,
// takes a full copy; one that restarts goes on from its offset.
func TestRepl_fullCopyThenPartialResync(t *testing.T) {
	c := replCluster(t, 1, 0, func(i int, cfg *peer.Config) { cfg.Store.LogEntries = 50 })
	master := c.nodes[0]
	ctx := ctxT(t)
	cl := dial(t, master)
	value := make([]byte, 10<<10)
	for i := range 800 { // 8 MB: more than one page of a full copy
		if err := cl.Put(ctx, fmt.Sprintf("k%d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clusterConfig(t, 1)
	cfg.Role = peer.RoleReplica
	cfg.Join = []string{master.GossipAddr()}
	dir := cfg.DataDir
	replica := startPeer(t, cfg)
	c.nodes = append(c.nodes, replica)
	waitUntil(t, 30*time.Second, "the replica catches up", func() error { return caughtUp(master, replica) })
	if n := replicaKeys(t, cl, replica, 800); n != 800 {
		t.Fatalf("the replica has %d of 800 keys", n)
	}

	// Restart the replica: it goes on from its offset, which the log
	// still holds (fewer than 50 writes meanwhile).
	shutdown(t, replica)
	for i := range 20 {
		if err := cl.Put(ctx, fmt.Sprintf("late%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cfg2 := clusterConfig(t, 1)
	cfg2.DataDir, cfg2.Role, cfg2.Join = dir, peer.RoleReplica, cfg.Join
	replica = startPeer(t, cfg2)
	c.nodes[1] = replica
	waitUntil(t, 30*time.Second, "the restarted replica catches up", func() error { return caughtUp(master, replica) })
	for i := range 20 {
		if v, err := readReplica(ctx, cl, replica, fmt.Sprintf("late%d", i)); err != nil || string(v) != "x" {
			t.Fatalf("late%d on the replica = %q, %v", i, v, err)
		}
	}
}

// caughtUp checks that replica streams from master and is at its offset.
func caughtUp(master, replica *peer.Peer) error {
	m, _ := selfInfo(master)
	r, _ := selfInfo(replica)
	if r.Link != "streaming" || r.Offset != m.Offset {
		return fmt.Errorf("replica %s at %d (%s), master at %d", r.ID, r.Offset, r.Link, m.Offset)
	}
	return nil
}

func replicaKeys(t *testing.T, cl *client.Client, replica *peer.Peer, n int) int {
	ctx := ctxT(t)
	found := 0
	for i := range n {
		if _, err := readReplica(ctx, cl, replica, fmt.Sprintf("k%d", i)); err == nil {
			found++
		}
	}
	return found
}

// Kill a master under a steady write load with min_replicas 1: its replica
// takes over, no acknowledged write is lost, and the old master, started
// again, follows the new one with the same data.
func TestRepl_failoverLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("failover under load")
	}
	c := replCluster(t, 3, 3, nil)
	victim := c.nodes[0]
	cl := dial(t, c.nodes[1])
	w := startReplWriter(cl, "fo", 1)
	time.Sleep(500 * time.Millisecond)
	dir := victim.DataDir()
	shutdown(t, victim)
	waitUntil(t, 30*time.Second, "a replica takes over the dead master's slots", func() error {
		for _, r := range c.nodes[1].Topology().Slots {
			if r.Master == victim.ID() {
				return fmt.Errorf("slots %d-%d still on %s", r.Start, r.End, victim.ID())
			}
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // writes to the new master too
	w.finish()
	if w.n.Load() == 0 {
		t.Fatal("no write acknowledged")
	}
	w.checkAcked(t, cl)

	// The old master comes back: it is a replica of its successor now,
	// and ends up with the same keys and values.
	cfg := clusterConfig(t, 0)
	cfg.DataDir, cfg.Role, cfg.Join = dir, peer.RoleMaster, []string{c.nodes[1].GossipAddr()}
	back := startPeer(t, cfg)
	c.nodes[0] = back
	waitUntil(t, 30*time.Second, "the old master follows its successor", func() error {
		info, _ := selfInfo(back)
		if info.Role != peer.RoleReplica || info.Link != "streaming" {
			return fmt.Errorf("old master is %s (%s)", info.Role, info.Link)
		}
		m := c.byID(info.Master)
		if m == nil {
			return fmt.Errorf("follows unknown %s", info.Master)
		}
		return caughtUp(m, back)
	})
	ctx := ctxT(t)
	w.acked.Range(func(k, v any) bool {
		key := k.(string)
		if masterOf(back, key) != mustSelf(back).Master {
			return true
		}
		got, err := readReplica(ctx, cl, back, key)
		if err != nil || string(got) != v.(string) {
			t.Errorf("old master, now a replica: %s = %q, %v; want %q", key, got, err, v)
			return false
		}
		return true
	})
}

func mustSelf(p *peer.Peer) wire.NodeInfo { n, _ := selfInfo(p); return n }

func (c *testCluster) byID(id string) *peer.Peer {
	i := slices.IndexFunc(c.nodes, func(p *peer.Peer) bool { return p.ID() == id && !p.Stopped() })
	if i < 0 {
		return nil
	}
	return c.nodes[i]
}

// startReplWriter writes keys with min_replicas until finished.
func startReplWriter(c *client.Client, prefix string, minReplicas int) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				k, v := fmt.Sprintf("%s-%d-%d", prefix, g, i), fmt.Sprintf("v%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Put(ctx, k, []byte(v), client.WithMinReplicas(minReplicas))
				cancel()
				if err == nil {
					w.acked.Store(k, v)
					w.n.Add(1)
				} else {
					w.fails.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	go func() { wg.Wait(); close(w.done) }()
	return w
}

// With five masters, the coordinator and another master die together:
// three of five remain, a majority, so a new coordinator is elected and
// both dead masters' slots fail over.
func TestRepl_failoverOfCoordinatorAndAnotherMaster(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Ten nodes under the race detector on two cores are too slow to
		// tell failure detection from load; the plain run covers it.
		t.Skip("ten nodes")
	}
	// Ten nodes in one process on two cores: failure detection a little
	// slower than the test profile, so that load alone kills no one.
	c := replCluster(t, 5, 5, func(i int, cfg *peer.Config) {
		cfg.Membership.Profile.ProbeInterval = 200 * time.Millisecond
		cfg.Membership.Profile.ProbeTimeout = 100 * time.Millisecond
		cfg.Membership.Profile.SuspicionMult = 3
	})
	var coord *peer.Peer
	for _, p := range c.nodes {
		if info, _ := selfInfo(p); info.Coordinator {
			coord = p
		}
	}
	if coord == nil {
		t.Fatal("no coordinator")
	}
	other := c.nodes[0]
	if other == coord {
		other = c.nodes[1]
	}
	shutdown(t, coord)
	shutdown(t, other)
	survivor := c.nodes[2]
	if survivor == coord {
		survivor = c.nodes[3]
	}
	waitUntil(t, 30*time.Second, "both dead masters fail over", func() error {
		top := survivor.Topology()
		for _, r := range top.Slots {
			if r.Master == coord.ID() || r.Master == other.ID() {
				return fmt.Errorf("slots %d-%d still on %s", r.Start, r.End, r.Master)
			}
		}
		covered := 0
		for _, r := range top.Slots {
			covered += r.End - r.Start + 1
		}
		if covered != slots.NumSlots {
			return fmt.Errorf("%d slots covered", covered)
		}
		return nil
	})
	ctx := ctxT(t)
	cl := dial(t, survivor)
	for i := range 100 {
		if err := cl.Put(ctx, fmt.Sprintf("after-%d", i), []byte("x")); err != nil {
			t.Fatalf("write after the failover: %v", err)
		}
	}
}

// With three masters, two die: the survivor cannot see a majority, so it
// promotes nothing; the dead masters' slots answer UNAVAILABLE.
func TestRepl_minorityPromotesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("six nodes")
	}
	c := replCluster(t, 3, 3, nil)
	survivor := c.nodes[2]
	before := survivor.Topology().Slots
	shutdown(t, c.nodes[0])
	shutdown(t, c.nodes[1])
	waitUntil(t, 20*time.Second, "the survivor sees both dead", func() error {
		for _, n := range survivor.Topology().Nodes {
			if (n.ID == "node-0" || n.ID == "node-1") && n.State != "dead" {
				return fmt.Errorf("%s is %s", n.ID, n.State)
			}
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if after := survivor.Topology().Slots; !slices.EqualFunc(before, after, func(a, b wire.SlotRange) bool {
		return a.Start == b.Start && a.End == b.End && a.Master == b.Master
	}) {
		t.Fatalf("the minority changed the table:\nbefore %v\nafter  %v", before, after)
	}
	ctx := ctxT(t)
	cl := dial(t, survivor)
	var key string
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("k%d", i); masterOf(survivor, k) == "node-0" {
			key = k
		}
	}
	if _, err := cl.Get(ctx, key); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("get of a dead master's key: %v; want UNAVAILABLE", err)
	}
}

// A master cut off from the majority, with a client on its side, stops
// taking writes; the majority promotes its replica; once the cut heals
// the old master follows the new one.
func TestRepl_isolatedMasterRefusesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("partition")
	}
	pc := &cut{side: map[string]int{}}
	c := replCluster(t, 3, 3, func(i int, cfg *peer.Config) { cfg.Membership.DropTo = pc.dropper(i) })
	pc.mu.Lock()
	for _, p := range c.nodes {
		pc.addrs = append(pc.addrs, p.GossipAddr())
	}
	// node-0 alone on side 2. The client talks to it directly: client
	// traffic is not cut, only gossip, as when a client shares the
	// master's side of a partition.
	for i, a := range pc.addrs {
		pc.side[a] = 1
		if i == 0 {
			pc.side[a] = 2
		}
	}
	pc.mu.Unlock()
	isolated := c.nodes[0]
	ctx := ctxT(t)
	cl := dial(t, isolated)
	var key string
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("k%d", i); masterOf(isolated, k) == isolated.ID() {
			key = k
		}
	}
	// The isolated master must stop taking writes before the majority
	// promotes its replica: a write it took after that would be lost.
	waitUntil(t, 20*time.Second, "the isolated master refuses writes and the majority promotes", func() error {
		promoted := masterOf(c.nodes[1], key) != isolated.ID()
		_, err := cl.Do(ctx, &wire.Request{Op: wire.OpPut, Key: key, Value: []byte("x"), Perm: 3}, isolated.Addr())
		switch {
		case promoted && err == nil:
			t.Fatal("the isolated master took a write after its replica was promoted")
		case !errors.Is(err, client.ErrUnavailable):
			return fmt.Errorf("put: %v", err)
		case !promoted:
			return errors.New("refusing writes; not promoted yet")
		}
		return nil
	})
	pc.mu.Lock()
	clear(pc.side)
	pc.mu.Unlock()
	waitUntil(t, 30*time.Second, "the old master follows after the heal", func() error {
		info, _ := selfInfo(isolated)
		if info.Role != peer.RoleReplica || info.Link != "streaming" {
			return fmt.Errorf("old master is %s (%s)", info.Role, info.Link)
		}
		return nil
	})
}

// A lambda may run on a replica: with replica_ok it reads the slot's data
// from the replica's own copy.
func TestRepl_execOnReplicaReadsItsCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("lambdas on a replica")
	}
	c := replCluster(t, 1, 1, func(i int, cfg *peer.Config) {
		cfg.Executors = 2
		cfg.Jail = jail.DefaultConfig()
		cfg.Jail.StateDir = t.TempDir()
	})
	master, replica := c.nodes[0], c.nodes[1]
	cl := dial(t, master, func(cfg *client.Config) { cfg.ReadFromReplicas = true })
	ctx := ctxT(t)
	upload(t, cl, "wc", buildGo(t, "cmd/lambdas/wordcount"))
	if err := cl.Put(ctx, "book", []byte("the cat saw the dog"), client.WithPerm(client.PermR), client.WithMinReplicas(1)); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Exec(ctx, "wc", client.ExecOptions{Node: replica.Addr(), Deps: []client.Dep{{Key: "book", AsFile: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "cat 1\ndog 1\nsaw 1\nthe 2\n"; string(res.Output) != want || res.Node != replica.ID() {
		t.Fatalf("on %s: %q; want %q on %s", res.Node, res.Output, want, replica.ID())
	}
	if s := res.Stats; s == nil || s.BytesRemote != 0 || s.BytesLocal == 0 {
		t.Fatalf("stats %+v: want every byte read locally on the replica", s)
	}
}

// With --replicas 1 and role auto, nodes that join one at a time
// alternate: a replica for the master that lacks one, then a master.
func TestRepl_autoRoleFillsReplicasFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("four nodes")
	}
	c := &testCluster{t: t}
	for i := range 4 {
		cfg := clusterConfig(t, i)
		cfg.Role, cfg.Replicas = peer.RoleAuto, 1
		if i > 0 {
			cfg.Join = []string{c.nodes[0].GossipAddr()}
		}
		c.nodes = append(c.nodes, startPeer(t, cfg))
		want := map[int]string{0: "master", 1: "replica", 2: "master", 3: "replica"}[i]
		waitUntil(t, 30*time.Second, fmt.Sprintf("node-%d becomes a %s", i, want), func() error {
			info, _ := selfInfo(c.nodes[i])
			if info.Role != want {
				return fmt.Errorf("node-%d is %s", i, info.Role)
			}
			if want == "master" && info.Slots == 0 {
				// Nodes join one at a time: a master holds its share first.
				return fmt.Errorf("node-%d owns no slots yet", i)
			}
			return nil
		})
	}
	waitUntil(t, 90*time.Second, "two masters with a replica each", func() error {
		return c.settled([]*peer.Peer{c.nodes[0], c.nodes[2]}, []*peer.Peer{c.nodes[1], c.nodes[3]})
	})
	m1, _ := selfInfo(c.nodes[1])
	m3, _ := selfInfo(c.nodes[3])
	if m1.Master != "node-0" || m3.Master != "node-2" {
		t.Fatalf("replicas follow %s and %s; want node-0 and node-2", m1.Master, m3.Master)
	}
}

// A replica that stays dead is dropped from the table after ReplicaForget,
// and a free node takes its place.
func TestRepl_deadReplicaIsReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("four nodes")
	}
	c := replCluster(t, 1, 1, func(i int, cfg *peer.Config) { cfg.ReplicaForget = time.Second })
	master, gone := c.nodes[0], c.nodes[1]
	shutdown(t, gone)
	cfg := clusterConfig(t, 2)
	cfg.Role, cfg.Join, cfg.ReplicaForget = peer.RoleReplica, []string{master.GossipAddr()}, time.Second
	fresh := startPeer(t, cfg)
	c.nodes = append(c.nodes, fresh)
	waitUntil(t, 30*time.Second, "the fresh node replaces the dead replica", func() error {
		for _, r := range master.Topology().Slots {
			if !slices.Equal(r.Replicas, []string{fresh.ID()}) {
				return fmt.Errorf("replicas of %d-%d: %v", r.Start, r.End, r.Replicas)
			}
		}
		return caughtUp(master, fresh)
	})
}

// sync checks what it is asked: a request without the replica's id is
// refused, an unknown history gets a full copy, a page of the copy
// follows the key order, and a replica refuses to act as a master.
func TestRepl_syncRequests(t *testing.T) {
	c := replCluster(t, 1, 1, nil)
	master, replica := c.nodes[0], c.nodes[1]
	ctx := ctxT(t)
	cl := dial(t, master)
	for i := range 3 {
		if err := cl.Put(ctx, fmt.Sprintf("s%d", i), []byte("v"), client.WithMinReplicas(1)); err != nil {
			t.Fatal(err)
		}
	}
	do := func(p *peer.Peer, req *wire.Request) (*wire.Response, error) {
		return cl.Do(ctx, req, p.Addr())
	}
	var se *client.StatusError
	if _, err := do(master, &wire.Request{Op: wire.OpSync, Offset: 1}); !errors.As(err, &se) || se.Status != wire.StatusBadRequest {
		t.Errorf("sync without node: %v; want BAD_REQUEST", err)
	}
	resp, err := do(master, &wire.Request{Op: wire.OpSync, Node: "stranger", ReplID: "no-such-history", Offset: 2})
	if err != nil || !resp.FullSync || resp.ReplID == "" || resp.Offset == 0 {
		t.Errorf("sync from another history: %+v, %v; want a full copy", resp, err)
	}
	resp, err = do(master, &wire.Request{Op: wire.OpSync, Node: "stranger", Snapshot: true})
	if err != nil || len(resp.Records) != 3 || resp.More || resp.Records[0].Key >= resp.Records[1].Key && slots.KeySlot(resp.Records[0].Key) == slots.KeySlot(resp.Records[1].Key) {
		t.Errorf("snapshot page: %+v, %v; want the 3 records in order", resp, err)
	}
	if _, err := do(replica, &wire.Request{Op: wire.OpSync, Node: "stranger"}); !errors.As(err, &se) || se.Status != wire.StatusUnavailable {
		t.Errorf("sync to a replica: %v; want UNAVAILABLE", err)
	}
	// A stranger's request is not an acknowledgement: min_replicas still
	// waits for the listed replica, which is there.
	if err := cl.Put(ctx, "after", []byte("v"), client.WithMinReplicas(1)); err != nil {
		t.Fatal(err)
	}
}
