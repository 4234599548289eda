package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/slots"
)

// checkOrder fails the test if a thunk started before a thunk it reads
// from ended.
func checkOrder(t *testing.T, g *client.Graph, rep *client.GraphReport) {
	t.Helper()
	byID := map[string]client.ThunkReport{}
	for _, r := range rep.PerThunk {
		byID[r.ID] = r
	}
	writer := map[string]string{}
	for _, th := range g.Thunks {
		for _, o := range th.Outputs {
			writer[o.Key] = th.ID
		}
	}
	for _, th := range g.Thunks {
		for _, d := range th.Deps {
			w, ok := writer[d.Key]
			if !ok {
				continue
			}
			if byID[th.ID].Start < byID[w].End {
				t.Errorf("%s started at %v, before %s (which writes %s) ended at %v", th.ID, byID[th.ID].Start, w, d.Key, byID[w].End)
			}
		}
	}
}

// expectOutputs computes each thunk's output from the inputs, in
// dependency order, and compares it with the store.
func expectOutputs(t *testing.T, c *client.Client, g *client.Graph) {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	have := map[string][]byte{}
	get := func(k string) []byte {
		if v, ok := have[k]; ok {
			return v
		}
		v, err := c.Get(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		have[k] = v
		return v
	}
	for left := slices.Clone(g.Thunks); len(left) > 0; {
		var next []client.Thunk
		for _, th := range left {
			var ins [][]byte
			ready := true
			for _, d := range th.Deps {
				if slices.ContainsFunc(left, func(o client.Thunk) bool { return o.Outputs[0].Key == d.Key }) {
					ready = false
				}
			}
			if !ready {
				next = append(next, th)
				continue
			}
			for _, d := range th.Deps {
				ins = append(ins, get(d.Key))
			}
			size, _ := strconv.Atoi(th.Args[1])
			want := burnOutput(th.Args, ins, size)
			got := get(th.Outputs[0].Key)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: output %s is %d bytes %.16x...; want %d bytes %.16x...", th.ID, th.Outputs[0].Key, len(got), got, len(want), want)
			}
		}
		if len(next) == len(left) {
			t.Fatal("no progress computing the expected outputs")
		}
		left = next
	}
}

func TestRunGraph_oneNode(t *testing.T) {
	bin := burnLambda(t)
	nodes := startGraphCluster(t, 2)
	c := dialNode(t, nodes[0])
	putR(t, c, "burn", bin, client.PermRX)
	putR(t, c, "src/a", bytes.Repeat([]byte("abcdefg"), 1000), client.PermR)
	putR(t, c, "src/b", []byte("short"), client.PermR)

	// A diamond after a chain, listed backwards: the order comes from the
	// keys alone.
	g := &client.Graph{Thunks: []client.Thunk{
		burnThunk("D", 10, 3000, "out/d", "out/b", "out/c"),
		burnThunk("C", 30, 10, "out/c", "out/a"),
		burnThunk("B", 10, 20, "out/b", "out/a", "src/b"),
		burnThunk("A", 10, 100, "out/a", "src/a"),
	}}
	var mu sync.Mutex
	var seen []client.GraphProgress
	rep, err := client.RunGraph(testCtx(t, 30*time.Second), c, g, client.GraphOptions{Progress: func(p client.GraphProgress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectOutputs(t, c, g)
	checkOrder(t, g, rep)
	if rep.Thunks != 4 || rep.Done != 4 || rep.Attempts != 4 || rep.Retries != 0 || len(rep.PerThunk) != 4 {
		t.Errorf("report: %d thunks, %d done, %d attempts, %d retries, %d per thunk; want 4, 4, 4, 0, 4", rep.Thunks, rep.Done, rep.Attempts, rep.Retries, len(rep.PerThunk))
	}
	if got := rep.PerThunk[0].ID; got != "A" {
		t.Errorf("first finished %s; want A", got)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].ID != "node-0" || rep.Nodes[0].Thunks != 4 {
		t.Errorf("nodes %+v; want node-0 with 4 thunks", rep.Nodes)
	}
	if rep.Totals.Run < 50*time.Millisecond || rep.Totals.BytesLocal < 7000 || rep.Totals.BytesRemote != 0 {
		t.Errorf("totals %+v; want at least 50ms run, 7000 local bytes, none remote", rep.Totals)
	}
	for _, r := range rep.PerThunk {
		if r.KV != r.Fetch+r.Store || r.Run <= 0 || r.Node != "node-0" || r.Attempts != 1 {
			t.Errorf("thunk %+v: want kv = fetch + store, run > 0, on node-0, one attempt", r)
		}
	}
	last := seen[len(seen)-1]
	if last.Total != 4 || last.Done != 4 || last.Running != 0 || last.Queued != 0 || last.Waiting != 0 {
		t.Errorf("last progress %+v; want all 4 done", last)
	}
	for i := 1; i < len(seen); i++ {
		if p := seen[i]; p.Done < seen[i-1].Done || p.Done+p.Running+p.Queued+p.Waiting != p.Total {
			t.Errorf("progress %d: %+v after %+v", i, p, seen[i-1])
		}
	}

	// The report's JSON has the documented fields.
	b, _ := json.Marshal(rep)
	for _, f := range []string{`"wall_ns":`, `"totals":{"queue_ns":`, `"kv_ns":`, `"bytes_remote":`, `"per_thunk":[{"id":"A","node":"node-0","attempts":1,"start_ns":`, `"max_in_flight":`} {
		if !bytes.Contains(b, []byte(f)) {
			t.Errorf("report JSON lacks %s: %s", f, b)
		}
	}

	// Running it again is harmless: the outputs are immutable and equal.
	if _, err := client.RunGraph(testCtx(t, 30*time.Second), c, g, client.GraphOptions{}); err != nil {
		t.Errorf("second run: %v", err)
	}
}

// keyOwnedBy returns a key with prefix whose slot node masters.
func keyOwnedBy(t *testing.T, p *peer.Peer, node, prefix string) string {
	t.Helper()
	top := p.Topology()
	for i := range 100000 {
		k := prefix + strconv.Itoa(i)
		s := int(slots.KeySlot(k))
		for _, r := range top.Slots {
			if s >= r.Start && s <= r.End && r.Master == node {
				return k
			}
		}
	}
	t.Fatalf("no key with prefix %q on %s", prefix, node)
	return ""
}

func TestRunGraph_cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster")
	}
	bin := burnLambda(t)
	nodes := startGraphCluster(t, 2, 2, 2)
	c := dialNode(t, nodes[0])
	putR(t, c, "burn", bin, client.PermRX)
	putR(t, c, "toolchain", bytes.Repeat([]byte{7}, 64<<10), client.PermR)
	// Three layers: six "compiles" that read a source and the toolchain,
	// three "archives" of two objects each, one "link".
	g := &client.Graph{}
	for i := range 6 {
		src := fmt.Sprintf("src/%d.c", i)
		putR(t, c, src, []byte(strings.Repeat(src, 100+i)), client.PermR)
		g.Thunks = append(g.Thunks, burnThunk(fmt.Sprintf("cc%d", i), 20, 2000+i, fmt.Sprintf("obj/%d.o", i), src, "toolchain"))
	}
	for i := range 3 {
		g.Thunks = append(g.Thunks, burnThunk(fmt.Sprintf("ar%d", i), 10, 500, fmt.Sprintf("lib/%d.a", i), fmt.Sprintf("obj/%d.o", 2*i), fmt.Sprintf("obj/%d.o", 2*i+1)))
	}
	g.Thunks = append(g.Thunks, burnThunk("ld", 10, 4096, "bin/app", "lib/0.a", "lib/1.a", "lib/2.a", "toolchain"))

	rep, err := client.RunGraph(testCtx(t, 60*time.Second), c, g, client.GraphOptions{Placement: client.WorkStealing})
	if err != nil {
		t.Fatal(err)
	}
	expectOutputs(t, c, g)
	checkOrder(t, g, rep)
	if rep.Done != len(g.Thunks) || len(rep.Nodes) < 2 {
		t.Errorf("done %d of %d on %d nodes; want all, on at least 2 of 3", rep.Done, len(g.Thunks), len(rep.Nodes))
	}
	var sum client.GraphStats
	count := 0
	for _, n := range rep.Nodes {
		count += n.Thunks
		sum.Run += n.Run
		sum.BytesRemote += n.BytesRemote
	}
	if count != len(g.Thunks) || sum.Run != rep.Totals.Run || sum.BytesRemote != rep.Totals.BytesRemote {
		t.Errorf("per-node sums: %d thunks, run %v, remote %d; totals: run %v, remote %d", count, sum.Run, sum.BytesRemote, rep.Totals.Run, rep.Totals.BytesRemote)
	}
	if rep.Totals.BytesRemote == 0 {
		t.Errorf("no bytes fetched from other nodes across three nodes: %+v", rep.Totals)
	}

	// most-bytes runs a thunk where its big input lives.
	for _, p := range nodes {
		big := keyOwnedBy(t, nodes[0], p.ID(), "big-")
		small := keyOwnedBy(t, nodes[0], nodes[(slices.Index(nodes, p)+1)%3].ID(), "small-")
		putR(t, c, big, make([]byte, 4<<20), client.PermR) // larger than the lambda's binary
		putR(t, c, small, []byte("x"), client.PermR)
		g := &client.Graph{Thunks: []client.Thunk{burnThunk("near", 1, 1, "near/"+p.ID(), small, big)}}
		rep, err := client.RunGraph(testCtx(t, 30*time.Second), c, g, client.GraphOptions{Placement: client.MostBytes})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.PerThunk[0]; got.Node != p.ID() || got.BytesLocal < 4<<20 {
			t.Errorf("most-bytes ran the thunk on %s with %d local bytes; want %s, where its 4 MiB input is", got.Node, got.BytesLocal, p.ID())
		}
	}
}

// TestRunGraph_retry shuts a node down while it runs thunks: they run
// again on the other node and the graph completes.
func TestRunGraph_retry(t *testing.T) {
	if testing.Short() {
		t.Skip("two nodes, one shut down mid-run")
	}
	bin := burnLambda(t)
	master := startGraphNode(t, graphNodeConfig(t, "node-0", 2))
	ccfg := graphNodeConfig(t, "node-1", 2)
	ccfg.Role = peer.RoleCompute
	ccfg.Join = []string{master.GossipAddr()}
	compute := startGraphNode(t, ccfg)
	c := dialNode(t, master)
	waitFor(t, 20*time.Second, "the client sees the compute node", func() error {
		if err := c.Refresh(context.Background()); err != nil {
			return err
		}
		for _, n := range c.Topology().Nodes {
			if n.ID == "node-1" && n.State == "alive" && n.Executors > 0 {
				return nil
			}
		}
		return fmt.Errorf("topology %+v", c.Topology().Nodes)
	})
	putR(t, c, "burn", bin, client.PermRX)
	putR(t, c, "src", []byte("input"), client.PermR)
	g := &client.Graph{}
	for i := range 8 {
		g.Thunks = append(g.Thunks, burnThunk(fmt.Sprintf("t%d", i), 300, 100, fmt.Sprintf("out/%d", i), "src"))
	}
	g.Thunks = append(g.Thunks, burnThunk("all", 1, 100, "out/all", "out/0", "out/7"))

	var once sync.Once
	stopped := make(chan struct{})
	opts := client.GraphOptions{Placement: client.WorkStealing, Pipeline: 2, Progress: func(p client.GraphProgress) {
		// With two slots per node, a third running thunk is on node-1.
		if p.Running >= 3 {
			once.Do(func() {
				go func() {
					defer close(stopped)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
					defer cancel()
					_ = compute.Shutdown(ctx)
				}()
			})
		}
	}}
	rep, err := client.RunGraph(testCtx(t, 60*time.Second), c, g, opts)
	once.Do(func() { close(stopped) })
	<-stopped
	if err != nil {
		t.Fatal(err)
	}
	expectOutputs(t, c, g)
	checkOrder(t, g, rep)
	retried := 0
	for _, r := range rep.PerThunk {
		if r.Attempts > 1 {
			retried++
			if r.Node != "node-0" || len(r.Errors) != r.Attempts-1 || !strings.HasPrefix(r.Errors[0], "node-1: ") {
				t.Errorf("retried thunk %s: on %s after errors %q; want on node-0 after errors on node-1", r.ID, r.Node, r.Errors)
			}
		}
	}
	if retried == 0 || rep.Retries < retried {
		t.Errorf("%d thunks retried, %d retries; want at least one", retried, rep.Retries)
	}
	for _, n := range rep.Nodes {
		if n.ID == "node-1" && n.Failures == 0 {
			t.Errorf("node-1: %+v; want failures counted", n)
		}
	}
}

func TestRunGraph_pipeline(t *testing.T) {
	bin := burnLambda(t)
	nodes := startGraphCluster(t, 4)
	c := dialNode(t, nodes[0])
	putR(t, c, "burn", bin, client.PermRX)
	// Each thunk writes when it ran, as the node's clock saw it.
	g := &client.Graph{}
	for i := range 8 {
		th := burnThunk(fmt.Sprintf("t%d", i), 60, 10, fmt.Sprintf("out/%d", i))
		th.Args = append([]string{"-t", "times"}, th.Args...)
		th.Outputs = append(th.Outputs, client.GraphOutput{File: "times", Key: fmt.Sprintf("times/%d", i), Perm: "rw"})
		g.Thunks = append(g.Thunks, th)
	}
	for _, pipeline := range []int{1, 2} {
		rep, err := client.RunGraph(testCtx(t, 30*time.Second), c, g, client.GraphOptions{Pipeline: pipeline})
		if err != nil {
			t.Fatal(err)
		}
		type event struct {
			at    int64
			delta int
		}
		var evs []event
		for i := range g.Thunks {
			v, err := c.Get(testCtx(t, 5*time.Second), fmt.Sprintf("times/%d", i))
			if err != nil {
				t.Fatal(err)
			}
			var start, end int64
			if _, err := fmt.Sscan(string(v), &start, &end); err != nil {
				t.Fatalf("times/%d = %q: %v", i, v, err)
			}
			evs = append(evs, event{start, 1}, event{end, -1})
		}
		slices.SortFunc(evs, func(a, b event) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return a.delta - b.delta // an end before a start at the same instant
		})
		most, now := 0, 0
		for _, e := range evs {
			now += e.delta
			most = max(most, now)
		}
		if most != pipeline || rep.Nodes[0].MaxInFlight != pipeline {
			t.Errorf("pipeline %d: at most %d lambdas ran at once on the node, %d were in flight; want %d", pipeline, most, rep.Nodes[0].MaxInFlight, pipeline)
		}
	}
}

func TestGraph_Validate(t *testing.T) {
	th := func(id string, reads []string, writes ...string) client.Thunk {
		t := client.Thunk{ID: id, Lambda: "l", Puts: writes}
		for _, r := range reads {
			t.Deps = append(t.Deps, client.GraphDep{Key: r})
		}
		return t
	}
	tests := []struct {
		name   string
		thunks []client.Thunk
		want   string // "" for valid
	}{
		{"valid", []client.Thunk{th("a", []string{"in"}, "x"), th("b", []string{"x"}, "y")}, ""},
		{"empty", nil, "no thunks"},
		{"no id", []client.Thunk{th("", nil)}, "no id"},
		{"no lambda", []client.Thunk{{ID: "a"}}, "no lambda"},
		{"duplicate id", []client.Thunk{th("a", nil, "x"), th("a", nil, "y")}, `thunk id "a" used twice (thunks 0 and 1)`},
		{"two writers", []client.Thunk{th("a", nil, "x"), th("b", nil, "x")}, `key "x" written by two thunks, "a" and "b"`},
		{"written twice", []client.Thunk{th("a", nil, "x", "x")}, `key "x" written twice`},
		{"self loop", []client.Thunk{th("a", []string{"x"}, "x")}, "cycle: a → a"},
		{"cycle", []client.Thunk{th("a", []string{"z"}, "x"), th("b", []string{"x"}, "y"), th("c", []string{"y"}, "z"), th("d", []string{"x"}, "w")}, "cycle: "},
		{"lambda built by a cycle", []client.Thunk{{ID: "a", Lambda: "bin", Puts: []string{"bin"}}}, "cycle: a → a"},
		{"outputs in runtime mode", []client.Thunk{{ID: "a", Lambda: "l", Outputs: []client.GraphOutput{{File: "f", Key: "k"}}}}, "outputs are for raw mode"},
		{"puts in raw mode", []client.Thunk{{ID: "a", Lambda: "l", Raw: true, Puts: []string{"k"}}}, "puts are for runtime mode"},
		{"inline dep in raw mode", []client.Thunk{{ID: "a", Lambda: "l", Raw: true, Deps: []client.GraphDep{{Key: "k"}}}}, "set as_file"},
		{"bad perm", []client.Thunk{{ID: "a", Lambda: "l", Raw: true, Outputs: []client.GraphOutput{{File: "f", Key: "k", Perm: "w"}}}}, "r is required"},
		{"output without file", []client.Thunk{{ID: "a", Lambda: "l", Raw: true, Outputs: []client.GraphOutput{{Key: "k"}}}}, "want both file and key"},
		{"empty dep key", []client.Thunk{{ID: "a", Lambda: "l", Deps: []client.GraphDep{{}}}}, "a dep without a key"},
		{"negative timeout", []client.Thunk{{ID: "a", Lambda: "l", Timeout: -1}}, "negative timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&client.Graph{Thunks: tt.thunks}).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err %v; want valid", err)
			case tt.want == "":
			case err == nil || !errors.Is(err, client.ErrInvalidGraph) || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("err %v; want ErrInvalidGraph containing %q", err, tt.want)
			}
		})
	}
	// The cycle names its thunks in order, and not the thunk off it.
	err := (&client.Graph{Thunks: tests[8].thunks}).Validate()
	if s := err.Error(); !strings.Contains(s, "a → b → c → a") && !strings.Contains(s, "b → c → a → b") && !strings.Contains(s, "c → a → b → c") {
		t.Errorf("err %q; want the cycle a → b → c in order", s)
	}
}

func TestParseGraph(t *testing.T) {
	g, err := client.ParseGraph([]byte(`{"thunks": [{"id": "a", "lambda": "l", "raw": true, "timeout": "1m30s",
		"deps": [{"key": "in", "as_file": true, "name": "x"}], "outputs": [{"file": "o", "key": "out"}],
		"limits": {"cpu_ms": 5000}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if th := g.Thunks[0]; time.Duration(th.Timeout) != 90*time.Second || th.Deps[0].Name != "x" || th.Outputs[0].Key != "out" || th.Limits == nil {
		t.Errorf("parsed %+v", th)
	}
	for _, bad := range []struct{ in, want string }{
		{`{"thunks": [{"id": "a", "lambda": "l", "dep": []}]}`, `unknown field "dep"`},
		{`{"thunks": [{"id": "a", "lambda": "l", "timeout": "soon"}]}`, "invalid duration"},
		{`{"thunks": []}`, "no thunks"},
		{`{"thunks": [{"id": "a", "lambda": "l"}]} {}`, "trailing data"},
		{`[`, "unexpected EOF"},
	} {
		if _, err := client.ParseGraph([]byte(bad.in)); !errors.Is(err, client.ErrInvalidGraph) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseGraph(%s): %v; want ErrInvalidGraph containing %q", bad.in, err, bad.want)
		}
	}
}

func TestRunGraph_failures(t *testing.T) {
	bin := burnLambda(t)
	nodes := startGraphCluster(t, 2)
	c := dialNode(t, nodes[0])
	putR(t, c, "burn", bin, client.PermRX)
	putR(t, c, "data", []byte("some data"), client.PermR)
	run := func(g *client.Graph) (*client.GraphReport, error) {
		return client.RunGraph(testCtx(t, 30*time.Second), c, g, client.GraphOptions{})
	}

	t.Run("missing inputs", func(t *testing.T) {
		g := &client.Graph{Thunks: []client.Thunk{
			burnThunk("a", 1, 1, "fail/a", "data", "nope1"),
			burnThunk("b", 1, 1, "fail/b", "fail/a", "nope2"),
		}}
		_, err := run(g)
		if !errors.Is(err, client.ErrMissingInputs) || !strings.Contains(err.Error(), `2 keys that no thunk writes are not in the store: "nope1", "nope2"`) {
			t.Errorf("err %v; want ErrMissingInputs naming nope1 and nope2", err)
		}
	})
	t.Run("lambda not executable", func(t *testing.T) {
		g := &client.Graph{Thunks: []client.Thunk{{ID: "a", Lambda: "data", Raw: true}}}
		if _, err := run(g); !errors.Is(err, client.ErrNotExecutable) || !strings.Contains(err.Error(), `"data"`) {
			t.Errorf("err %v; want ErrNotExecutable naming data", err)
		}
	})
	t.Run("return code", func(t *testing.T) {
		bad := burnThunk("bad", 1, 1, "fail/bad", "data")
		bad.Args[0] = "soon" // not a number: burn prints its usage and exits 2
		g := &client.Graph{Thunks: []client.Thunk{bad, burnThunk("after", 1, 1, "fail/after", "fail/bad")}}
		rep, err := run(g)
		var te *client.ThunkError
		if !errors.As(err, &te) || te.ID != "bad" || te.ReturnCode != 2 || te.Attempts != 1 || !strings.Contains(te.Tail, "usage: burn") {
			t.Fatalf("err %#v; want a ThunkError for bad, return code 2, one attempt, burn's usage", err)
		}
		if want := `thunk "bad" on node-0: return code 2: usage: burn`; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err %q; want it to start %q", err, want)
		}
		if rep == nil || rep.Done != 0 {
			t.Errorf("report %+v; want none done", rep)
		}
		if _, err := c.Get(testCtx(t, 5*time.Second), "fail/after"); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("the thunk after the failed one ran: %v", err)
		}
	})
	t.Run("runtime mode", func(t *testing.T) {
		// A runtime-mode lambda puts a key that a raw thunk reads.
		wc := buildWordcountC(t)
		putR(t, c, "wc", wc, client.PermRX)
		g := &client.Graph{Thunks: []client.Thunk{
			{ID: "count", Lambda: "wc", Args: []string{"rt/counts"}, Deps: []client.GraphDep{{Key: "data"}}, Puts: []string{"rt/counts"}},
			burnThunk("use", 1, 8, "rt/used", "rt/counts"),
		}}
		if _, err := run(g); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(testCtx(t, 5*time.Second), "rt/counts"); err != nil || string(v) != "data 1\nsome 1\n" {
			t.Errorf("rt/counts = %q, %v", v, err)
		}
		// A thunk that does not put what the graph says fails the run.
		g = &client.Graph{Thunks: []client.Thunk{{ID: "liar", Lambda: "wc", Deps: []client.GraphDep{{Key: "data"}}, Puts: []string{"rt/never"}}}}
		if _, err := run(g); err == nil || !strings.Contains(err.Error(), `thunk "liar"`) || !strings.Contains(err.Error(), `did not put "rt/never"`) {
			t.Errorf("err %v; want the thunk and the key it did not put", err)
		}
	})
	t.Run("read-only output", func(t *testing.T) {
		// An output that exists with other bytes cannot be stored.
		putR(t, c, "fail/taken", []byte("other bytes"), client.PermR)
		g := &client.Graph{Thunks: []client.Thunk{burnThunk("clash", 1, 5, "fail/taken", "data")}}
		_, err := run(g)
		var te *client.ThunkError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("err %v; want the thunk failed, read-only", err)
		}
	})
	t.Run("retried until out of attempts", func(t *testing.T) {
		// A thunk over its CPU limit is killed every time.
		th := burnThunk("slow", 1500, 1, "fail/slow", "data")
		th.Limits = &client.ExecLimits{CPUMillis: 100}
		rep, err := client.RunGraph(testCtx(t, 30*time.Second), c, &client.Graph{Thunks: []client.Thunk{th}}, client.GraphOptions{Attempts: 2})
		var te *client.ThunkError
		if !errors.As(err, &te) || te.Attempts != 2 || !errors.Is(err, client.ErrExecFailed) || !strings.Contains(err.Error(), "2 attempts failed") {
			t.Errorf("err %v; want EXEC_FAILED after 2 attempts", err)
		}
		if rep == nil || rep.Retries != 1 || rep.Attempts != 2 {
			t.Errorf("report %+v; want 2 attempts, 1 retry", rep)
		}
	})
	t.Run("no executors", func(t *testing.T) {
		cfg := graphNodeConfig(t, "store-only", -1)
		cfg.GossipPort = -1
		p := startGraphNode(t, cfg)
		sc := dialNode(t, p)
		putR(t, sc, "burn", bin, client.PermRX)
		g := &client.Graph{Thunks: []client.Thunk{burnThunk("a", 1, 1, "x")}}
		if _, err := client.RunGraph(testCtx(t, 10*time.Second), sc, g, client.GraphOptions{}); !errors.Is(err, client.ErrNoExecutors) {
			t.Errorf("err %v; want ErrNoExecutors", err)
		}
	})
}

var (
	wcOnce sync.Once
	wcBin  []byte
	wcErr  error
)

// buildWordcountC builds the C example lambda, a runtime-mode lambda.
func buildWordcountC(t *testing.T) []byte {
	t.Helper()
	wcOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lkv-wc")
		if err != nil {
			wcErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "wc")
		cmd := exec.Command("gcc", "-static", "-O2", "-I", "../jail/lambda/c", "-o", out, "../cmd/lambdas/c/wordcount.c")
		if b, err := cmd.CombinedOutput(); err != nil {
			wcErr = fmt.Errorf("gcc: %v\n%s", err, b)
			return
		}
		wcBin, wcErr = os.ReadFile(out)
	})
	if wcErr != nil {
		t.Fatal(wcErr)
	}
	return wcBin
}
