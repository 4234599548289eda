package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// Replication with separate lkv agent processes: kill -9 of a master
// under load, the old master's return, and a flapping node.

// replNode is lkv cluster nodes --json with the replication fields.
type replNode struct {
	e2eNode
	Offset    uint64 `json:"offset"`
	Lag       uint64 `json:"lag"`
	LagMillis int64  `json:"lag_ms"`
	Link      string `json:"link"`
}

// startReplCluster starts three masters and three replicas (n1..n6), all
// joining n1, and waits until each master has one replica that streams.
func startReplCluster(t *testing.T, extra ...string) []*clusterAgent {
	t.Helper()
	var as []*clusterAgent
	for i := 1; i <= 6; i++ {
		role := "master"
		if i > 3 {
			role = "replica"
		}
		args := append([]string{"--role", role}, extra...)
		if i > 1 {
			args = append(args, "--join", as[0].gossip)
		}
		as = append(as, startClusterAgent(t, fmt.Sprintf("n%d", i), args...))
	}
	eventually(t, 60*time.Second, "three masters with a streaming replica each", func() error {
		return replSettled(t, as[1], 3, 3)
	})
	return as
}

// replSettled checks, as a sees it, that masters masters share every slot
// and that replicas replicas stream from distinct masters.
func replSettled(t *testing.T, a *clusterAgent, masters, replicas int) error {
	var nodes []replNode
	if err := a.query(t, &nodes, "cluster", "nodes", "--json"); err != nil {
		return err
	}
	var ranges []e2eSlots
	if err := a.query(t, &ranges, "cluster", "slots", "--json"); err != nil {
		return err
	}
	counts, err := slotCounts(ranges)
	if err != nil {
		return err
	}
	if len(counts) != masters {
		return fmt.Errorf("slot owners %v", counts)
	}
	for m, n := range counts {
		if n < slots.NumSlots/masters-1 || n > slots.NumSlots/masters+1 {
			return fmt.Errorf("%s owns %d slots", m, n)
		}
	}
	followed := map[string]bool{}
	for _, n := range nodes {
		if n.Role == "replica" && n.State == "alive" {
			if n.Link != "streaming" || n.Lag != 0 {
				return fmt.Errorf("replica %s: link %q lag %d", n.ID, n.Link, n.Lag)
			}
			followed[n.Master] = true
		}
	}
	if len(followed) != replicas {
		return fmt.Errorf("replicas follow %v", followed)
	}
	return nil
}

// loadWriter puts keys with min_replicas until stopped, remembering the
// acknowledged ones.
type loadWriter struct {
	acked sync.Map
	n     atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startLoad(c *client.Client, prefix string, minReplicas, workers int) *loadWriter {
	w := &loadWriter{stop: make(chan struct{})}
	for g := range workers {
		w.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				k := fmt.Sprintf("%s-%d-%d", prefix, g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.Put(ctx, k, []byte(k), client.WithMinReplicas(minReplicas))
				cancel()
				if err == nil {
					w.acked.Store(k, true)
					w.n.Add(1)
				} else {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return w
}

func (w *loadWriter) finish() { close(w.stop); w.wg.Wait() }

// lost counts the acknowledged keys that c cannot read back.
func (w *loadWriter) lost(t *testing.T, c *client.Client) (lost int, of int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.acked.Range(func(k, _ any) bool {
		v, err := c.Get(ctx, k.(string))
		if err != nil || string(v) != k.(string) {
			lost++
		}
		return true
	})
	return lost, w.n.Load()
}

// firstWriteAfter returns how long after since a put to a slot of dead
// succeeds.
func firstWriteAfter(t *testing.T, c *client.Client, ranges []e2eSlots, dead string, since time.Time) time.Duration {
	t.Helper()
	var key string
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("probe-%d", i); ownerOf(ranges, k) == dead {
			key = k
		}
	}
	for time.Since(since) < 60*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Put(ctx, key, []byte("x"))
		cancel()
		if err == nil {
			return time.Since(since)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no write to a slot of %s within 60s", dead)
	return 0
}

func TestE2E_repl_killMasterLosesNoAcknowledgedWrite(t *testing.T) {
	skipIfShort(t)
	as := startReplCluster(t)
	victim := as[0]
	var ranges []e2eSlots
	if err := as[1].query(t, &ranges, "cluster", "slots", "--json"); err != nil {
		t.Fatal(err)
	}
	c := dialClient(t, as[1])
	safe := startLoad(c, "safe", 1, 4)
	async := startLoad(c, "async", 0, 4)
	time.Sleep(time.Second)

	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	took := firstWriteAfter(t, c, ranges, victim.id, killed)
	t.Logf("failover: first write to a slot of the killed master %v after kill -9", took.Round(10*time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	safe.finish()
	async.finish()

	if lost, of := safe.lost(t, c); lost > 0 || of == 0 {
		t.Errorf("min_replicas 1: %d of %d acknowledged writes lost", lost, of)
	} else {
		t.Logf("min_replicas 1: all %d acknowledged writes readable", of)
	}
	lost, of := async.lost(t, c)
	t.Logf("min_replicas 0: %d of %d acknowledged writes lost (asynchronous replication)", lost, of)

	// The old master comes back on its data directory with the command it
	// was first started with (no --join: it started the cluster). It
	// rejoins the members it last saw, takes no write as a master, sees
	// the higher epoch, follows its successor and ends with the same data.
	back := startClusterAgent(t, victim.id, "--role", "master", "--data-dir", victim.dataDir(t),
		"--gossip-port", strconv.Itoa(victim.gossipPort(t)))
	var oldKey string
	for i := 0; oldKey == ""; i++ {
		if k := fmt.Sprintf("stale-%d", i); ownerOf(ranges, k) == victim.id {
			oldKey = k
		}
	}
	for range 20 {
		_, err := c.Do(context.Background(), &wire.Request{Op: wire.OpPut, Key: oldKey, Value: []byte("stale"), Perm: 3}, back.addr)
		var se *client.StatusError
		if err == nil || !errors.As(err, &se) || (se.Status != wire.StatusTryAgain && se.Status != wire.StatusMoved) {
			t.Fatalf("the old master, just back, answered a put of its old slot with %v; want TRYAGAIN or MOVED", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	var self replNode
	eventually(t, 30*time.Second, "the old master follows its successor", func() error {
		var nodes []replNode
		if err := back.query(t, &nodes, "cluster", "nodes", "--json"); err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ID == victim.id {
				self = n
			}
		}
		if self.Role != "replica" || self.Link != "streaming" || self.Lag != 0 {
			return fmt.Errorf("old master: %+v", self)
		}
		return nil
	})
	// Same writes applied: same offset as its master, and every key of
	// the master's slots reads the same on both.
	var nodes []replNode
	if err := as[1].query(t, &nodes, "cluster", "nodes", "--json"); err != nil {
		t.Fatal(err)
	}
	var masterOff uint64
	var masterAddr string
	for _, n := range nodes {
		if n.ID == self.Master {
			masterOff, masterAddr = n.Offset, n.Addr
		}
	}
	if self.Offset != masterOff {
		t.Errorf("old master at offset %d, its master %s at %d", self.Offset, self.Master, masterOff)
	}
	compared := 0
	ctx := context.Background()
	for _, w := range []*loadWriter{safe, async} {
		w.acked.Range(func(k, _ any) bool {
			key := k.(string)
			m, err1 := c.Do(ctx, &wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: true}, masterAddr)
			r, err2 := c.Do(ctx, &wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: true}, back.addr)
			var se *client.StatusError
			if errors.As(err1, &se) && se.Status == wire.StatusMoved {
				return true // another master's key
			}
			if (err1 == nil) != (err2 == nil) || (err1 == nil && string(m.Value) != string(r.Value)) {
				t.Errorf("%s: master %v %v, old master %v %v", key, m, err1, r, err2)
				return false
			}
			compared++
			return true
		})
	}
	if compared == 0 {
		t.Error("no key compared")
	}
	t.Logf("old master holds the same %d keys as its successor", compared)
}

// A node stopped for less than the failure detection time, a few times
// in a row, causes no failover.
func TestE2E_repl_flappingNodeCausesNoFailover(t *testing.T) {
	skipIfShort(t)
	as := startReplCluster(t)
	var before []e2eSlots
	if err := as[1].query(t, &before, "cluster", "slots", "--json"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		as[0].cmd.Process.Signal(syscall.SIGSTOP)
		time.Sleep(time.Second)
		as[0].cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(time.Second)
	}
	time.Sleep(3 * time.Second)
	var after []e2eSlots
	if err := as[1].query(t, &after, "cluster", "slots", "--json"); err != nil {
		t.Fatal(err)
	}
	owners := func(rs []e2eSlots) map[string]int { m, _ := slotCounts(rs); return m }
	if b, a := owners(before), owners(after); fmt.Sprint(b) != fmt.Sprint(a) {
		t.Fatalf("slot owners changed after a flapping node: %v -> %v", b, a)
	}
	if err := replSettled(t, as[1], 3, 3); err != nil {
		t.Fatalf("after flapping: %v", err)
	}
}

// dataDir is the data directory a was started with (the last one given).
func (a *clusterAgent) dataDir(t *testing.T) string {
	t.Helper()
	dir := ""
	for i, arg := range a.cmd.Args {
		if arg == "--data-dir" && i+1 < len(a.cmd.Args) {
			dir = a.cmd.Args[i+1]
		}
	}
	if dir == "" {
		t.Fatalf("%s: no --data-dir", a.id)
	}
	return dir
}

// gossipPort is the port of a's gossip address.
func (a *clusterAgent) gossipPort(t *testing.T) int {
	t.Helper()
	_, p, err := net.SplitHostPort(a.gossip)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
