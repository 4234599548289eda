package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// experiment holds what every configuration shares.
type experiment struct {
	o         *options
	lab       *lab
	workloads map[string]workload
	res       *results
	gen       int // graphs written, for file names
}

// runExperiment builds the binaries, measures every configuration and
// writes the results, plots and doc section. Whatever happens, the lab is
// removed.
func runExperiment(ctx context.Context, o *options) error {
	specs, err := o.specs()
	if err != nil {
		return err
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	for _, d := range []string{o.dir, o.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	e := &experiment{o: o, workloads: map[string]workload{}}
	e.res = &results{
		Started: time.Now().UTC(), Command: "go run ./scripts/experiment " + strings.Join(os.Args[1:], " "),
		Commit: gitCommit(repo), Host: hostInfo(), Quick: o.quick, RTT: o.rtt, Bandwidth: o.bandwidth,
		Executors: o.executors, Synthetic: o.synthetic,
	}
	var old *results
	if o.update {
		if old, err = loadResults(o.results); err != nil {
			return fmt.Errorf("--update: %w", err)
		}
	}
	lkv, burn, err := e.binaries(ctx, repo)
	if err != nil {
		return err
	}
	cfg, err := writeAgentConfig(o.dir)
	if err != nil {
		return err
	}
	e.lab = &lab{lkv: lkv, dir: filepath.Join(o.dir, "lab"), name: "lkvexp", subnet: "10.77.9.0/24",
		rtt: o.rtt, bandwidth: o.bandwidth, executors: o.executors, netns: o.netns, config: cfg, agent: strings.Fields(o.agent)}
	defer func() {
		if err := e.lab.down(); err != nil {
			log.Printf("lab down: %v", err)
		}
	}()
	e.workloads[workSynthetic] = &synthetic{lkv: lkv, burn: burn, flags: strings.Fields(o.synthetic), file: filepath.Join(o.dir, "synthetic.json")}
	if needsGobuild(specs) {
		if err := e.prepareGobuild(ctx, repo); err != nil {
			return err
		}
	}
	for i, s := range specs {
		if ctx.Err() != nil {
			break
		}
		log.Printf("[%d/%d] %v", i+1, len(specs), s)
		r := e.measure(ctx, s)
		log.Print(summaryLine(&r))
		e.res.Runs = append(e.res.Runs, r)
		if err := e.save(old); err != nil {
			return err
		}
	}
	e.res.Finished = time.Now().UTC()
	if err := e.save(old); err != nil {
		return err
	}
	if err := renderAll(o); err != nil {
		return err
	}
	return ctx.Err()
}

// save writes the results; with --update, merged into the old ones:
// a configuration measured now replaces its old run.
func (e *experiment) save(old *results) error {
	if old == nil {
		return e.res.save(e.o.results)
	}
	m := *old
	m.replace(e.res.Runs)
	if len(e.res.LocalGoBuild) > 0 {
		m.LocalGoBuild = e.res.LocalGoBuild
	}
	m.Finished = e.res.Finished
	m.Command += "; then " + e.res.Command
	m.Commit = e.res.Commit
	return m.save(e.o.results)
}

func needsGobuild(specs []spec) bool {
	for _, s := range specs {
		if s.Workload == workGobuild {
			return true
		}
	}
	return false
}

// binaries builds lkv (unless --lkv names one) and burn.
func (e *experiment) binaries(ctx context.Context, repo string) (string, string, error) {
	bin := filepath.Join(e.o.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", "", err
	}
	lkv, burn, err := buildBinaries(ctx, repo, bin)
	if err != nil {
		return "", "", err
	}
	if e.o.lkv != "" {
		lkv = e.o.lkv
	}
	return lkv, burn, nil
}

// prepareGobuild plans the std build once and times the local builds it
// is compared with, before any lab runs, on an idle machine.
func (e *experiment) prepareGobuild(ctx context.Context, repo string) error {
	w, err := planGoStd(ctx, repo)
	if err != nil {
		return err
	}
	log.Printf("planned go build std: %d steps in %v", len(w.build.Graph.Thunks), w.plan.Round(time.Millisecond))
	e.workloads[workGobuild] = w
	for i := range e.o.localRuns {
		d, err := localGoBuild(ctx, e.o.dir)
		if err != nil {
			return err
		}
		log.Printf("local go build -a -p 2 std, cold (%d/%d): %v", i+1, e.o.localRuns, d.Round(time.Millisecond))
		e.res.LocalGoBuild = append(e.res.LocalGoBuild, d)
	}
	return nil
}

// measure runs one configuration on a fresh lab.
func (e *experiment) measure(ctx context.Context, s spec) run {
	r := run{spec: s, Load: loadAvg()}
	if err := e.measureErr(ctx, s, &r); err != nil {
		r.Error = err.Error()
		log.Printf("failed: %v", err)
	}
	if err := e.lab.down(); err != nil {
		log.Printf("lab down: %v", err)
	}
	return r
}

func (e *experiment) measureErr(ctx context.Context, s spec, r *run) error {
	ctx, cancel := context.WithTimeout(ctx, e.o.runTimeout)
	defer cancel()
	if err := e.lab.down(); err != nil { // a lab left by a killed run
		return err
	}
	start := time.Now()
	addrs, err := e.lab.up(ctx, s)
	if err != nil {
		return err
	}
	r.LabUp = time.Since(start)
	c, err := client.Dial(ctx, client.Config{Name: "lkv-experiment", Seeds: addrs})
	if err != nil {
		return err
	}
	defer c.Close()
	w := e.workloads[s.Workload]
	if gs, ok := w.(*goStd); ok {
		r.Plan = gs.plan
	}
	if sy, ok := w.(*synthetic); ok {
		e.gen++
		sy.file = filepath.Join(e.o.dir, fmt.Sprintf("graph-%03d.json", e.gen))
	}
	g, upload, err := prepareRetry(ctx, w, c, addrs[0])
	if err != nil {
		return err
	}
	r.Upload = upload
	pl, err := placementFor(s.Placement, g, c)
	if err != nil {
		return err
	}
	p := newTicker(len(g.Thunks))
	defer p.stop()
	a0, l0, n0 := cpu0(e.lab)
	r.Report, err = client.RunGraph(ctx, c, g, client.GraphOptions{Placement: pl, Pipeline: s.Pipeline, Progress: p.update})
	a1, l1, n1 := cpu0(e.lab)
	r.AgentCPU, r.LambdaCPU, r.NetBytes = a1-a0, l1-l0, n1-n0
	if err == nil && r.Report.Done != r.Report.Thunks {
		err = errors.New("the run ended before every thunk finished")
	}
	return err
}

// prepareRetry stores the workload's inputs, again if a slot was still
// moving: lab up waits for an even spread, and the coordinator may still
// be moving a few slots after it. Storing again is harmless.
func prepareRetry(ctx context.Context, w workload, c *client.Client, addr string) (*client.Graph, time.Duration, error) {
	for i := 0; ; i++ {
		g, took, err := w.prepare(ctx, c, addr)
		if err == nil || i == 2 || !(strings.Contains(err.Error(), "try again") || strings.Contains(err.Error(), "moving")) {
			return g, took, err
		}
		log.Printf("storing the inputs again: %v", strings.SplitN(err.Error(), "\n", 2)[0])
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// cpu0 reads the lab's counters: agents' and lambdas' CPU, bytes sent.
func cpu0(l *lab) (time.Duration, time.Duration, int64) {
	a, la := l.cpuTimes()
	return a, la, l.netBytes()
}

// summaryLine is the log line of a finished run.
func summaryLine(r *run) string {
	if r.Report == nil {
		return "no report"
	}
	t := &r.Report.Totals
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	return fmt.Sprintf("load %.1f, CPU agents %.1fs lambdas %.1fs, net %.0f MiB, wall %.2fs (lab up %.1fs, upload %.1fs), %d/%d thunks, KV/thunk %.1fms (fetch %.1f store %.1f queue %.1f run %.1f), MiB local %.0f cache %.0f remote %.0f, retries %d",
		r.Load, r.AgentCPU.Seconds(), r.LambdaCPU.Seconds(), mib(r.NetBytes), r.Report.Wall.Seconds(), r.LabUp.Seconds(), r.Upload.Seconds(), r.Report.Done, r.Report.Thunks,
		ms(r.kvPerThunk()), ms(r.perThunk(fetchOf)), ms(r.perThunk(storeOf)), ms(r.perThunk(queueOf)), ms(r.perThunk(runOf)),
		mib(t.BytesLocal), mib(t.BytesCache), mib(t.BytesRemote), r.Report.Retries)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fetchOf(s *client.GraphStats) time.Duration { return s.Fetch }
func storeOf(s *client.GraphStats) time.Duration { return s.Store }
func queueOf(s *client.GraphStats) time.Duration { return s.Queue }
func runOf(s *client.GraphStats) time.Duration   { return s.Run }

// ticker logs a run's progress every ten seconds.
type ticker struct {
	last chan client.GraphProgress
	done chan struct{}
}

func newTicker(total int) *ticker {
	t := &ticker{last: make(chan client.GraphProgress, 1), done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		var g client.GraphProgress
		for {
			select {
			case g = <-t.last:
			case <-tick.C:
				log.Printf("  %d/%d done, %d running, %d queued, %v", g.Done, total, g.Running, g.Queued, g.Elapsed.Round(time.Second))
			case <-t.done:
				return
			}
		}
	}()
	return t
}

// update keeps only the newest progress; it never blocks the runner.
func (t *ticker) update(g client.GraphProgress) {
	select {
	case <-t.last:
	default:
	}
	select {
	case t.last <- g:
	default:
	}
}

func (t *ticker) stop() { close(t.done) }

func gitCommit(repo string) string {
	out, err := exec.Command("git", "-C", repo, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func hostInfo() string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs, %s/%s, kernel %s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		strings.TrimSpace(string(kernel)), runtime.Version())
}
