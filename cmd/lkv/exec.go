package main

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
)

// execSlack is how much longer than the lambda's time limit lkv exec waits
// for an answer: dependency fetches, queueing and storing the outputs.
const execSlack = 30 * time.Second

// placements are the heuristics --placement accepts (DESIGN §7).
var placements = []string{"work-stealing", "most-objects", "most-bytes", "largest-object"}

// execFlags are lkv exec's options.
type execFlags struct {
	args      []string
	deps      []string
	inline    []string
	outs      []string
	outPerm   string
	raw       bool
	timeout   time.Duration
	cpu       time.Duration
	memory    string
	procs     int
	fileSize  string
	openFiles int
	maxOutput string
	placement string
	node      string
}

func (a *app) execCommand() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec KEY [--arg S]... [--dep KEY[:NAME]]... [--inline KEY]... [--out FILE=KEY]... [--raw]",
		Short: "Run the lambda stored at KEY; print its output and exit with its return code",
		Long: `Run the lambda stored at KEY on a node holding its data, print its output on
stdout and exit with its return code (codes outside 0..255 exit 255). An
error (not found, not executable, killed by the sandbox, ...) is one line
on stderr and exit status 1.

--dep KEY[:NAME] writes the value of KEY into the lambda's working directory
as the file NAME (default: the key). It splits at the last colon, so a key
that contains a colon and keeps its own name is written with a trailing
colon: --dep user:1:
--inline KEY passes the value inside the lambda's ExecArgs instead.
--out FILE=KEY stores the file FILE the program leaves in its
working directory as KEY, with --out-perm (default r: immutable).
--raw runs an unmodified static binary: argv is KEY and the --arg values,
stdout is the output and the exit status the return code.`,
		Args: exactArgs(1, "one KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			wait := f.timeout
			if wait == 0 {
				wait = jail.DefaultWall
			}
			ctx, c, done, err := a.dial(cmd, wait+execSlack)
			if err != nil {
				return err
			}
			defer done()
			res, err := c.Exec(ctx, args[0], opts)
			if err != nil {
				// The node's message names the key at fault: the lambda,
				// a dependency or a put.
				return err
			}
			if len(res.Stderr) > 0 {
				_, _ = a.stderr.Write(res.Stderr)
			}
			if _, err := a.stdout.Write(res.Output); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			code := exitCode(res.ReturnCode)
			a.code = &code
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&f.args, "arg", nil, "an argument for the lambda (repeatable; commas are not split)")
	fs.StringArrayVar(&f.deps, "dep", nil, "`KEY[:NAME]`: a value written into the working directory as NAME (repeatable)")
	fs.StringArrayVar(&f.inline, "inline", nil, "`KEY`: a value passed inline in ExecArgs (repeatable)")
	fs.StringArrayVar(&f.outs, "out", nil, "`FILE=KEY`: store the file FILE the lambda leaves as KEY afterwards (repeatable)")
	fs.StringVar(&f.outPerm, "out-perm", "r", "permissions of the --out keys: r, rw, rx or rwx")
	fs.BoolVar(&f.raw, "raw", false, "run an unmodified static binary (argv, stdout, exit status)")
	fs.DurationVar(&f.timeout, "timeout", 0, "the lambda's wall-clock limit (default: the node's, 30s unless configured)")
	fs.DurationVar(&f.cpu, "cpu", 0, "the lambda's CPU time limit (default: the node's)")
	fs.StringVar(&f.memory, "memory", "", "the lambda's memory limit, e.g. 256MiB (default: the node's)")
	fs.IntVar(&f.procs, "procs", 0, "the lambda's limit on processes and threads (default: the node's)")
	fs.StringVar(&f.fileSize, "file-size", "", "the largest file the lambda may write, e.g. 64MiB (default: the node's)")
	fs.IntVar(&f.openFiles, "open-files", 0, "the lambda's limit on open files (default: the node's)")
	fs.StringVar(&f.maxOutput, "max-output", "", "stdout bytes read from the lambda, e.g. 1MiB (default: the node's)")
	fs.StringVar(&f.placement, "placement", "", "where to run it: "+strings.Join(placements, ", "))
	fs.StringVar(&f.node, "node", "", "run on this node (`ID` or HOST:PORT)")
	return cmd
}

// options validates the flags and builds the client's ExecOptions.
func (f *execFlags) options() (client.ExecOptions, error) {
	opts := client.ExecOptions{Args: f.args, Raw: f.raw, Timeout: f.timeout, Node: f.node}
	if f.timeout < 0 {
		return opts, fmt.Errorf("--timeout %s: must not be negative", f.timeout)
	}
	lim, err := f.limits()
	if err != nil {
		return opts, err
	}
	opts.Limits = lim
	if f.placement != "" {
		p, err := client.PlacementByName(f.placement)
		if err != nil {
			return opts, fmt.Errorf("--placement: %w", err)
		}
		opts.Placement = p
	}
	for _, s := range f.deps {
		d, err := parseDep(s)
		if err != nil {
			return opts, err
		}
		opts.Deps = append(opts.Deps, d)
	}
	for _, s := range f.inline {
		if s == "" {
			return opts, fmt.Errorf("--inline: empty key")
		}
		opts.Deps = append(opts.Deps, client.Dep{Key: s})
	}
	perm, err := client.ParsePerm(f.outPerm)
	if err != nil {
		return opts, fmt.Errorf("--out-perm: %w", err)
	}
	for _, s := range f.outs {
		o, err := parseOut(s, perm)
		if err != nil {
			return opts, err
		}
		opts.Outputs = append(opts.Outputs, o)
	}
	return opts, nil
}

// parseDep parses --dep KEY[:NAME], splitting at the last colon. An empty
// NAME (a trailing colon) means the key itself.
func parseDep(s string) (client.Dep, error) {
	key, name := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		key, name = s[:i], s[i+1:]
	}
	if key == "" {
		return client.Dep{}, fmt.Errorf("--dep %q: want KEY or KEY:NAME", s)
	}
	if name != "" {
		if err := checkRelName(name); err != nil {
			return client.Dep{}, fmt.Errorf("--dep %q: file name %w", s, err)
		}
	}
	return client.Dep{Key: key, AsFile: true, Name: name}, nil
}

// parseOut parses --out FILE=KEY, splitting at the first '='.
func parseOut(s string, perm client.Perm) (client.Output, error) {
	file, key, ok := strings.Cut(s, "=")
	if !ok || file == "" || key == "" {
		return client.Output{}, fmt.Errorf("--out %q: want FILE=KEY", s)
	}
	if err := checkRelName(file); err != nil {
		return client.Output{}, fmt.Errorf("--out %q: file %w", s, err)
	}
	return client.Output{File: file, Key: key, Perm: uint8(perm)}, nil
}

// checkRelName rejects names that cannot be in a working directory: an
// absolute path or one with a ".." element. The node checks again.
func checkRelName(name string) error {
	if path.IsAbs(name) {
		return fmt.Errorf("%q must be a relative path", name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return fmt.Errorf("%q must not contain a %q element", name, "..")
		}
	}
	return nil
}

// exitCode maps a lambda's return code to an exit status.
func exitCode(rc int) int {
	if rc < 0 || rc > 255 {
		return 255
	}
	return rc
}

// limits builds the per-execution sandbox limits from the flags; nil when
// none was given.
func (f *execFlags) limits() (*client.ExecLimits, error) {
	var l client.ExecLimits
	sizes := []struct {
		name string
		in   string
		out  *int64
	}{{"--memory", f.memory, &l.Memory}, {"--file-size", f.fileSize, &l.FileSize}, {"--max-output", f.maxOutput, &l.Stdout}}
	for _, sz := range sizes {
		if sz.in == "" {
			continue
		}
		n, err := parseSize(sz.in)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s %q: want a positive size such as 64MiB", sz.name, sz.in)
		}
		*sz.out = n
	}
	if f.cpu < 0 || f.procs < 0 || f.openFiles < 0 {
		return nil, fmt.Errorf("--cpu, --procs and --open-files must not be negative")
	}
	l.CPUMillis = f.cpu.Milliseconds()
	l.Procs, l.OpenFiles = f.procs, f.openFiles
	if l == (client.ExecLimits{}) {
		return nil, nil
	}
	return &l, nil
}
