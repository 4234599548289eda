// Command experiment reproduces the seed paper's experiment on a lab
// cluster: co-located execution (nodes store and run lambdas) against a
// disaggregated layout (storage nodes apart from compute nodes), on the Go
// standard library built through lkv gobuild and on a synthetic gg-like
// graph from lkv graph gen; then placement heuristics, cache size and
// pipelining depth. Each configuration gets a fresh cluster (lkv lab up,
// lkv lab down). The results go to a JSON file, PNG plots and a section
// of docs/benchmarks.md, between markers, so that a rerun replaces only
// that section.
//
//	go run ./scripts/experiment                  # the whole experiment (as root: namespaces, tbf)
//	go run ./scripts/experiment --quick          # synthetic only, fewer points, results in --dir
//	go run ./scripts/experiment --render         # tables and plots again from the saved results
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	quick      bool
	render     bool
	update     bool
	dir        string
	out        string
	results    string
	doc        string
	lkv        string
	nodes      string
	workloads  string
	figures    string
	placements string
	cacheSizes string
	pipelines  string
	synthetic  string
	rtt        string
	bandwidth  string
	executors  int
	netns      string
	agent      string
	localRuns  int
	runTimeout time.Duration
}

// Synthetic graphs: shaped like a compile (a ~100 MB toolchain every thunk
// reads, objects of a few hundred KB, fan-in 6, ~80 ms of CPU per thunk),
// sized so that one run takes well under a minute on two cores.
const (
	defaultSynthetic = "--thunks 240 --layers 4 --fan-in 6 --size 320KiB --size-dist lognormal --size-sigma 0.6 --shared-size 96MiB --compute 80ms --seed 1"
	quickSynthetic   = "--thunks 80 --layers 3 --fan-in 4 --size 256KiB --size-dist lognormal --size-sigma 0.6 --shared-size 32MiB --compute 50ms --seed 1"
)

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("experiment", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "synthetic only, fewer points, smaller graph; results stay in --dir unless --out/--doc say otherwise")
	fs.BoolVar(&o.render, "render", false, "only make the tables and plots again from --results")
	fs.BoolVar(&o.update, "update", false, "keep the saved results, replacing only the configurations measured now")
	fs.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "lkv-experiment"), "work directory: binaries, graphs, the lab")
	fs.StringVar(&o.out, "out", "", "directory for the PNG plots (default docs/img, or DIR/quick with --quick)")
	fs.StringVar(&o.results, "results", "", "results JSON (default OUT/experiment.json)")
	fs.StringVar(&o.doc, "doc", "", "markdown file whose experiment section is rewritten (default docs/benchmarks.md; none with --quick); - for none")
	fs.StringVar(&o.lkv, "lkv", "", "use this lkv binary instead of building one")
	fs.StringVar(&o.nodes, "nodes", "1,2,3,4", "cluster sizes N for figures 4-7 (the largest is used for 8-10)")
	fs.StringVar(&o.workloads, "workloads", "gobuild,synthetic", "workloads for figures 4-7")
	fs.StringVar(&o.figures, "figures", "layout,placement,cache,pipeline", "which parts to measure")
	fs.StringVar(&o.placements, "placements", "work-stealing,most-objects,most-bytes,largest-object,co-located", "placements for figure 8")
	fs.StringVar(&o.cacheSizes, "cache-sizes", "0,64MiB,128MiB,1GiB", "cache sizes for figure 9 (bytes, KiB, MiB, GiB)")
	fs.StringVar(&o.pipelines, "pipelines", "2,3,4,6", "executions in flight per node for figure 10")
	fs.StringVar(&o.synthetic, "synthetic", "", "lkv graph gen flags of the synthetic graph (default: a compile-like graph)")
	fs.StringVar(&o.rtt, "rtt", "500us", "round-trip time added between nodes")
	fs.StringVar(&o.bandwidth, "bandwidth", "1gbit", "each node's link rate (tbf on its veth, both directions)")
	fs.IntVar(&o.executors, "executors", 2, "executors per executing node")
	fs.StringVar(&o.netns, "netns", "auto", "lkv lab up --netns: auto (namespaces when root), on or off")
	fs.StringVar(&o.agent, "agent-flags", "--sync none", "more flags for every agent")
	fs.IntVar(&o.localRuns, "local-runs", 1, "cold local go build -a -p 2 std runs to compare with")
	fs.DurationVar(&o.runTimeout, "run-timeout", 10*time.Minute, "limit of one configuration")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.defaults()
	return o, nil
}

// defaults fills in what --quick changes.
func (o *options) defaults() {
	if o.synthetic == "" {
		o.synthetic = defaultSynthetic
		if o.quick {
			o.synthetic = quickSynthetic
		}
	}
	if o.quick {
		o.workloads = workSynthetic
		o.nodes = "1,2"
		o.placements = "work-stealing,most-bytes,co-located"
		o.cacheSizes = "0,256MiB"
		o.pipelines = "2,6"
		o.localRuns = 0
	}
	if o.out == "" {
		o.out = "docs/img"
		if o.quick {
			o.out = filepath.Join(o.dir, "quick")
		}
	}
	if o.results == "" {
		o.results = filepath.Join(o.out, "experiment.json")
	}
	switch {
	case o.doc == "-":
		o.doc = ""
	case o.doc == "" && !o.quick:
		o.doc = "docs/benchmarks.md"
	}
}

// specs lists the configurations to measure, in order.
func (o *options) specs() ([]spec, error) {
	nodes, err := intList(o.nodes)
	if err != nil {
		return nil, fmt.Errorf("--nodes: %w", err)
	}
	pipes, err := intList(o.pipelines)
	if err != nil {
		return nil, fmt.Errorf("--pipelines: %w", err)
	}
	var caches []int64
	for _, s := range split(o.cacheSizes) {
		n, err := parseSize(s)
		if err != nil {
			return nil, fmt.Errorf("--cache-sizes: %w", err)
		}
		caches = append(caches, n)
	}
	big := slices.Max(nodes)
	base := spec{Workload: workSynthetic, Layout: layoutColocated, Nodes: big, Placement: "most-bytes", CacheBytes: -1}
	figs := split(o.figures)
	var out []spec
	if slices.Contains(figs, figLayout) {
		for _, w := range split(o.workloads) {
			for _, n := range nodes {
				for _, l := range []string{layoutColocated, layoutDisaggregated} {
					s := base
					s.Figure, s.Workload, s.Layout, s.Nodes = figLayout, w, l, n
					out = append(out, s)
				}
			}
		}
	}
	if slices.Contains(figs, figPlacement) {
		for _, p := range split(o.placements) {
			s := base
			s.Figure, s.Placement = figPlacement, p
			out = append(out, s)
		}
	}
	if slices.Contains(figs, figCache) {
		for _, l := range []string{layoutColocated, layoutDisaggregated} {
			for _, c := range caches {
				s := base
				s.Figure, s.Layout, s.CacheBytes = figCache, l, c
				out = append(out, s)
			}
		}
	}
	if slices.Contains(figs, figPipeline) {
		for _, l := range []string{layoutColocated, layoutDisaggregated} {
			for _, p := range pipes {
				s := base
				s.Figure, s.Layout, s.Pipeline = figPipeline, l, p
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// parseSize reads 0, 1234, 64KiB, 128MiB or 1GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a count of bytes, KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("experiment: ")
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.render {
		err = renderAll(o)
	} else {
		err = runExperiment(ctx, o)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// renderAll makes the plots and the doc section from the saved results.
func renderAll(o *options) error {
	res, err := loadResults(o.results)
	if err != nil {
		return err
	}
	pngs, err := writePlots(res, o.out)
	if err != nil {
		return err
	}
	for _, p := range pngs {
		log.Printf("wrote %s", p)
	}
	if o.doc == "" {
		fmt.Print(renderSection(res, relImages(o.doc, pngs)))
		return nil
	}
	if err := updateDoc(o.doc, renderSection(res, relImages(o.doc, pngs))); err != nil {
		return err
	}
	log.Printf("rewrote the experiment section of %s", o.doc)
	return nil
}

// relImages returns the plots' paths relative to the doc's directory.
func relImages(doc string, pngs []string) []string {
	var out []string
	for _, p := range pngs {
		if doc != "" {
			if r, err := filepath.Rel(filepath.Dir(doc), p); err == nil {
				p = r
			}
		}
		out = append(out, filepath.ToSlash(p))
	}
	return out
}
