package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

func testGenParams() genParams {
	return genParams{Thunks: 20, Layers: 3, FanIn: 3, SizeDist: "lognormal", SizeMean: 4096, SizeSigma: 1,
		Shared: 1 << 20, Compute: 5 * time.Millisecond, Seed: 7, Lambda: "burn"}
}

func TestGenerate_shape(t *testing.T) {
	p := testGenParams()
	g, objects := generate(p)
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(g.Thunks) != 20 {
		t.Fatalf("%d thunks; want 20", len(g.Thunks))
	}
	// 7 + 7 + 6 thunks; layer 0 reads 7×3 inputs, each once.
	if want := 1 + 7*3; len(objects) != want || objects[0].Key != p.prefix()+"toolchain" || objects[0].Size != 1<<20 {
		t.Fatalf("%d objects, first %+v; want %d, the toolchain first", len(objects), objects[0], want)
	}
	layerOf := map[string]int{}
	for _, o := range objects {
		layerOf[o.Key] = -1
	}
	readCount := map[string]int{}
	for _, th := range g.Thunks {
		layer, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(th.ID, "-")[0], "L"))
		layerOf[th.Outputs[0].Key] = layer
		if th.Deps[0].Name != "toolchain" || len(th.Deps) != 1+p.FanIn {
			t.Errorf("%s: deps %+v; want the toolchain and %d others", th.ID, th.Deps, p.FanIn)
		}
		for _, d := range th.Deps[1:] {
			if got, ok := layerOf[d.Key]; !ok || got != layer-1 {
				t.Errorf("%s (layer %d) reads %s of layer %d", th.ID, layer, d.Key, got)
			}
			readCount[d.Key]++
		}
	}
	for k, l := range layerOf {
		if l >= 0 && l < 2 && readCount[k] == 0 {
			t.Errorf("%s (layer %d) is read by no thunk", k, l)
		}
		if l == -1 && k != p.prefix()+"toolchain" && readCount[k] != 1 {
			t.Errorf("input %s read %d times; want once", k, readCount[k])
		}
	}

	// The same params give the same graph; another seed another one, under
	// another prefix.
	g2, objects2 := generate(p)
	if !reflect.DeepEqual(g, g2) || !reflect.DeepEqual(objects, objects2) {
		t.Error("two graphs from the same params differ")
	}
	q := p
	q.Seed = 8
	g3, _ := generate(q)
	if reflect.DeepEqual(g, g3) || q.prefix() == p.prefix() {
		t.Error("another seed gave the same graph or prefix")
	}
	if o := objects[3]; !bytes.Equal(objectBytes(p.Seed, o), objectBytes(p.Seed, o)) || int64(len(objectBytes(p.Seed, o))) != o.Size {
		t.Error("object contents are not reproducible")
	}
	if bytes.Equal(objectBytes(p.Seed, objects[1]), objectBytes(p.Seed, genObject{Key: objects[2].Key, Size: objects[1].Size})) {
		t.Error("two objects have the same contents")
	}
}

func TestGenParams_size(t *testing.T) {
	for _, dist := range []string{"fixed", "uniform", "lognormal"} {
		p := testGenParams()
		p.Thunks, p.Layers, p.FanIn, p.SizeDist, p.SizeSigma = 4000, 1, 1, dist, 0.5
		_, objects := generate(p)
		var sum, lo, hi int64 = 0, 1 << 62, 0
		for _, o := range objects[1:] {
			sum += o.Size
			lo, hi = min(lo, o.Size), max(hi, o.Size)
		}
		m := float64(sum) / float64(len(objects)-1)
		if m < 4096*0.93 || m > 4096*1.07 {
			t.Errorf("%s: mean size %.0f; want about 4096", dist, m)
		}
		if (dist == "fixed") != (lo == hi) || (dist == "uniform" && hi > 8192) {
			t.Errorf("%s: sizes from %d to %d", dist, lo, hi)
		}
	}
}

func TestGenParams_check(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*genParams)
		want string
	}{
		{"ok", func(*genParams) {}, ""},
		{"no thunks", func(p *genParams) { p.Thunks = 0 }, "--thunks 0"},
		{"more layers than thunks", func(p *genParams) { p.Layers = 21 }, "--layers 21"},
		{"no fan-in", func(p *genParams) { p.FanIn = 0 }, "--fan-in 0"},
		{"bad dist", func(p *genParams) { p.SizeDist = "normal" }, `--size-dist "normal"`},
		{"bad sigma", func(p *genParams) { p.SizeSigma = 0 }, "--size-sigma"},
		{"negative compute", func(p *genParams) { p.Compute = -1 }, "--compute"},
		{"negative inputs", func(p *genParams) { p.Inputs = -1 }, "--inputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testGenParams()
			tt.mod(&p)
			err := p.check()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("check: %v; want %q", err, tt.want)
			}
		})
	}
}

// buildBurn compiles cmd/lambdas/c/burn.c with the documented command.
func buildBurn(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed: the graph tests build their lambda with it")
	}
	out := filepath.Join(t.TempDir(), "burn")
	cmd := exec.Command("gcc", "-static", "-O2", "-o", out, "cmd/lambdas/c/burn.c")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// burnOutput is what burn writes for args and inputs (burn.c says how).
func burnOutput(args []string, inputs [][]byte, size int) []byte {
	const prime = 0x100000001b3
	h := uint64(0xcbf29ce484222325)
	for _, a := range args {
		for _, b := range append([]byte(a), 0) {
			h = (h ^ uint64(b)) * prime
		}
	}
	for _, in := range inputs {
		n := len(in) / 8 * 8
		for i := 0; i < n; i += 8 {
			h = (h ^ binary.LittleEndian.Uint64(in[i:])) * prime
		}
		for _, b := range in[n:] {
			h = (h ^ uint64(b)) * prime
		}
	}
	x := max(h, 1)
	out := make([]byte, 0, size+8)
	for len(out) < size {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		out = binary.LittleEndian.AppendUint64(out, x*0x2545F4914F6CDD1D)
	}
	return out[:size]
}

// runJSON is what the test reads of lkv graph run --json, by the
// documented names.
type runJSON struct {
	Placement string `json:"placement"`
	Wall      int64  `json:"wall_ns"`
	Thunks    int    `json:"thunks"`
	Done      int    `json:"done"`
	Attempts  int    `json:"attempts"`
	Totals    struct {
		Run         int64 `json:"run_ns"`
		KV          int64 `json:"kv_ns"`
		Fetch       int64 `json:"fetch_ns"`
		Store       int64 `json:"store_ns"`
		BytesLocal  int64 `json:"bytes_local"`
		BytesRemote int64 `json:"bytes_remote"`
	} `json:"totals"`
	Nodes []struct {
		ID          string `json:"id"`
		Thunks      int    `json:"thunks"`
		MaxInFlight int    `json:"max_in_flight"`
	} `json:"nodes"`
	PerThunk []struct {
		ID    string `json:"id"`
		Node  string `json:"node"`
		Start int64  `json:"start_ns"`
		End   int64  `json:"end_ns"`
		KV    int64  `json:"kv_ns"`
		Fetch int64  `json:"fetch_ns"`
		Store int64  `json:"store_ns"`
	} `json:"per_thunk"`
}

func TestE2E_graph(t *testing.T) {
	burn := buildBurn(t)
	a, err := tryStartAgent(t, "--executors", "2")
	if err != nil && strings.Contains(err.Error(), "start sandbox") {
		t.Skipf("no sandbox on this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "g.json")
	gen := []string{"graph", "gen", "--thunks", "12", "--layers", "3", "--fan-in", "2", "--size", "4KiB",
		"--shared-size", "256KiB", "--compute", "5ms", "--seed", "3", "-o", file}

	// Without the lambda in the store, --put says how to get it there.
	a.fails(t, "--lambda-file", append(gen, "--put")...)
	// Without --put, the inputs are missing and the run says which: 4
	// thunks in layer 0 read 2 each, the toolchain, the lambda.
	a.fails(t, "missing inputs: 10 keys that no thunk writes are not in the store", "graph", "run", file)
	a.ok(t, nil, append(gen, "--put", "--lambda-file", burn)...)
	// Again: the same objects, so the immutable puts succeed.
	a.ok(t, nil, append(gen, "--put", "--lambda-file", burn)...)

	out := a.ok(t, nil, "graph", "run", file, "--json", "--pipeline", "3")
	var rep runJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("graph run --json: %v\n%s", err, out)
	}
	if rep.Placement != "most-bytes" || rep.Thunks != 12 || rep.Done != 12 || rep.Attempts != 12 || len(rep.PerThunk) != 12 || rep.Wall <= 0 {
		t.Errorf("report %+v; want 12 thunks done in 12 attempts by most-bytes", rep)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].Thunks != 12 || rep.Nodes[0].MaxInFlight > 3 || rep.Totals.Run <= 0 || rep.Totals.BytesLocal < 12*256<<10 {
		t.Errorf("nodes %+v, totals %+v", rep.Nodes, rep.Totals)
	}
	for _, th := range rep.PerThunk {
		if th.KV != th.Fetch+th.Store || th.End < th.Start {
			t.Errorf("thunk %+v", th)
		}
	}

	// The last thunk's output is what burn computes from the generated
	// objects, through the whole graph.
	b, _ := os.ReadFile(file)
	g, err := client.ParseGraph(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, o := range func() []genObject {
		_, objs := generate(genParams{Thunks: 12, Layers: 3, FanIn: 2, SizeDist: "lognormal", SizeMean: 4096, SizeSigma: 1,
			Shared: 256 << 10, Compute: 5 * time.Millisecond, Seed: 3, Lambda: defaultBurnKey})
		return objs
	}() {
		want[o.Key] = objectBytes(3, o)
	}
	for _, th := range g.Thunks { // generated layer by layer
		var ins [][]byte
		for _, d := range th.Deps {
			ins = append(ins, want[d.Key])
		}
		size, _ := strconv.Atoi(th.Args[1])
		want[th.Outputs[0].Key] = burnOutput(th.Args, ins, size)
	}
	last := g.Thunks[len(g.Thunks)-1].Outputs[0].Key
	if got := a.ok(t, nil, "get", last); !bytes.Equal(got, want[last]) {
		t.Errorf("%s: %d bytes; want %d bytes computed from the inputs", last, len(got), len(want[last]))
	}

	// The text summary, and the per-thunk table.
	out = a.ok(t, nil, "graph", "run", file, "--per-thunk", "--placement", "work-stealing")
	for _, s := range []string{"12 thunks in ", "on 1 node (placement work-stealing, 12 attempts, 0 retried)", "KV (fetch+store)", "deps read: ", "max in flight", "L2-3"} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("summary lacks %q:\n%s", s, out)
		}
	}

	// Bad graphs and flags.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"thunks": [{"id": "a", "lambda": "l", "puts": ["x"], "deps": [{"key": "x"}]}]}`), 0o644)
	a.fails(t, "invalid graph: cycle: a → a", "graph", "run", bad)
	a.fails(t, "unknown placement", "graph", "run", file, "--placement", "nearest")
	a.fails(t, "no such file", "graph", "run", filepath.Join(dir, "none.json"))
	failing := filepath.Join(dir, "fail.json")
	os.WriteFile(failing, []byte(`{"thunks": [{"id": "oops", "lambda": "lkv-graph/burn", "raw": true, "args": ["x"]}]}`), 0o644)
	a.fails(t, `thunk "oops" on `, "graph", "run", failing)
	// A prefix already used for other objects: they are immutable.
	small := []string{"graph", "gen", "--thunks", "2", "--layers", "1", "--fan-in", "1", "--shared-size", "0", "--prefix", "mine/", "--put", "-o", filepath.Join(dir, "s.json")}
	a.ok(t, nil, small...)
	a.fails(t, "pick another --prefix", append(small, "--seed", "2")...)
	a.stop(t) // a clean stop releases the sandbox's working directories
}

func TestE2E_graph_cluster(t *testing.T) {
	skipIfShort(t)
	burn := buildBurn(t)
	// startClusterAgent's nodes run no lambdas unless told.
	n1 := startClusterAgent(t, "n1", "--executors", "2")
	n2 := startClusterAgent(t, "n2", "--executors", "2", "--join", n1.gossip)
	awaitSettled(t, "two masters share the slots", []*clusterAgent{n1, n2})
	file := filepath.Join(t.TempDir(), "g.json")
	n1.ok(t, nil, "graph", "gen", "--thunks", "16", "--layers", "2", "--fan-in", "3", "--size", "8KiB",
		"--shared-size", "128KiB", "--compute", "5ms", "-o", file, "--put", "--lambda-file", burn)
	out := n2.ok(t, nil, "graph", "run", file, "--json", "--placement", "work-stealing")
	var rep runJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("graph run --json: %v\n%s", err, out)
	}
	if rep.Done != 16 || len(rep.Nodes) != 2 || rep.Totals.BytesRemote == 0 {
		t.Errorf("done %d on %+v, %d bytes remote; want 16 on both nodes, some bytes fetched from the other", rep.Done, rep.Nodes, rep.Totals.BytesRemote)
	}
	n2.stop(t)
	n1.stop(t)
}
