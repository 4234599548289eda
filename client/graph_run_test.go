package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// graphFakes starts fake nodes a and b that run lambdas (one executor
// each) with exec answering as execute says, and a client for them.
func graphFakes(t testing.TB, execute func(node string, req *wire.Request) *wire.Response) *Client {
	var a, b *fakeNode
	handler := func(id string) func(*wire.Request) *wire.Response {
		return func(req *wire.Request) *wire.Response {
			switch req.Op {
			case wire.OpTopology:
				return &wire.Response{Topology: &wire.Topology{Nodes: []wire.NodeInfo{
					{ID: "a", Addr: a.addr(), Executors: 1, State: "alive"},
					{ID: "b", Addr: b.addr(), Executors: 1, State: "alive"},
				}, Slots: []wire.SlotRange{{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1}}}}
			case wire.OpStat:
				resp := &wire.Response{}
				for _, k := range req.Keys {
					resp.Stats = append(resp.Stats, wire.StatEntry{Key: k, Found: true, Size: 1, Perm: uint8(PermRX)})
				}
				return resp
			case wire.OpExecute:
				return execute(id, req)
			}
			return &wire.Response{}
		}
	}
	a, b = newFakeNode(t, handler("a")), newFakeNode(t, handler("b"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Seeds: []string{a.addr()}, Placement: WorkStealing, RefreshInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// putsThunk is a runtime-mode thunk that reads deps and puts its id.
func putsThunk(id string, deps ...string) Thunk {
	th := Thunk{ID: id, Lambda: "l", Args: []string{id}, Puts: []string{id}}
	for _, d := range deps {
		th.Deps = append(th.Deps, GraphDep{Key: d})
	}
	return th
}

func okResp(req *wire.Request, node string) *wire.Response {
	return &wire.Response{Puts: []string{req.Args[0]}, ExecNode: node, Exec: &wire.ExecStats{RunMicros: 10}}
}

func TestRunGraph_retriesOnAnotherNode(t *testing.T) {
	c := graphFakes(t, func(node string, req *wire.Request) *wire.Response {
		if node == "a" && req.Args[0] == "x" {
			return &wire.Response{Status: wire.StatusExecFailed, Error: "sandbox: memory limit"}
		}
		return okResp(req, node)
	})
	g := &Graph{Thunks: []Thunk{putsThunk("x", "in"), putsThunk("y", "x")}}
	rep, err := RunGraph(context.Background(), c, g, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := rep.PerThunk[0]
	if x.ID != "x" || x.Node != "b" || x.Attempts != 2 || len(x.Errors) != 1 || !strings.HasPrefix(x.Errors[0], "a: execution failed") && !strings.HasPrefix(x.Errors[0], "a: EXEC_FAILED") {
		t.Errorf("x: %+v; want it on b after one failure on a", x)
	}
	if rep.Retries != 1 || rep.Attempts != 3 || rep.Done != 2 {
		t.Errorf("report: %d retries, %d attempts, %d done; want 1, 3, 2", rep.Retries, rep.Attempts, rep.Done)
	}
	for _, n := range rep.Nodes {
		if n.ID == "a" && n.Failures != 1 {
			t.Errorf("node a: %+v; want one failure", n)
		}
	}
}

func TestRunGraph_busyNodeRests(t *testing.T) {
	var mu sync.Mutex
	busy := 0
	c := graphFakes(t, func(node string, req *wire.Request) *wire.Response {
		if node == "a" {
			mu.Lock()
			busy++
			mu.Unlock()
			return &wire.Response{Status: wire.StatusBusy, Error: "executor queue full"}
		}
		return okResp(req, node)
	})
	var g Graph
	for _, id := range []string{"p", "q", "r", "s", "t", "u"} {
		g.Thunks = append(g.Thunks, putsThunk(id, "in"))
	}
	rep, err := RunGraph(context.Background(), c, &g, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.PerThunk {
		if r.Node != "b" {
			t.Errorf("%s ran on %s; want b", r.ID, r.Node)
		}
	}
	// a is left alone for a while after each BUSY: with b answering at
	// once, a sees fewer tries than there are thunks.
	mu.Lock()
	defer mu.Unlock()
	if busy < 1 || busy >= len(g.Thunks) {
		t.Errorf("a answered BUSY %d times; want 1 to %d", busy, len(g.Thunks)-1)
	}
}

func TestRunGraph_notRetried(t *testing.T) {
	c := graphFakes(t, func(node string, req *wire.Request) *wire.Response {
		return &wire.Response{Status: wire.StatusNotFound, Error: `dep "in"`}
	})
	g := &Graph{Thunks: []Thunk{putsThunk("x", "in")}}
	_, err := RunGraph(context.Background(), c, g, GraphOptions{})
	var te *ThunkError
	if !errors.As(err, &te) || te.Attempts != 1 || !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v; want NOT_FOUND after one attempt", err)
	}
}

func TestExitStatusOf(t *testing.T) {
	for _, tt := range []struct {
		msg    string
		code   int
		stderr string
		ok     bool
	}{
		{`output "out": the lambda did not leave it (exit status 2; stderr: "usage: x\n")`, 2, "usage: x\n", true},
		{`output "out": the lambda did not leave it (exit status 1)`, 1, "", true},
		{`output "out": the lambda did not leave it (exit status 0)`, 0, "", false},
		{`sandbox: memory limit`, 0, "", false},
	} {
		err := error(&StatusError{Status: wire.StatusExecFailed, Message: tt.msg})
		code, stderr, ok := exitStatusOf(err)
		if code != tt.code || stderr != tt.stderr || ok != tt.ok {
			t.Errorf("%q: %d, %q, %v; want %d, %q, %v", tt.msg, code, stderr, ok, tt.code, tt.stderr, tt.ok)
		}
	}
}

// BenchmarkRunGraph measures the runner's own cost per thunk: planning,
// placing, sending and bookkeeping, against fake nodes that answer at once.
func BenchmarkRunGraph(b *testing.B) {
	c := graphFakes(b, func(node string, req *wire.Request) *wire.Response { return okResp(req, node) })
	// Three layers of 100 thunks, each reading two of the layer before.
	var g Graph
	for l := range 3 {
		for i := range 100 {
			th := putsThunk(fmt.Sprintf("L%d-%d", l, i))
			if l > 0 {
				th.Deps = []GraphDep{{Key: fmt.Sprintf("L%d-%d", l-1, i)}, {Key: fmt.Sprintf("L%d-%d", l-1, (i+1)%100)}}
			}
			g.Thunks = append(g.Thunks, th)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := RunGraph(context.Background(), c, &g, GraphOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(g.Thunks)), "ns/thunk")
}

func TestGraphReport_Sum(t *testing.T) {
	rep := &GraphReport{
		Nodes: []NodeReport{{ID: "b", MaxInFlight: 3, Failures: 1}},
		PerThunk: []ThunkReport{
			{Node: "b", GraphStats: GraphStats{Fetch: 2, BytesLocal: 10}},
			{Node: "a", GraphStats: GraphStats{Run: 5, BytesRemote: 7}},
			{Node: "b", GraphStats: GraphStats{Fetch: 1, Store: 4}},
		},
	}
	rep.Sum()
	rep.Sum() // again: nothing counted twice
	want := GraphStats{Fetch: 3, Run: 5, Store: 4, BytesLocal: 10, BytesRemote: 7}
	if rep.Totals != want {
		t.Errorf("Totals = %+v; want %+v", rep.Totals, want)
	}
	if len(rep.Nodes) != 2 || rep.Nodes[0].ID != "a" || rep.Nodes[1].ID != "b" {
		t.Fatalf("Nodes = %+v; want a, b", rep.Nodes)
	}
	b := rep.Nodes[1]
	if b.Thunks != 2 || b.MaxInFlight != 3 || b.Failures != 1 || b.Fetch != 3 || b.Store != 4 {
		t.Errorf("node b = %+v", b)
	}
}
