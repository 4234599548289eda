package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// Toolchain is the local Go installation, as `go env` describes it.
type Toolchain struct {
	Go         string // the go command
	GOROOT     string
	GOTOOLDIR  string
	GOVERSION  string
	GOHOSTOS   string
	GOHOSTARCH string
	// Env is what every thunk gets: the settings that change what the
	// tools generate (GOOS, GOARCH, GOAMD64, GOEXPERIMENT, GOFIPS140...).
	Env []string
}

// thunkEnv are the `go env` settings passed to every tool run.
var thunkEnv = []string{
	"GOOS", "GOARCH", "GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64",
	"GOPPC64", "GORISCV64", "GOWASM", "GOEXPERIMENT", "GOFIPS140",
}

// LoadToolchain asks goCmd ("go" if empty) for its settings, run in dir.
func LoadToolchain(ctx context.Context, goCmd, dir string) (*Toolchain, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	names := append([]string{"GOROOT", "GOTOOLDIR", "GOVERSION", "GOHOSTOS", "GOHOSTARCH"}, thunkEnv...)
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"env", "-json"}, names...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w%s", err, stderrOf(err))
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	tc := &Toolchain{
		Go: goCmd, GOROOT: env["GOROOT"], GOTOOLDIR: env["GOTOOLDIR"], GOVERSION: env["GOVERSION"],
		GOHOSTOS: env["GOHOSTOS"], GOHOSTARCH: env["GOHOSTARCH"],
	}
	for _, k := range thunkEnv {
		if v := env[k]; v != "" {
			tc.Env = append(tc.Env, k+"="+v)
		}
	}
	return tc, nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// Tools returns the static binaries the thunks run: compile, asm and link
// from GOTOOLDIR, and pack and buildid, which the distribution does not
// ship (go runs them in-process), built once from its own sources into
// cacheDir (default: the user's cache directory) and reused.
func (tc *Toolchain) Tools(ctx context.Context, cacheDir string) (map[string]string, error) {
	tools := make(map[string]string)
	for _, t := range []string{"compile", "asm", "link"} {
		tools[t] = filepath.Join(tc.GOTOOLDIR, t)
	}
	if cacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for pack and buildid: %w", err)
		}
		cacheDir = filepath.Join(d, "lkv", "gobuild")
	}
	sum := sha256.Sum256([]byte(tc.GOROOT + "\x00" + tc.GOVERSION))
	dir := filepath.Join(cacheDir, tc.GOVERSION+"-"+hex.EncodeToString(sum[:6]))
	tools["pack"] = filepath.Join(dir, "pack")
	tools["buildid"] = filepath.Join(dir, "buildid")
	if fileExists(tools["pack"]) && fileExists(tools["buildid"]) {
		return tools, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, tc.Go, "build", "-trimpath", "-o", tmp+"/", "cmd/pack", "cmd/buildid")
	cmd.Dir = filepath.Join(tc.GOROOT, "src")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tc.GOHOSTOS, "GOARCH="+tc.GOHOSTARCH, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build pack and buildid: %w: %s", err, out)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil && !fileExists(tools["pack"]) {
		return nil, err
	}
	return tools, nil
}

// PlanOptions say what to build.
type PlanOptions struct {
	// Dir is where go runs (the module); empty means the current
	// directory.
	Dir string
	// Packages are the go build arguments; empty means "std".
	Packages []string
	// Flags are more go build flags (-trimpath, -tags, -ldflags...).
	Flags []string
	// Link asks for the linked binary of a single main package.
	Link bool
	// Exact makes the plan with a real local build (`go build -a -x
	// -work`), whose build IDs are the real ones: every output is then
	// byte-identical to go's, and WorkDir keeps go's outputs. Otherwise
	// the plan comes from `go build -a -n`, which builds nothing.
	Exact bool
	// ToolCache is where pack and buildid are kept (see Toolchain.Tools).
	ToolCache string
	// Timeout and Limits are given to every thunk; zero and nil mean
	// DefaultTimeout and DefaultLimits. Nodes cap them at their maxima.
	Timeout time.Duration
	Limits  *client.ExecLimits
}

// DefaultTimeout is a thunk's wall-clock limit: compiling runtime takes
// about 10 s of CPU on a slow or busy machine.
const DefaultTimeout = 5 * time.Minute

// DefaultLimits returns the sandbox limits a thunk asks for: compiling
// runtime or net/http takes up to 10 s of CPU and 300 MB of memory (plus
// its inputs, which count too when the working directory is a tmpfs), and
// link opens every archive of the program.
func DefaultLimits() *client.ExecLimits {
	return &client.ExecLimits{
		CPUMillis: 120_000, Memory: 2 << 30, Procs: 64, FileSize: 1 << 30, OpenFiles: 1024,
	}
}

// Build is a translated build.
type Build struct {
	*Plan
	Toolchain *Toolchain
	// WorkDir is go's work directory of an Exact plan (the caller removes
	// it), and ExeFile the binary go linked there, if any.
	WorkDir string
	ExeFile string
	// LogTime is how long go took to print the plan.
	LogTime time.Duration
}

// MakePlan runs go for the build's commands and translates them.
func MakePlan(ctx context.Context, o PlanOptions) (*Build, error) {
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	tc, err := LoadToolchain(ctx, "", dir)
	if err != nil {
		return nil, err
	}
	tools, err := tc.Tools(ctx, o.ToolCache)
	if err != nil {
		return nil, err
	}
	b := &Build{Toolchain: tc}
	start := time.Now()
	log, err := b.goLog(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	b.LogTime = time.Since(start)
	parsed, err := ParseLog(log, dir)
	if err != nil {
		b.cleanup()
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Limits == nil {
		o.Limits = DefaultLimits()
	}
	b.Plan, err = Translate(parsed, Options{
		GOROOT: tc.GOROOT, Env: tc.Env, Tools: tools, Timeout: o.Timeout, Limits: o.Limits,
	})
	if err != nil {
		b.cleanup()
		return nil, err
	}
	if o.Link && b.Binary == "" {
		b.cleanup()
		return nil, fmt.Errorf("%s: not a main package, nothing to link", strings.Join(o.Packages, " "))
	}
	return b, nil
}

// goLog runs go build -a -n (or -x -work) and returns what it printed.
func (b *Build) goLog(ctx context.Context, dir string, o PlanOptions) ([]byte, error) {
	args := []string{"build", "-a", "-n"}
	if o.Exact {
		args = []string{"build", "-a", "-x", "-work"}
	}
	args = append(args, o.Flags...)
	tmp, err := os.MkdirTemp("", "lkv-gobuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if o.Link {
		b.ExeFile = filepath.Join(tmp, "a.out")
		args = append(args, "-o", b.ExeFile)
	}
	pkgs := o.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"std"}
	}
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, b.Toolchain.Go, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	log := stderr.Bytes()
	if o.Exact {
		if w, ok := bytes.CutPrefix(log, []byte("WORK=")); ok {
			b.WorkDir = string(bytes.TrimSpace(w[:bytes.IndexByte(w, '\n')+1]))
		}
		if b.ExeFile != "" {
			// Keep go's binary for comparing, beside its work directory.
			keep := filepath.Join(b.WorkDir, "go-linked.out")
			if err == nil && os.Rename(b.ExeFile, keep) == nil {
				b.ExeFile = keep
			}
		}
	}
	if !o.Exact {
		b.ExeFile = "" // -n writes nothing
	}
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(log, 2000))
	}
	return log, nil
}

func (b *Build) cleanup() {
	if b.WorkDir != "" {
		os.RemoveAll(b.WorkDir)
	}
}

// Close removes the work directory of an Exact plan.
func (b *Build) Close() { b.cleanup() }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
