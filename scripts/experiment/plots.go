package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots draws every figure the results have data for into dir and
// returns the files, in figure order.
func writePlots(res *results, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type fig struct {
		name string
		draw func(*results) *plot.Plot
	}
	figs := []fig{
		{"fig4-gobuild-time", func(r *results) *plot.Plot { return layoutPlot(r, workGobuild, false) }},
		{"fig5-synthetic-time", func(r *results) *plot.Plot { return layoutPlot(r, workSynthetic, false) }},
		{"fig6-gobuild-kv", func(r *results) *plot.Plot { return layoutPlot(r, workGobuild, true) }},
		{"fig7-synthetic-kv", func(r *results) *plot.Plot { return layoutPlot(r, workSynthetic, true) }},
		{"fig8-placement", placementPlot},
		{"fig9-cache", cachePlot},
		{"fig10-pipeline", pipelinePlot},
	}
	var out []string
	for _, f := range figs {
		p := f.draw(res)
		if p == nil {
			continue
		}
		path := filepath.Join(dir, f.name+".png")
		if err := p.Save(7*vg.Inch, 4.2*vg.Inch, path); err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.name, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// newPlot is a plot with the labels and the legend where they read well.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// layoutPlot is figures 4-7: wall time, or KV time per thunk, against the
// cluster size, one line per layout.
func layoutPlot(res *results, w string, kv bool) *plot.Plot {
	pairs := layoutPairs(res, w)
	if len(pairs) == 0 {
		return nil
	}
	val := func(r *run) float64 { return secs(r) }
	y, what := "wall time of the run (s)", "end to end"
	if kv {
		val = func(r *run) float64 { return ms(r.kvPerThunk()) }
		y, what = "KV time per lambda, fetch + store (ms)", "time in KV operations"
	}
	p := newPlot(fmt.Sprintf("%s: %s", workloadTitle(w), what), "nodes (storage nodes; as many compute nodes when disaggregated)", y)
	var colo, dis plotter.XYs
	for _, q := range pairs {
		if q.colo != nil {
			colo = append(colo, plotter.XY{X: float64(q.nodes), Y: val(q.colo)})
		}
		if q.dis != nil {
			dis = append(dis, plotter.XY{X: float64(q.nodes), Y: val(q.dis)})
		}
	}
	args := []any{"co-located", colo, "disaggregated", dis}
	if !kv && w == workGobuild && len(res.LocalGoBuild) > 0 {
		l := slices.Min(res.LocalGoBuild).Seconds()
		args = append(args, "local go build -a -p 2 (cold)", plotter.XYs{{X: float64(pairs[0].nodes), Y: l}, {X: float64(pairs[len(pairs)-1].nodes), Y: l}})
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil
	}
	p.X.Tick.Marker = intTicks{}
	p.X.Min, p.X.Max = p.X.Min-0.2, p.X.Max+0.2
	p.Y.Max *= 1.3 // room for the legend
	return p
}

// intTicks marks whole numbers only.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for v := float64(int(min)); v <= max; v++ {
		if v >= min {
			t = append(t, plot.Tick{Value: v, Label: fmt.Sprint(int(v))})
		}
	}
	return t
}

// placementPlot is figure 8: wall time and KV time per thunk by placement.
func placementPlot(res *results) *plot.Plot {
	runs := res.find(figPlacement, (*run).ok)
	if len(runs) == 0 {
		return nil
	}
	p := newPlot(fmt.Sprintf("Placement (synthetic, co-located, %d nodes)", runs[0].Nodes), "", "wall time (s) / KV per lambda (100 ms)")
	var wall, kv plotter.Values
	var names []string
	for _, r := range runs {
		names = append(names, r.Placement)
		wall = append(wall, secs(r))
		kv = append(kv, ms(r.kvPerThunk())/100)
	}
	w := vg.Points(24)
	b1, err := plotter.NewBarChart(wall, w)
	if err != nil {
		return nil
	}
	b1.Color = plotutil.Color(0)
	b1.Offset = -w / 2
	b2, err := plotter.NewBarChart(kv, w)
	if err != nil {
		return nil
	}
	b2.Color = plotutil.Color(1)
	b2.Offset = w / 2
	p.Add(b1, b2)
	p.Legend.Add("wall time (s)", b1)
	p.Legend.Add("KV per lambda (100 ms)", b2)
	p.Legend.Left = false
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	p.Y.Max *= 1.2
	return p
}

// cachePlot is figure 9: wall time against the cache size, per layout.
func cachePlot(res *results) *plot.Plot {
	return sweepPlot(res, figCache, "Cache size (synthetic)", "each executing node's cache of remote immutable values",
		func(r *run) string { return sizeString(r.CacheBytes) }, func(r *run) int64 { return r.CacheBytes })
}

// pipelinePlot is figure 10: wall time against executions in flight per
// node, per layout.
func pipelinePlot(res *results) *plot.Plot {
	return sweepPlot(res, figPipeline, "Pipelining depth (synthetic)", "executions in flight per node (executors + pipeline)",
		func(r *run) string { return fmt.Sprint(r.Pipeline) }, func(r *run) int64 { return int64(r.Pipeline) })
}

// sweepPlot draws wall time against one parameter on evenly spaced
// categories, one line per layout.
func sweepPlot(res *results, fig, title, x string, label func(*run) string, key func(*run) int64) *plot.Plot {
	runs := res.find(fig, (*run).ok)
	if len(runs) == 0 {
		return nil
	}
	var keys []int64
	names := map[int64]string{}
	for _, r := range runs {
		if !slices.Contains(keys, key(r)) {
			keys = append(keys, key(r))
			names[key(r)] = label(r)
		}
	}
	slices.Sort(keys)
	p := newPlot(fmt.Sprintf("%s, %d nodes", title, runs[0].Nodes), x, "wall time of the run (s)")
	var args []any
	for _, l := range []string{layoutColocated, layoutDisaggregated} {
		var xy plotter.XYs
		for _, r := range runs {
			if r.Layout == l {
				xy = append(xy, plotter.XY{X: float64(slices.Index(keys, key(r))), Y: secs(r)})
			}
		}
		if len(xy) > 0 {
			args = append(args, l, xy)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil
	}
	var labels []string
	for _, k := range keys {
		labels = append(labels, names[k])
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.3, float64(len(keys))-0.7
	p.Y.Max *= 1.3
	return p
}
