package gobuild_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/internal/gobuild"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// startNodes starts n nodes on loopback with the default sandbox limits,
// node i joining through node i-1, and waits until they share the slots.
func startNodes(t *testing.T, n int) []*peer.Peer {
	t.Helper()
	var nodes []*peer.Peer
	for i := range n {
		cfg := peer.DefaultConfig()
		cfg.DataDir = t.TempDir()
		cfg.NodeID = fmt.Sprintf("node-%d", i)
		cfg.Port, cfg.HTTPPort, cfg.GossipPort = 0, 0, 0
		cfg.Membership = membership.DefaultTestConfig()
		cfg.Election = election.DefaultConfig()
		cfg.RebalanceInterval = 100 * time.Millisecond
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: cfg.NodeID, Output: testWriter{t}, Level: hclog.Warn})
		cfg.Store = store.DefaultOptions()
		cfg.Store.Sync = store.SyncNone
		// Compiling runtime needs more than the default 10 s of CPU on a
		// busy machine.
		cfg.Jail = jail.DefaultConfig()
		cfg.Jail.Max = jail.Limits{Wall: 5 * time.Minute, CPU: 2 * time.Minute, Memory: 2 << 30, FileSize: 1 << 30, OpenFiles: 1024}
		if i > 0 {
			cfg.Join = []string{nodes[i-1].GossipAddr()}
		}
		p, err := peer.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = p.Shutdown(ctx)
		})
		nodes = append(nodes, p)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !shared(nodes) {
		if time.Now().After(deadline) {
			t.Fatalf("the %d nodes did not share the slots within 20s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nodes
}

// shared says whether every node sees all slots covered, by all nodes.
func shared(nodes []*peer.Peer) bool {
	for _, p := range nodes {
		owners := map[string]bool{}
		covered := 0
		for _, r := range p.Topology().Slots {
			covered += r.End - r.Start + 1
			owners[r.Master] = true
		}
		if covered != slots.NumSlots || len(owners) != len(nodes) {
			return false
		}
	}
	return true
}

// TestCluster_hello builds the hello program through two nodes' sandboxes
// and compares every archive and the binary with go's own build.
func TestCluster_hello(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hello program through a cluster (-short)")
	}
	b := exactHello(t)
	nodes := startNodes(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{nodes[0].Addr()}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	up, err := gobuild.UploadFiles(ctx, c, b.Uploads)
	if err != nil {
		t.Fatalf("UploadFiles: %v", err)
	}
	t.Logf("uploaded %d keys (%d bytes) in %v", up.Stored, up.Bytes, up.Wall)
	rep, err := client.RunGraph(ctx, c, &b.Graph, client.GraphOptions{})
	if err != nil {
		t.Fatalf("RunGraph: %v", err)
	}
	ran := map[string]int{}
	for _, n := range rep.Nodes {
		ran[n.ID] = n.Thunks
	}
	t.Logf("%d thunks in %v, by node: %v; fetch %v run %v store %v", rep.Done, rep.Wall, ran,
		rep.Totals.Fetch, rep.Totals.Run, rep.Totals.Store)
	if n := checkIdentical(t, b, func(k string) ([]byte, error) { return c.Get(ctx, k) }); n != len(b.Work) {
		t.Errorf("compared %d outputs; want all %d", n, len(b.Work))
	}
	exe, err := c.Get(ctx, b.Binary)
	if err != nil {
		t.Fatal(err)
	}
	runBinary(t, exe)

	// Once built, every output is in place and nothing is left to run.
	have, err := gobuild.Existing(ctx, c, gobuild.OutputKeys(&b.Graph))
	if err != nil {
		t.Fatal(err)
	}
	if p := gobuild.Pending(&b.Graph, have); p != nil {
		t.Errorf("%d thunks still pending after the build, %s first", len(p.Thunks), p.Thunks[0].ID)
	}
}
