package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/internal/gobuild"
)

// gobuildFlags are lkv gobuild's options.
type gobuildFlags struct {
	output    string
	placement string
	parallel  int
	exact     bool
	verify    bool
	local     bool
	verbose   bool
	trimpath  bool
	tags      string
	ldflags   string
}

func (a *app) gobuildCommand() *cobra.Command {
	var f gobuildFlags
	cmd := &cobra.Command{
		Use:   "gobuild [-o FILE] [--placement P] [PACKAGES]",
		Short: "Build Go packages through the cluster, one sandboxed tool run per step of go build -a",
		Long: `Build Go packages (default: std) through the cluster. lkv gobuild asks the local
go command for the steps of "go build -a" (CGO_ENABLED=0), uploads the
toolchain's binaries and the sources as content-addressed keys, and runs every
compile, asm, pack, buildid and link step as a raw-mode lambda on the node
the placement picks. Outputs are immutable keys named by a hash of the step,
so a build whose outputs are already stored runs nothing again.

Run it inside a module, as go build. -o writes the linked binary of a main
package. --exact plans with a real local build (go build -a -x) so that
build IDs, and so every archive, are byte-identical to go's; --verify also
compares them. The nodes' max_limits must allow compiling runtime: about
10 s of CPU and 512 MiB of memory (docs/gobuild.md).`,
		RunE: func(cmd *cobra.Command, args []string) error { return a.gobuild(cmd, args, &f) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.output, "output", "o", "", "write the linked binary of the main package to `FILE`")
	fs.StringVar(&f.placement, "placement", "", "where to run each step: "+strings.Join(placements, ", "))
	fs.IntVarP(&f.parallel, "jobs", "j", 0, "steps in flight per node (default: what each node says it takes; with --local, 2 in all)")
	fs.BoolVar(&f.exact, "exact", false, "plan with a real local build, for build IDs identical to go's")
	fs.BoolVar(&f.verify, "verify", false, "compare every output with a local go build (implies --exact)")
	fs.BoolVar(&f.local, "local", false, "run the steps on this machine, unsandboxed, instead of the cluster")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print every step with its node and timings")
	fs.BoolVar(&f.trimpath, "trimpath", false, "as go build -trimpath")
	fs.StringVar(&f.tags, "tags", "", "as go build -tags")
	fs.StringVar(&f.ldflags, "ldflags", "", "as go build -ldflags")
	return cmd
}

func (a *app) gobuild(cmd *cobra.Command, args []string, f *gobuildFlags) error {
	start := time.Now()
	var placement client.Placement
	if f.placement != "" {
		p, err := client.PlacementByName(f.placement)
		if err != nil {
			return usageErrorf("--placement: %v", err)
		}
		placement = p
	}
	if f.parallel < 0 {
		return usageErrorf("--jobs %d: must not be negative", f.parallel)
	}
	b, err := gobuild.MakePlan(cmd.Context(), gobuild.PlanOptions{
		Packages: args, Flags: f.goFlags(), Link: f.output != "", Exact: f.exact || f.verify,
	})
	if err != nil {
		return err
	}
	defer b.Close()
	s := &buildSummary{build: b, plan: time.Since(start)}
	ctx := cmd.Context()
	var get func(context.Context, string) ([]byte, error)
	if f.local {
		le := gobuild.NewLocalExecutor(b.Uploads)
		get = func(_ context.Context, k string) ([]byte, error) { return le.Get(k) }
		s.graph = &b.Graph
		s.report, err = gobuild.Run(ctx, &b.Graph, le, gobuild.RunOptions{Parallel: cmp.Or(f.parallel, 2)})
	} else {
		timeout := time.Duration(0) // a build takes what it takes, unless told
		if fl := cmd.Flag("timeout"); fl != nil && fl.Changed {
			timeout = a.global.timeout
		}
		dctx, c, done, derr := a.dial(cmd, timeout)
		if derr != nil {
			return derr
		}
		defer done()
		ctx, get = dctx, c.Get
		err = a.gobuildCluster(ctx, c, f, placement, s)
	}
	if err != nil {
		return limitHint(err)
	}
	if f.output != "" {
		exe, err := get(ctx, b.Binary)
		if err != nil {
			return fmt.Errorf("get the linked binary: %w", err)
		}
		if err := writeExecutable(f.output, exe); err != nil {
			return err
		}
	}
	if f.verify {
		if err := verifyOutputs(ctx, a.stdout, b, get); err != nil {
			return err
		}
	}
	s.total = time.Since(start)
	s.print(a.stdout, f.verbose)
	return nil
}

// gobuildCluster uploads what the cluster lacks and runs the steps whose
// outputs it does not hold yet.
func (a *app) gobuildCluster(ctx context.Context, c *client.Client, f *gobuildFlags, pl client.Placement, s *buildSummary) error {
	var err error
	b := s.build
	if s.upload, err = gobuild.UploadFiles(ctx, c, b.Uploads); err != nil {
		return err
	}
	have, err := gobuild.Existing(ctx, c, gobuild.OutputKeys(&b.Graph))
	if err != nil {
		return err
	}
	s.graph = gobuild.Pending(&b.Graph, have)
	if s.graph == nil {
		return nil // every output is stored already
	}
	s.report, err = client.RunGraph(ctx, c, s.graph, client.GraphOptions{Placement: pl, Pipeline: f.parallel})
	return err
}

func (f *gobuildFlags) goFlags() []string {
	var fl []string
	if f.trimpath {
		fl = append(fl, "-trimpath")
	}
	if f.tags != "" {
		fl = append(fl, "-tags", f.tags)
	}
	if f.ldflags != "" {
		fl = append(fl, "-ldflags", f.ldflags)
	}
	return fl
}

// limitHint adds what to do when a node's limits stop a compile.
func limitHint(err error) error {
	s := err.Error()
	for _, l := range []string{"cpu limit", "memory limit", "timeout", "process limit", "file size limit"} {
		if strings.Contains(s, l) {
			return fmt.Errorf("%w (the nodes' max_limits are too low for the Go toolchain: see docs/gobuild.md)", err)
		}
	}
	return err
}

// writeExecutable writes data to file with mode 0755, replacing it whole.
func writeExecutable(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".lkv-gobuild-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// verifyOutputs compares every archive and the binary with go's.
func verifyOutputs(ctx context.Context, w io.Writer, b *gobuild.Build, get func(context.Context, string) ([]byte, error)) error {
	var bad []string
	for key, rel := range b.Work {
		want := filepath.Join(b.WorkDir, rel)
		if key == b.Binary {
			want = b.ExeFile
		}
		wb, err := os.ReadFile(want)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		gb, err := get(ctx, key)
		if err != nil {
			return fmt.Errorf("verify: get %s: %w", key, err)
		}
		if !bytes.Equal(gb, wb) {
			bad = append(bad, rel)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("verify: %d of %d outputs differ from go build: %s", len(bad), len(b.Work), strings.Join(bad, " "))
	}
	fmt.Fprintf(w, "verified: %d outputs byte-identical to go build\n", len(b.Work))
	return nil
}

// buildSummary is what lkv gobuild reports.
type buildSummary struct {
	build  *gobuild.Build
	graph  *client.Graph // the steps that ran; nil if none had to
	report *client.GraphReport
	upload gobuild.UploadStats
	plan   time.Duration
	total  time.Duration
}

// print says what was built, how long each phase took and where the
// steps' time went on the nodes.
func (s *buildSummary) print(w io.Writer, verbose bool) {
	b := s.build
	ran := 0
	if s.report != nil {
		ran = s.report.Done
	}
	fmt.Fprintf(w, "built %d packages", len(b.Packages))
	if b.Binary != "" {
		fmt.Fprint(w, " and a binary")
	}
	fmt.Fprintf(w, " in %v: %d of %d steps ran, the others' outputs were stored already\n",
		s.total.Round(time.Millisecond), ran, len(b.Graph.Thunks))
	var run time.Duration
	if s.report != nil {
		run = s.report.Wall
	}
	fmt.Fprintf(w, "  plan %v (go %v), upload %v (%d keys stored, %d present, %d bytes), run %v\n",
		s.plan.Round(time.Millisecond), b.LogTime.Round(time.Millisecond), s.upload.Wall.Round(time.Millisecond),
		s.upload.Stored, s.upload.Present, s.upload.Bytes, run.Round(time.Millisecond))
	if s.report == nil {
		return
	}
	r := s.report
	fmt.Fprintf(w, "  steps' time on the nodes, summed: fetch %v, queue %v, run %v, store %v; %d retries\n",
		r.Totals.Fetch.Round(time.Millisecond), r.Totals.Queue.Round(time.Millisecond),
		r.Totals.Run.Round(time.Millisecond), r.Totals.Store.Round(time.Millisecond), r.Retries)
	fmt.Fprintf(w, "  dependency bytes: %d local, %d cached, %d remote\n", r.Totals.BytesLocal, r.Totals.BytesCache, r.Totals.BytesRemote)
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "  node %s: %d steps, run %v\n", n.ID, n.Thunks, n.Run.Round(time.Millisecond))
	}
	if verbose {
		for _, t := range r.PerThunk {
			fmt.Fprintf(w, "  %-48s %-10s start %7.3fs end %7.3fs fetch %6.3fs queue %6.3fs run %6.3fs store %6.3fs\n",
				t.ID, t.Node, t.Start.Seconds(), t.End.Seconds(), t.Fetch.Seconds(), t.Queue.Seconds(), t.Run.Seconds(), t.Store.Seconds())
		}
	}
}
