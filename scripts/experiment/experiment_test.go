package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cannedResults loads testdata/results.json: two cluster sizes of both
// workloads, every figure, and one failed run.
func cannedResults(t *testing.T) *results {
	t.Helper()
	res, err := loadResults(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLoadResults_report(t *testing.T) {
	res := cannedResults(t)
	if got := len(res.Runs); got != 22 {
		t.Fatalf("runs=%d; want 22", got)
	}
	r := &res.Runs[0]
	if !r.ok() || r.Report.Done != 839 || r.Report.Wall != 40*time.Second {
		t.Fatalf("first run: ok=%v done=%d wall=%v; want ok, 839, 40s", r.ok(), r.Report.Done, r.Report.Wall)
	}
	if got := r.kvPerThunk(); got != 30*time.Millisecond {
		t.Errorf("kvPerThunk=%v; want 30ms", got)
	}
	if got := r.perThunk(fetchOf); got != 20*time.Millisecond {
		t.Errorf("fetch per thunk=%v; want 20ms", got)
	}
	if len(r.Report.PerThunk) != 1 || r.Report.PerThunk[0].Node != "n1" {
		t.Errorf("per_thunk=%+v; want one thunk on n1", r.Report.PerThunk)
	}
	failed := res.find(figPlacement, func(r *run) bool { return !r.ok() })
	if len(failed) != 1 || failed[0].Placement != "largest-object" {
		t.Errorf("failed placement runs=%d; want the largest-object one", len(failed))
	}
}

func TestRenderSection_tablesAndTargets(t *testing.T) {
	res := cannedResults(t)
	s := renderSection(res, []string{"img/fig4-gobuild-time.png"})
	for _, want := range []string{
		"| 1 | 40.0 s | 70.0 s | 1.75× | 30 ms | 330 ms | 11.00× | 50 / 50 | 1.5 / 1.5 |",
		"| 2 | 15.0 s | 30.0 s | 2.00× | 60 ms | 700 ms | 11.67× | 100 / 100 | 1.5 / 1.5 |",
		"Synthetic graph, N=2: co-located ≥ 2× faster end to end: 15.0 s vs 30.0 s, 2.00× — **met**",
		"most-bytes ≥ 7.5% faster than work-stealing: 18.0 s vs 20.0 s, +10.0% — **met**",
		"(28.0 s, 30.0 s): run 20.0 s = 0.71×, with plan and upload 22.7 s = 0.81× — **met**",
		"| largest-object | failed |",
		"placement/synthetic colocated N=2 largest-object: thunk \"L0-1\": 3 attempts failed\n",
		"| colocated | 64MiB | 20.1 s |",
		"| disaggregated | 6 (4 beyond the executors) | 19.0 s |",
		"![fig4-gobuild-time](img/fig4-gobuild-time.png)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q:\n%s", want, s)
		}
	}
}

func TestReplaceSection_idempotent(t *testing.T) {
	doc := []byte("# Benchmarks\n\n## Other\n\ntext\n")
	once, err := replaceSection(doc, "first\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(once), string(doc[:len(doc)-1])) || !strings.Contains(string(once), sectionHead) {
		t.Fatalf("appended doc:\n%s", once)
	}
	// Text after the markers (a hand-written analysis) stays.
	withTail := append(once, []byte("\nanalysis\n")...)
	twice, err := replaceSection(withTail, "second\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(twice), "first") || !strings.Contains(string(twice), "second") || !strings.HasSuffix(string(twice), "\nanalysis\n") {
		t.Errorf("replaced doc:\n%s", twice)
	}
	again, _ := replaceSection(twice, "second\n")
	if string(again) != string(twice) {
		t.Errorf("rerun changed the doc:\n%s\nvs\n%s", again, twice)
	}
	if strings.Count(string(again), sectionHead) != 1 {
		t.Errorf("section heading %d times; want 1", strings.Count(string(again), sectionHead))
	}
	if _, err := replaceSection([]byte(endMarker+"\n"+beginMarker), "x"); err == nil {
		t.Error("markers in the wrong order: no error")
	}
}

func TestWritePlots_canned(t *testing.T) {
	dir := t.TempDir()
	pngs, err := writePlots(cannedResults(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pngs {
		st, err := os.Stat(p)
		if err != nil || st.Size() < 5000 {
			t.Errorf("%s: %v, %d bytes", p, err, st.Size())
		}
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".png"))
	}
	want := []string{"fig4-gobuild-time", "fig5-synthetic-time", "fig6-gobuild-kv", "fig7-synthetic-kv", "fig8-placement", "fig9-cache", "fig10-pipeline"}
	if !slices.Equal(names, want) {
		t.Errorf("plots=%v; want %v", names, want)
	}
}

func TestWritePlots_empty(t *testing.T) {
	pngs, err := writePlots(&results{}, t.TempDir())
	if err != nil || len(pngs) != 0 {
		t.Errorf("plots=%v err=%v; want none", pngs, err)
	}
}

func TestOptions_specs(t *testing.T) {
	o, err := parseFlags([]string{"--nodes", "1,3", "--workloads", "synthetic", "--placements", "work-stealing,co-located",
		"--cache-sizes", "0,64MiB", "--pipelines", "2", "--doc", "-"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := o.specs()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.String())
	}
	want := []string{
		"layout/synthetic colocated N=1 most-bytes",
		"layout/synthetic disaggregated N=1 most-bytes",
		"layout/synthetic colocated N=3 most-bytes",
		"layout/synthetic disaggregated N=3 most-bytes",
		"placement/synthetic colocated N=3 work-stealing",
		"placement/synthetic colocated N=3 co-located",
		"cache/synthetic colocated N=3 most-bytes cache=0",
		"cache/synthetic colocated N=3 most-bytes cache=64MiB",
		"cache/synthetic disaggregated N=3 most-bytes cache=0",
		"cache/synthetic disaggregated N=3 most-bytes cache=64MiB",
		"pipeline/synthetic colocated N=3 most-bytes pipeline=2",
		"pipeline/synthetic disaggregated N=3 most-bytes pipeline=2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("specs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if o.doc != "" || o.results != filepath.Join("docs", "img", "experiment.json") {
		t.Errorf("doc=%q results=%q; want none, docs/img/experiment.json", o.doc, o.results)
	}
}

func TestOptions_quick(t *testing.T) {
	o, err := parseFlags([]string{"--quick", "--dir", "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if o.workloads != workSynthetic || o.doc != "" || o.out != "/tmp/x/quick" || o.synthetic != quickSynthetic {
		t.Errorf("quick: workloads=%q doc=%q out=%q synthetic=%q", o.workloads, o.doc, o.out, o.synthetic)
	}
}

func TestOptions_bad(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "0"}, {"--nodes", ""}, {"--cache-sizes", "12MB"}, {"--pipelines", "x"},
	} {
		o, err := parseFlags(args)
		if err == nil {
			_, err = o.specs()
		}
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestParseAddrLine(t *testing.T) {
	out := []byte("lkv lab: 2 nodes up in 7s\n  n1 storage client 10.77.9.11:7370\naddr: 10.77.9.11:7370,10.77.9.12:7370\ntry: ...\n")
	if got := parseAddrLine(out); !slices.Equal(got, []string{"10.77.9.11:7370", "10.77.9.12:7370"}) {
		t.Errorf("addrs=%v", got)
	}
	if got := parseAddrLine([]byte("nothing\n")); got != nil {
		t.Errorf("addrs=%v; want none", got)
	}
}

func TestLab_upArgs(t *testing.T) {
	l := &lab{lkv: "lkv", dir: "/d", name: "x", subnet: "10.77.9.0/24", rtt: "500us", bandwidth: "1gbit",
		executors: 2, netns: "auto", config: "/d/a.hcl", agent: []string{"--sync", "none"}}
	got := strings.Join(l.upArgs(spec{Layout: layoutDisaggregated, Nodes: 3, CacheBytes: 1 << 20}), " ")
	want := "lab up --dir /d --name x --subnet 10.77.9.0/24 --netns auto --layout disaggregated --nodes 3 --executors 2 --compute 3 --rtt 500us --bandwidth 1gbit --cache-bytes 1048576 -- --config /d/a.hcl --sync none"
	if got != want {
		t.Errorf("args:\n%s\nwant:\n%s", got, want)
	}
}

func TestResults_replace(t *testing.T) {
	res := cannedResults(t)
	ws := *res.find(figPlacement, func(r *run) bool { return r.Placement == "work-stealing" })[0]
	ws.Report = nil
	res.replace([]run{ws, {spec: spec{Figure: figPlacement, Placement: "most-objects"}}})
	if got := len(res.find(figPlacement, nil)); got != 5 {
		t.Errorf("placement runs=%d; want 5", got)
	}
	if got := res.find(figPlacement, func(r *run) bool { return r.Placement == "work-stealing" }); len(got) != 1 || got[0].Report != nil {
		t.Errorf("work-stealing runs=%d; want 1, the new one", len(got))
	}
	if got := len(res.find(figLayout, nil)); got != 8 {
		t.Errorf("layout runs=%d; want 8 kept", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "4242 (lkv agent) S 1 4242 4242 0 -1 4194560 100 200 0 0 150 50 1200 300 20 0 9 0 100 0 0"
	self, children := parseStatCPU(stat)
	if self != 2*time.Second || children != 15*time.Second {
		t.Errorf("self=%v children=%v; want 2s, 15s", self, children)
	}
	if s, c := parseStatCPU("garbage"); s != 0 || c != 0 {
		t.Errorf("garbage: %v %v; want 0 0", s, c)
	}
}
