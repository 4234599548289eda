package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lambdakv/lambdakv/client"
)

// How often lkv graph run shows progress: redrawn in place on a
// terminal, a new line elsewhere (a log should not fill with redraws).
const (
	progressTTYEvery  = 100 * time.Millisecond
	progressLineEvery = 5 * time.Second
)

// progress shows a run's progress on stderr from its own goroutine, so
// that RunGraph's callback only stores the latest counts.
type progress struct {
	w      io.Writer
	tty    bool
	stopCh chan struct{}
	done   chan struct{}

	mu   sync.Mutex
	last client.GraphProgress // guarded by mu
	seen bool                 // guarded by mu: last is set
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, tty: isTerminal(w), stopCh: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// update is the GraphOptions.Progress callback.
func (p *progress) update(g client.GraphProgress) {
	p.mu.Lock()
	p.last, p.seen = g, true
	p.mu.Unlock()
}

func (p *progress) loop() {
	defer close(p.done)
	every := progressLineEvery
	if p.tty {
		every = progressTTYEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.draw()
		case <-p.stopCh:
			if p.tty {
				p.draw()
				fmt.Fprintln(p.w)
			}
			return
		}
	}
}

// stop draws the last state (on a terminal) and ends the goroutine.
func (p *progress) stop() {
	close(p.stopCh)
	<-p.done
}

func (p *progress) draw() {
	p.mu.Lock()
	g, seen := p.last, p.seen
	p.mu.Unlock()
	if !seen {
		return
	}
	counts := fmt.Sprintf("%d/%d done, %d running, %d queued, %d waiting", g.Done, g.Total, g.Running, g.Queued, g.Waiting)
	if g.Retries > 0 {
		counts += fmt.Sprintf(", %d retried", g.Retries)
	}
	elapsed := g.Elapsed.Round(100 * time.Millisecond)
	if !p.tty {
		fmt.Fprintf(p.w, "lkv graph run: %s, %v\n", counts, elapsed)
		return
	}
	const width = 30
	filled := 0
	if g.Total > 0 {
		filled = g.Done * width / g.Total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r\033[K[%s] %s, %v", bar, counts, elapsed)
}

// printGraphSummary writes the report as text: totals, per-thunk spread, per
// node and, if asked, per thunk.
func printGraphSummary(w io.Writer, rep *client.GraphReport, f *graphRunFlags) {
	nodes := "nodes"
	if len(rep.Nodes) == 1 {
		nodes = "node"
	}
	fmt.Fprintf(w, "%d thunks in %s on %d %s (placement %s, %d attempts, %d retried)\n\n",
		rep.Done, fmtDur(rep.Wall), len(rep.Nodes), nodes, f.placement, rep.Attempts, rep.Retries)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "time\ttotal\tper thunk: mean\tp50\tp95\tmax")
	rows := []struct {
		name string
		get  func(client.GraphStats) time.Duration
	}{
		{"fetch deps", func(s client.GraphStats) time.Duration { return s.Fetch }},
		{"queue", func(s client.GraphStats) time.Duration { return s.Queue }},
		{"run", func(s client.GraphStats) time.Duration { return s.Run }},
		{"store outputs", func(s client.GraphStats) time.Duration { return s.Store }},
		{"KV (fetch+store)", func(s client.GraphStats) time.Duration { return s.KV }},
	}
	for _, r := range rows {
		var ds []time.Duration
		for _, t := range rep.PerThunk {
			ds = append(ds, r.get(t.GraphStats))
		}
		slices.Sort(ds)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, fmtDur(r.get(rep.Totals)), fmtDur(mean(ds)),
			fmtDur(quantile(ds, 0.5)), fmtDur(quantile(ds, 0.95)), fmtDur(quantile(ds, 1)))
	}
	tw.Flush()
	t := rep.Totals
	fmt.Fprintf(w, "\ndeps read: %s local, %s from cache, %s from other nodes\n\n",
		fmtBytes(t.BytesLocal), fmtBytes(t.BytesCache), fmtBytes(t.BytesRemote))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tthunks\tfailed\tmax in flight\trun\tKV\tlocal\tcache\tremote")
	for _, n := range rep.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Thunks, n.Failures, n.MaxInFlight,
			fmtDur(n.Run), fmtDur(n.KV), fmtBytes(n.BytesLocal), fmtBytes(n.BytesCache), fmtBytes(n.BytesRemote))
	}
	tw.Flush()
	if !f.perThunk {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "thunk\tnode\tattempts\tstart\tend\tqueue\tfetch\trun\tstore\tKV\tlocal\tcache\tremote")
	for _, r := range rep.PerThunk {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Node, r.Attempts,
			fmtDur(r.Start), fmtDur(r.End), fmtDur(r.Queue), fmtDur(r.Fetch), fmtDur(r.Run), fmtDur(r.Store), fmtDur(r.KV),
			fmtBytes(r.BytesLocal), fmtBytes(r.BytesCache), fmtBytes(r.BytesRemote))
	}
	tw.Flush()
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// quantile returns the q-quantile of sorted ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// fmtDur shows a duration with three significant digits or so.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

// fmtBytes shows a byte count in binary units.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}
