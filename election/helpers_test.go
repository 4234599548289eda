package election_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/election/electiontest"
)

// testLogger routes hclog output to t.Log, prefixed with the node id.
func testLogger(t *testing.T, id string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   id,
		Level:  hclog.Debug,
		Output: testWriter{t},
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// cluster is an in-memory set of electors. Inside a synctest bubble, time
// is fake: settle advances it.
type cluster struct {
	t       *testing.T
	net     *electiontest.Network
	ids     []string // every master ever known, the "known" set
	cfg     func(*election.Config)
	nodes   map[string]*election.Elector
	lossy   bool // messages are lost: two nodes may briefly act at once
	doubles int  // samples in which more than one node could act

	mu     sync.Mutex                  // guards events
	events map[string][]election.Event // per id, across restarts
}

// newCluster creates (but does not start) an elector per id; all are
// known, all live. Cleanup shuts every node down.
func newCluster(t *testing.T, seed uint64, cfg func(*election.Config), ids ...string) *cluster {
	c := &cluster{
		t: t, net: electiontest.NewNetwork(seed), ids: ids, cfg: cfg,
		nodes:  make(map[string]*election.Elector),
		events: make(map[string][]election.Event),
	}
	for _, id := range ids {
		c.add(id)
	}
	t.Cleanup(func() {
		for _, id := range slices.Sorted(maps.Keys(c.nodes)) {
			if err := c.nodes[id].Shutdown(context.Background()); err != nil {
				t.Errorf("shutdown %s: %v", id, err)
			}
		}
	})
	return c
}

// add creates a fresh elector for id (replacing a dead one), registers it
// and drains its events into c.events.
func (c *cluster) add(id string) *election.Elector {
	c.t.Helper()
	cfg := election.DefaultConfig()
	cfg.ID = id
	cfg.Transport = c.net.Transport(id)
	cfg.Logger = testLogger(c.t, id)
	if c.cfg != nil {
		c.cfg(cfg)
	}
	el, err := election.New(cfg)
	if err != nil {
		c.t.Fatalf("New(%s): %v", id, err)
	}
	el.SetMembers(c.ids, c.ids)
	c.nodes[id] = el
	c.net.Register(id, el)
	go func() {
		for ev := range el.Events() {
			c.mu.Lock()
			c.events[id] = append(c.events[id], ev)
			c.mu.Unlock()
		}
	}()
	return el
}

func (c *cluster) start(ids ...string) {
	c.t.Helper()
	for _, id := range ids {
		if err := c.nodes[id].Start(context.Background()); err != nil {
			c.t.Fatalf("Start(%s): %v", id, err)
		}
	}
}

// kill stops id as a crash would: it vanishes from the network and stops
// without a word. Membership has not noticed yet; see setLive.
func (c *cluster) kill(id string) {
	c.t.Helper()
	c.net.Unregister(id)
	if err := c.nodes[id].Shutdown(context.Background()); err != nil {
		c.t.Fatalf("Shutdown(%s): %v", id, err)
	}
}

// setLive tells each node in on that live are the live masters (and every
// id the known ones), as membership would.
func (c *cluster) setLive(live []string, on ...string) {
	for _, id := range on {
		c.nodes[id].SetMembers(live, c.ids)
	}
}

// settle advances fake time by d and lets every goroutine run.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// advance advances fake time by d in 10ms steps, checking after each that
// at most one node can act (unless c.lossy).
func (c *cluster) advance(d time.Duration) {
	c.t.Helper()
	for waited := time.Duration(0); waited < d; waited += 10 * time.Millisecond {
		settle(min(10*time.Millisecond, d-waited))
		c.checkOneActing()
	}
}

// checkOneActing fails if more than one node can act (in strict clusters).
func (c *cluster) checkOneActing() {
	c.t.Helper()
	var acting []string
	for _, id := range slices.Sorted(maps.Keys(c.nodes)) {
		if c.nodes[id].CanAct() {
			acting = append(acting, id)
		}
	}
	if len(acting) > 1 {
		c.doubles++
		if !c.lossy {
			c.t.Fatalf("%v can all act at once\n%s", acting, c.dump(slices.Sorted(maps.Keys(c.nodes))...))
		}
	}
}

// agreement reports the coordinator and epoch that every node in ids
// follows, if they all follow the same one, it is among ids, and it is the
// only Leader among them.
func (c *cluster) agreement(ids ...string) (string, uint64, bool) {
	var coord string
	var epoch uint64
	leaders := 0
	for i, id := range ids {
		st := c.nodes[id].Status()
		if st.State == election.Leader {
			leaders++
		}
		if i == 0 {
			coord, epoch = st.Coordinator, st.Epoch
		}
		if st.Coordinator == "" || st.Coordinator != coord || st.Epoch != epoch {
			return "", 0, false
		}
	}
	if leaders != 1 || !slices.Contains(ids, coord) || c.nodes[coord].Status().State != election.Leader {
		return "", 0, false
	}
	return coord, epoch, true
}

// waitAgreement advances fake time in small steps until ids agree, for at
// most within; it fails the test otherwise.
func (c *cluster) waitAgreement(within time.Duration, ids ...string) (string, uint64) {
	c.t.Helper()
	for waited := time.Duration(0); waited <= within; waited += 10 * time.Millisecond {
		if coord, epoch, ok := c.agreement(ids...); ok {
			return coord, epoch
		}
		c.advance(10 * time.Millisecond)
	}
	c.t.Fatalf("no agreement among %v within %v:\n%s", ids, within, c.dump(ids...))
	return "", 0
}

func (c *cluster) dump(ids ...string) string {
	var b strings.Builder
	for _, id := range ids {
		st := c.nodes[id].Status()
		fmt.Fprintf(&b, "  %s: state=%v coordinator=%q epoch=%d max=%d majority=%v live=%v\n",
			id, st.State, st.Coordinator, st.Epoch, st.MaxEpoch, st.HasMajority, st.Live)
	}
	return b.String()
}

// eventsOf returns a copy of the events id has reported so far.
func (c *cluster) eventsOf(id string) []election.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events[id])
}

// claims returns every EventBecameCoordinator across all nodes, in the
// order each node reported them, as "id@epoch".
func (c *cluster) claims() map[string][]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]uint64)
	for id, evs := range c.events {
		for _, ev := range evs {
			if ev.Type == election.EventBecameCoordinator {
				out[id] = append(out[id], ev.Epoch)
			}
		}
	}
	return out
}

// checkMonotonic fails if the epoch any node followed, as reported by its
// events, ever went down.
func (c *cluster) checkMonotonic() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, evs := range c.events {
		var last uint64
		for i, ev := range evs {
			if ev.Coordinator == "" {
				continue
			}
			if ev.Epoch < last {
				c.t.Errorf("%s: event %d %v at epoch %d after epoch %d; want non-decreasing", id, i, ev.Type, ev.Epoch, last)
			}
			last = ev.Epoch
		}
	}
}

// checkNoLeak fails the test if, after it, more goroutines run than before
// (for tests outside synctest, which checks this itself).
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func nodes(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i+1)
	}
	return ids
}
