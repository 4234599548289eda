package membership_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/membership"
)

// testLogger routes a node's logs to t.Log, prefixed with the test name.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   t.Name(),
		Output: testWriter{t},
		Level:  hclog.Info,
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// testNode is a started Membership with what the test observes of it.
type testNode struct {
	*membership.Membership
	cfg    *membership.Config
	state  *fakeState
	events *eventLog
	msgs   chan message
}

type message struct {
	from string
	msg  []byte
}

// testConfig returns a config for node-<i> on loopback with test timers,
// a fake State and a message channel.
func testConfig(t testing.TB, i int) (*membership.Config, *fakeState, chan message) {
	cfg := membership.DefaultTestConfig()
	cfg.NodeID = fmt.Sprintf("node-%d", i)
	cfg.Logger = testLogger(t).Named(cfg.NodeID)
	cfg.Meta = membership.Meta{ClientAddr: fmt.Sprintf("127.0.0.1:%d", 7000+i), Role: "master", Version: "test"}
	st := &fakeState{}
	cfg.State = st
	msgs := make(chan message, 100)
	cfg.OnMessage = func(from string, msg []byte) {
		select {
		case msgs <- message{from, msg}:
		default:
		}
	}
	return cfg, st, msgs
}

// startNode starts node-<i>, joined to the given seeds, after mod changes
// its config. It is shut down when the test ends.
func startNode(t testing.TB, i int, seeds []string, mod ...func(*membership.Config)) *testNode {
	t.Helper()
	cfg, st, msgs := testConfig(t, i)
	cfg.Seeds = seeds
	for _, f := range mod {
		f(cfg)
	}
	return startWith(t, cfg, st, msgs)
}

func startWith(t testing.TB, cfg *membership.Config, st *fakeState, msgs chan message) *testNode {
	t.Helper()
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n := &testNode{Membership: m, cfg: cfg, state: st, events: newEventLog(m.Events()), msgs: msgs}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start %s: %v", cfg.NodeID, err)
	}
	t.Cleanup(func() {
		if d := n.Stats().MessagesDropped; d != 0 {
			t.Errorf("%s dropped %d malformed messages; want 0", cfg.NodeID, d)
		}
		shutdown(t, n)
	})
	return n
}

// shutdown shuts n down without a Leave and checks that it stopped.
func shutdown(t testing.TB, n *testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown %s: %v", n.NodeID(), err)
	}
	n.events.wait()
}

// startCluster starts n nodes, node i joining node i-1, and waits until
// all see all.
func startCluster(t testing.TB, n int, mod ...func(*membership.Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, 0, n)
	for i := range n {
		var seeds []string
		if i > 0 {
			seeds = []string{nodes[i-1].LocalAddr()}
		}
		nodes = append(nodes, startNode(t, i, seeds, mod...))
	}
	waitAlive(t, nodes, n)
	return nodes
}

// waitUntil retries cond every 25 ms for up to 7 s (serf's retry).
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitUntilFor(t, 7*time.Second, what, cond)
}

func waitUntilFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitAlive waits until every node sees want alive members.
func waitAlive(t testing.TB, nodes []*testNode, want int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d alive members everywhere", want), func() bool {
		for _, n := range nodes {
			if len(aliveIDs(n)) != want {
				return false
			}
		}
		return true
	})
}

// aliveIDs returns the ids n sees alive or leaving.
func aliveIDs(n *testNode) []string {
	var ids []string
	for _, mem := range n.Members() {
		if !mem.State.Gone() {
			ids = append(ids, mem.ID)
		}
	}
	return ids
}

// stateOf returns what n sees of member id.
func stateOf(n *testNode, id string) (membership.MemberState, bool) {
	mem, ok := n.Member(id)
	return mem.State, ok
}

// eventLog records a node's events until the channel closes.
type eventLog struct {
	mu     sync.Mutex
	events []timedEvent // guarded by mu
	done   chan struct{}
}

type timedEvent struct {
	membership.Event
	at time.Time
}

func newEventLog(ch <-chan membership.Event) *eventLog {
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, timedEvent{ev, time.Now()})
			l.mu.Unlock()
		}
	}()
	return l
}

// wait waits until the channel closed (after Shutdown).
func (l *eventLog) wait() {
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
		panic("events channel not closed 5s after Shutdown")
	}
}

// find returns the first event of kind for member id.
func (l *eventLog) find(kind membership.EventKind, id string) (timedEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if ev.Kind == kind && ev.Member.ID == id {
			return ev, true
		}
	}
	return timedEvent{}, false
}

// fakeState is a State holding one versioned blob "<epoch>:<data>"; a
// merge keeps the higher epoch, like the slot table.
type fakeState struct {
	mu     sync.Mutex
	epoch  int    // guarded by mu
	data   []byte // guarded by mu
	merges int    // guarded by mu: MergeRemoteState calls
}

func (s *fakeState) set(epoch int, data []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch, s.data = epoch, data
	return s.encodeLocked()
}

func (s *fakeState) encodeLocked() []byte {
	return append([]byte(fmt.Sprintf("%d:", s.epoch)), s.data...)
}

func (s *fakeState) get() (int, []byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, s.data, s.merges
}

func (s *fakeState) LocalState() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.encodeLocked()
}

func (s *fakeState) MergeRemoteState(buf []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merges++
	i := bytes.IndexByte(buf, ':')
	var epoch int
	if _, err := fmt.Sscanf(string(buf[:max(i, 0)]), "%d", &epoch); err != nil {
		return
	}
	if epoch > s.epoch {
		s.epoch, s.data = epoch, append([]byte(nil), buf[i+1:]...)
	}
}

// checkNoLeaks fails the test if goroutines of memberlist or of this
// package are still running 5 s after the test's cleanups.
func checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		var stacks string
		deadline := time.Now().Add(5 * time.Second)
		for {
			stacks = ourGoroutines()
			if stacks == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left after Shutdown:\n%s", stacks)
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	})
}

// ourGoroutines returns the stacks that run memberlist or membership code.
func ourGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "hashicorp/memberlist.") || strings.Contains(g, "lambdakv/membership.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
