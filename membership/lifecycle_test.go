package membership_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/membership"
)

// Shutdown stops every goroutine (memberlist's and ours), closes Events,
// and is idempotent; calls after it fail with ErrShutdown.
func TestMembership_Shutdown_noLeaks(t *testing.T) {
	checkNoLeaks(t)
	nodes := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nodes[0].Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	for _, n := range nodes {
		shutdown(t, n)
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
		if _, ok := <-n.Events(); ok {
			t.Error("Events not closed after Shutdown")
		}
	}
	if _, err := nodes[1].Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, membership.ErrShutdown) {
		t.Errorf("Join after Shutdown = %v; want ErrShutdown", err)
	}
	if err := nodes[1].Start(ctx); !errors.Is(err, membership.ErrShutdown) {
		t.Errorf("Start after Shutdown = %v; want ErrShutdown", err)
	}
	if err := nodes[1].Leave(ctx); !errors.Is(err, membership.ErrShutdown) {
		t.Errorf("Leave after Shutdown = %v; want ErrShutdown", err)
	}
}

// Calls before Start fail with ErrNotStarted; New starts nothing.
func TestMembership_New_startsNothing(t *testing.T) {
	checkNoLeaks(t)
	cfg, _, _ := testConfig(t, 0)
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s := ourGoroutines(); s != "" {
		t.Errorf("New started goroutines:\n%s", s)
	}
	ctx := context.Background()
	if _, err := m.Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, membership.ErrNotStarted) {
		t.Errorf("Join = %v; want ErrNotStarted", err)
	}
	if err := m.Broadcast([]byte("x")); !errors.Is(err, membership.ErrNotStarted) {
		t.Errorf("Broadcast = %v; want ErrNotStarted", err)
	}
	if err := m.SendTo("node-1", []byte("x")); !errors.Is(err, membership.ErrNotStarted) {
		t.Errorf("SendTo = %v; want ErrNotStarted", err)
	}
	if err := m.Leave(ctx); !errors.Is(err, membership.ErrNotStarted) {
		t.Errorf("Leave = %v; want ErrNotStarted", err)
	}
	if err := m.UpdateMeta(ctx, membership.Meta{Role: "replica"}); err != nil {
		t.Errorf("UpdateMeta before Start = %v; want nil", err)
	}
	if m.LocalAddr() != "" || len(m.Members()) != 0 {
		t.Errorf("before Start: LocalAddr %q, %d members; want none", m.LocalAddr(), len(m.Members()))
	}
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := m.Start(ctx); !errors.Is(err, membership.ErrStarted) {
		t.Errorf("second Start = %v; want ErrStarted", err)
	}
	if mem, ok := m.Member("node-0"); !ok || mem.Meta.Role != "replica" {
		t.Errorf("self %+v (%v); want the meta set before Start", mem, ok)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown without Start closes Events too.
	m2, _ := membership.New(cfg)
	if err := m2.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	if _, ok := <-m2.Events(); ok {
		t.Error("Events not closed after Shutdown")
	}
}

// A port already taken fails Start with an error naming it.
func TestMembership_Start_portInUse(t *testing.T) {
	n := startNode(t, 0, nil)
	_, port, _ := strings.Cut(n.LocalAddr(), ":")
	cfg, _, _ := testConfig(t, 1)
	fmt.Sscan(port, &cfg.BindPort)
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer m.Shutdown(context.Background())
	if err := m.Start(context.Background()); err == nil || !strings.Contains(err.Error(), port) {
		t.Errorf("Start on a used port = %v; want an error naming port %s", err, port)
	}
}
