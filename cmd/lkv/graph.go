package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
)

func (a *app) graphCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "graph run|gen",
		Short: "Run a graph of thunks (lambdas with declared inputs and outputs), or generate one",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{err: fmt.Errorf("unknown subcommand %q for %q (want run or gen)", args[0], cmd.CommandPath()), cmd: cmd}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.graphRunCommand(), a.graphGenCommand())
	return cmd
}

// graphRunFlags are lkv graph run's options.
type graphRunFlags struct {
	placement  string
	pipeline   int
	attempts   int
	asJSON     bool
	noProgress bool
	perThunk   bool
}

// graphRunJSON is what lkv graph run --json prints: the options, then the
// client's report (docs/graphs.md lists the fields).
type graphRunJSON struct {
	Placement   string `json:"placement"`
	Pipeline    int    `json:"pipeline"`     // per node; 0: each node's capacity
	MaxAttempts int    `json:"max_attempts"` // per thunk
	Error       string `json:"error,omitempty"`
	*client.GraphReport
}

func (a *app) graphRunCommand() *cobra.Command {
	var f graphRunFlags
	cmd := &cobra.Command{
		Use:   "run FILE.json [--placement P] [--pipeline N] [--json]",
		Short: "Run the graph of thunks in FILE.json (- for stdin) and summarize where the time went",
		Long: `Run every thunk of the graph in FILE.json (docs/graphs.md), each after the
thunks that write what it reads. Keys that no thunk writes must exist. A
ready thunk goes to a node with a free slot chosen by --placement; each
node has at most --pipeline executions of the run in flight (default: its
executors plus pipeline). A thunk whose attempt fails (the node killed it,
was busy, timed out or died) runs again elsewhere, up to --attempts times;
one whose lambda returns a non-zero code stops the run.

Progress goes to stderr (redrawn in place on a terminal); the summary -
wall time, fetch, queue, run and store time, KV time (fetch + store), and
where the deps' bytes came from, in all and per node - to stdout, or as one
JSON object with --json.`,
		Args: exactArgs(1, "one FILE.json"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.graphRun(cmd, args[0], &f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.placement, "placement", "most-bytes", "where ready thunks run: "+strings.Join(placements, ", "))
	fs.IntVar(&f.pipeline, "pipeline", 0, "executions of the run in flight per node (default: the node's executors + pipeline)")
	fs.IntVar(&f.attempts, "attempts", 3, "attempts per thunk when a node fails it")
	fs.BoolVar(&f.asJSON, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&f.noProgress, "no-progress", false, "do not show progress on stderr")
	fs.BoolVar(&f.perThunk, "per-thunk", false, "also print one line per thunk")
	return cmd
}

func (a *app) graphRun(cmd *cobra.Command, file string, f *graphRunFlags) error {
	pl, err := client.PlacementByName(f.placement)
	if err != nil {
		return fmt.Errorf("--placement: %w", err)
	}
	if f.pipeline < 0 || f.attempts < 1 {
		return fmt.Errorf("--pipeline must not be negative and --attempts must be at least 1")
	}
	g, err := a.readGraph(file)
	if err != nil {
		return err
	}
	ctx, c, done, err := a.dial(cmd, a.longTimeout())
	if err != nil {
		return err
	}
	defer done()
	opts := client.GraphOptions{Placement: pl, Pipeline: f.pipeline, Attempts: f.attempts}
	var prog *progress
	if !f.noProgress {
		prog = newProgress(a.stderr)
		opts.Progress = prog.update
	}
	rep, err := client.RunGraph(ctx, c, g, opts)
	if prog != nil {
		prog.stop()
	}
	if f.asJSON && rep != nil {
		out := graphRunJSON{Placement: f.placement, Pipeline: f.pipeline, MaxAttempts: f.attempts, GraphReport: rep}
		if err != nil {
			out.Error = err.Error()
		}
		b, jerr := json.Marshal(out)
		if jerr != nil {
			return jerr
		}
		if _, jerr := a.stdout.Write(append(b, '\n')); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return graphError(err)
	}
	if !f.asJSON {
		printGraphSummary(a.stdout, rep, f)
	}
	return nil
}

// readGraph reads and validates the graph in file, or stdin for "-".
func (a *app) readGraph(file string) (*client.Graph, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(a.stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	g, err := client.ParseGraph(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return g, nil
}

// plainError shows an error as its own text. The usual description names
// only the node's status and message, and would drop the thunk's name
// that RunGraph's errors start with.
type plainError struct{ err error }

func (e plainError) Error() string { return e.err.Error() }

func graphError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrNoNodes) {
		return err
	}
	return plainError{err}
}

// longTimeout is the deadline of commands that may run for long (graph
// run, graph gen --put): --timeout if given, else none.
func (a *app) longTimeout() time.Duration {
	if f := a.global.fs.Lookup("timeout"); f != nil && f.Changed {
		return a.global.timeout
	}
	return 0
}
