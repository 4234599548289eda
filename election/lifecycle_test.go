package election_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/election/electiontest"
)

// TestElector_Shutdown_noLeak runs a small cluster on real timers (short
// ones) and checks that Shutdown leaves no goroutine behind.
func TestElector_Shutdown_noLeak(t *testing.T) {
	checkNoLeak(t)
	net := electiontest.NewNetwork(1)
	ids := nodes(3)
	els := make([]*election.Elector, len(ids))
	for i, id := range ids {
		cfg := election.DefaultConfig()
		cfg.ID, cfg.Transport, cfg.Logger = id, net.Transport(id), testLogger(t, id)
		cfg.HeartbeatInterval = 5 * time.Millisecond
		cfg.LeaderTimeout = 30 * time.Millisecond
		cfg.AnswerTimeout = 10 * time.Millisecond
		cfg.CoordinatorTimeout = 20 * time.Millisecond
		el, err := election.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		el.SetMembers(ids, ids)
		net.Register(id, el)
		els[i] = el
	}
	for _, el := range els {
		if err := el.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !els[2].CanAct() {
		if time.Now().After(deadline) {
			t.Fatalf("n3 not acting after 5s: %+v", els[2].Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, el := range els {
		if err := el.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := el.Shutdown(ctx); err != nil {
			t.Errorf("second Shutdown = %v; want nil", err)
		}
		if st := el.Status(); st.State != election.Shutdown || el.CanAct() {
			t.Errorf("after Shutdown: state %v canAct %v; want shutdown, false", st.State, el.CanAct())
		}
	}
}

func newSolo(t *testing.T, modify func(*election.Config)) *election.Elector {
	t.Helper()
	cfg := election.DefaultConfig()
	cfg.ID = "solo"
	cfg.Transport = electiontest.NewNetwork(1).Transport("solo")
	cfg.Logger = testLogger(t, "solo")
	if modify != nil {
		modify(cfg)
	}
	el, err := election.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestElector_Start_errors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		el := newSolo(t, nil)
		if err := el.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := el.Start(t.Context()); !errors.Is(err, election.ErrStarted) {
			t.Errorf("second Start = %v; want ErrStarted", err)
		}
		if err := el.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := el.Start(t.Context()); !errors.Is(err, election.ErrShutdown) {
			t.Errorf("Start after Shutdown = %v; want ErrShutdown", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := newSolo(t, nil).Start(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Start(canceled) = %v; want context.Canceled", err)
		}
	})
}

func TestElector_Shutdown_neverStarted(t *testing.T) {
	el := newSolo(t, nil)
	if err := el.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-el.Events(); ok {
		t.Error("Events not closed after Shutdown")
	}
	select {
	case <-el.ShutdownCh():
	default:
		t.Error("ShutdownCh not closed")
	}
	if st := el.Status(); st.State != election.Shutdown {
		t.Errorf("state %v; want shutdown", st.State)
	}
	el.HandleMessage(election.Message{Kind: election.KindElection, From: "x"}) // must not block
	el.SetMembers([]string{"x"}, nil)                                          // must not block
}

// TestElector_HandleMessage_full checks that a full queue drops messages
// rather than block, before Start as after.
func TestElector_HandleMessage_full(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		el := newSolo(t, func(c *election.Config) { c.MessageQueue = 2 })
		for i := range 100 {
			el.HandleMessage(election.Message{Kind: election.KindAnswer, From: fmt.Sprint("n", i)})
		}
		el.HandleMessage(election.Message{}) // invalid: dropped
		if err := el.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(time.Second)
		if !el.CanAct() {
			t.Errorf("solo node not acting after 1s: %+v", el.Status())
		}
		if err := el.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestElector_Events_dropOldest checks that an unread Events channel never
// stalls the run loop and keeps the newest events.
func TestElector_Events_dropOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		el := newSolo(t, func(c *election.Config) { c.EventBuffer = 2 })
		el.SetMembers([]string{"solo"}, []string{"solo", "a", "b"}) // no majority
		if err := el.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(time.Second)
		for range 5 { // majority lost and regained, over and over
			el.SetMembers([]string{"solo"}, nil)
			settle(time.Second)
			el.SetMembers([]string{"solo"}, []string{"solo", "a", "b"})
			settle(time.Second)
		}
		el.SetMembers([]string{"solo"}, nil)
		settle(time.Second)
		if !el.CanAct() {
			t.Fatalf("not acting: %+v", el.Status())
		}
		if err := el.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		var got []election.EventType
		for ev := range el.Events() {
			got = append(got, ev.Type)
		}
		// The last two: shutting down as coordinator ends acting.
		if len(got) != 2 || got[1] != election.EventNotActing {
			t.Errorf("events %v; want the 2 newest, ending in not-acting", got)
		}
	})
}

func TestElector_events(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(3)
		c := newCluster(t, 1, nil, ids...)
		c.start(ids...)
		c.waitAgreement(2*time.Second, ids...)
		c.kill("n3")
		c.advance(time.Second)
		c.setLive(ids[:2], ids[:2]...)
		c.waitAgreement(2*time.Second, ids[:2]...)
		c.setLive(ids[1:2], "n2") // n2 alone of 3: majority lost
		c.advance(time.Second)
		c.setLive(ids[:2], "n2")
		c.advance(time.Second)

		var types []election.EventType
		for _, ev := range c.eventsOf("n2") {
			types = append(types, ev.Type)
		}
		want := []election.EventType{
			election.EventCoordinatorChanged, // follows n3
			election.EventCoordinatorLost,    // n3 silent
			election.EventBecameCoordinator,
			election.EventActing,
			election.EventMajorityLost,
			election.EventNotActing,
			election.EventMajorityRegained,
			election.EventActing,
		}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Errorf("n2 events:\n got %v\nwant %v", types, want)
		}
	})
}

func TestState_String(t *testing.T) {
	for s, want := range map[election.State]string{
		election.Follower: "follower", election.Electing: "electing", election.Waiting: "waiting",
		election.Leader: "leader", election.Shutdown: "shutdown", 9: "State(9)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q; want %q", uint8(s), got, want)
		}
	}
	for e := election.EventBecameCoordinator; e <= election.EventNotActing+1; e++ {
		if e.String() == "" {
			t.Errorf("EventType(%d).String() empty", e)
		}
	}
}
