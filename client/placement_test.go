package client

import (
	"context"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

func TestPlacement_heuristics(t *testing.T) {
	nodes := []NodeLoad{{ID: "a", InFlight: 2}, {ID: "b", InFlight: 0}, {ID: "c", InFlight: 1}}
	deps := []DepInfo{
		{Key: "small1", Size: 10, Holders: []string{"a"}},
		{Key: "small2", Size: 10, Holders: []string{"a"}},
		{Key: "medium", Size: 100, Holders: []string{"c"}},
		{Key: "big", Size: 1000, Holders: []string{"b"}},
		{Key: "unknown", Size: -1, Holders: []string{"c"}},
	}
	tests := []struct {
		name string
		p    Placement
		deps []DepInfo
		want string
	}{
		{"work-stealing takes the least loaded", WorkStealing, deps, "b"},
		{"most-objects counts deps", MostObjects, deps, "a"}, // a: 2, c: 2 (tie → less loaded c)... see below
		{"most-bytes weighs sizes", MostBytes, deps, "b"},
		{"largest-object follows the biggest", LargestObject, deps, "b"},
		{"most-bytes without data: least loaded", MostBytes, nil, "b"},
		{"most-bytes prefers known bytes", MostBytes, deps[:3], "c"},
	}
	// a and c hold two deps each; c is less loaded, so it wins the tie.
	tests[1].want = "c"
	for _, tt := range tests {
		got := nodes[tt.p.Place(&PlacementContext{Nodes: nodes, Deps: tt.deps})].ID
		if got != tt.want {
			t.Errorf("%s: placed on %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestPlacementByName(t *testing.T) {
	for _, name := range []string{"work-stealing", "most-objects", "most-bytes", "largest-object"} {
		if _, err := PlacementByName(name); err != nil {
			t.Errorf("PlacementByName(%q): %v", name, err)
		}
	}
	if _, err := PlacementByName("random"); err == nil {
		t.Errorf("PlacementByName(random) succeeded")
	}
}

// The client places an execution where most of its dependency bytes are,
// learns that the node it ran on now caches them, and skips nodes at
// capacity or that store only.
func TestClient_Exec_placement(t *testing.T) {
	var a, b, s *fakeNode
	handler := func(id string) func(*wire.Request) *wire.Response {
		return func(req *wire.Request) *wire.Response {
			switch req.Op {
			case wire.OpTopology:
				// Slots 0-8191 on a, the rest on b; s stores only.
				return &wire.Response{Topology: &wire.Topology{Nodes: []wire.NodeInfo{
					{ID: "a", Addr: a.addr(), Executors: 2, Pipeline: 2, State: "alive"},
					{ID: "b", Addr: b.addr(), Executors: 2, Pipeline: 2, State: "alive"},
					{ID: "s", Addr: s.addr(), Executors: 0, State: "alive"},
				}, Slots: []wire.SlotRange{
					{Start: 0, End: 8191, Master: "a", Epoch: 1},
					{Start: 8192, End: slots.NumSlots - 1, Master: "b", Epoch: 1},
				}}}
			case wire.OpExecute:
				return &wire.Response{ExecNode: id, Output: []byte(id)}
			case wire.OpStat:
				return &wire.Response{Stats: []wire.StatEntry{{Key: req.Keys[0], Found: true, Size: 5000}}}
			}
			return &wire.Response{}
		}
	}
	a, b, s = newFakeNode(t, handler("a")), newFakeNode(t, handler("b")), newFakeNode(t, handler("s"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Seeds: []string{a.addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	onA, onB := keyOn(c, "a"), keyOn(c, "b")
	// Two small deps on a, one big one on b: most-bytes goes to b.
	if err := c.Put(ctx, "{"+onA+"}1", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "{"+onA+"}2", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, onB); err != nil { // learns its size, 5000
		t.Fatal(err)
	}
	deps := []Dep{{Key: "{" + onA + "}1"}, {Key: "{" + onA + "}2"}, {Key: onB}}
	res, err := c.Exec(ctx, "lambda", ExecOptions{Deps: deps})
	if err != nil || res.Node != "b" {
		t.Fatalf("most-bytes: ran on %v, %v; want b", res, err)
	}
	// b fetched a's two deps when it ran: it now counts as holding all
	// three, so most-objects goes there too.
	res, err = c.Exec(ctx, "lambda", ExecOptions{Deps: deps, Placement: MostObjects})
	if err != nil || res.Node != "b" {
		t.Fatalf("most-objects after b cached the deps: ran on %v, %v; want b", res, err)
	}
	// A fresh client knows of no cache: a owns two deps, b one.
	c2, err := Dial(ctx, Config{Seeds: []string{a.addr()}, Placement: MostObjects})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	res, err = c2.Exec(ctx, "lambda", ExecOptions{Deps: deps})
	if err != nil || res.Node != "a" {
		t.Fatalf("most-objects: ran on %v, %v; want a", res, err)
	}
	res, err = c.Exec(ctx, "lambda", ExecOptions{Deps: deps, Node: "a"})
	if err != nil || res.Node != "a" {
		t.Fatalf("explicit node a: ran on %v, %v", res, err)
	}
	for range 5 {
		if res, err := c.Exec(ctx, "lambda", ExecOptions{Deps: deps, Placement: WorkStealing}); err != nil || res.Node == "s" {
			t.Fatalf("work-stealing placed on %v, %v; never on the storage-only node", res, err)
		}
	}
}

// keyOn returns a key whose slot the node with id owns.
func keyOn(c *Client, id string) string {
	rt := c.routes.Load()
	for i := 0; ; i++ {
		k := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if rt.ownerID(k) == id {
			return k
		}
	}
}
