//go:build linux && amd64

package jail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJail_lifecycle(t *testing.T) {
	j, err := New(&Config{StateDir: filepath.Join(t.TempDir(), "s"), CgroupParent: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.LoadBinary("x", launcherBin); !errors.Is(err, ErrNotStarted) {
		t.Errorf("LoadBinary before Start: %v; want ErrNotStarted", err)
	}
	if f := j.Features(); f.Seccomp {
		t.Errorf("Features before Start = %+v; want zero", f)
	}
	before := runtime.NumGoroutine()
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	if f := j.Features(); !f.Seccomp || !f.Ptrace {
		t.Errorf("Features = %+v; want seccomp and ptrace", f)
	}
	b := load(t, j, "true", launcherBin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := j.Run(ctx, b, &Spec{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Shutdown: %v; want ErrClosed", err)
	}
	if _, err := os.Stat(j.cfg.StateDir); !os.IsNotExist(err) {
		t.Errorf("state dir left: %v", err)
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails unless the goroutine count drops back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJail_Start_fails(t *testing.T) {
	j, err := New(&Config{StateDir: filepath.Join(t.TempDir(), "no", "such", "dir")})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded without a state directory")
	}
	if _, err := j.LoadBinary("x", launcherBin); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadBinary after a failed Start: %v; want ErrClosed", err)
	}
	if err := j.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after a failed Start: %v", err)
	}
}

func TestNew_badConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"negative wall", func(c *Config) { c.Defaults.Wall = -1 }},
		{"negative max memory", func(c *Config) { c.Max.Memory = -1 }},
		{"default above max", func(c *Config) { c.Defaults.Procs, c.Max.Procs = 100, 10 }},
		{"uid range reversed", func(c *Config) { c.UIDRange = [2]int{2000, 1000} }},
		{"uid range zero", func(c *Config) { c.UIDRange = [2]int{0, 10} }},
		{"relative state dir", func(c *Config) { c.StateDir = "state" }},
		{"negative cache", func(c *Config) { c.BinaryCacheBytes = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(c)
			if _, err := New(c); err == nil {
				t.Error("New succeeded; want an error")
			}
		})
	}
	if _, err := New(DefaultConfig()); err != nil {
		t.Errorf("New(DefaultConfig()): %v", err)
	}
	if _, err := New(nil); err != nil {
		t.Errorf("New(nil): %v", err)
	}
}

func TestJail_Run_benignC(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "benign", cProgram(t, "benign/benign.c"))
	spec := &Spec{
		Argv0: "my-lambda", Args: []string{"echo", "7"}, Env: []string{"GREETING=hi"},
		Stdin: bytes.Repeat([]byte("s"), 100000),
		Files: []File{
			{Name: "in.txt", Data: []byte("dependency\n")},
			{Name: "dir/nested.txt", Data: []byte("nested dep\n"), Mode: 0o555},
		},
		Outputs: []string{"out.txt", "sub/out2.txt", "missing.txt", "in.txt"},
	}
	res, err := j.Run(context.Background(), b, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 {
		t.Errorf("exit code %d; want 7", res.ExitCode)
	}
	for _, want := range []string{"argv[0]=my-lambda", "argv[1]=echo", "env GREETING=hi", "stdin 100000 bytes",
		"in.txt: dependency", "dir/nested.txt: nested dep"} {
		if !bytes.Contains(res.Stdout, []byte(want)) {
			t.Errorf("stdout lacks %q:\n%s", want, res.Stdout)
		}
	}
	if string(res.Stderr) != "done\n" {
		t.Errorf("stderr %q; want \"done\\n\"", res.Stderr)
	}
	wantOut := map[string]string{"out.txt": "output of my-lambda\n", "sub/out2.txt": "nested output\n", "in.txt": "dependency\n"}
	if len(res.Outputs) != len(wantOut) {
		t.Errorf("outputs %v; want %v", res.Outputs, wantOut)
	}
	for k, v := range wantOut {
		if string(res.Outputs[k]) != v {
			t.Errorf("output %s = %q; want %q", k, res.Outputs[k], v)
		}
	}
	if res.Wall <= 0 || res.CPU <= 0 {
		t.Errorf("Wall %v CPU %v; want both > 0", res.Wall, res.CPU)
	}
}

func TestJail_Run_benignGo(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "gobenign", goProgram(t, "benign/gobenign"))
	res, err := j.Run(context.Background(), b, &Spec{Args: []string{"x", "5"}, Stdin: []byte("hello"),
		Files: []File{{Name: "in.txt", Data: []byte("go dep")}}, Outputs: []string{"out.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 5 || !bytes.Contains(res.Stdout, []byte("stdin 5 bytes")) ||
		!bytes.Contains(res.Stdout, []byte("in.txt: go dep")) || string(res.Outputs["out.txt"]) != "go output\n" {
		t.Errorf("result %+v\nstdout %s\nstderr %s", res, res.Stdout, res.Stderr)
	}
}

// TestJail_Run_signals checks that a lambda killed by its own signal is
// an exit code, not a jail kill.
func TestJail_Run_signals(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "benign", cProgram(t, "benign/benign.c"))
	for mode, want := range map[string]int{"abort": 128 + 6, "segv": 128 + 11} {
		res, err := j.Run(context.Background(), b, &Spec{Args: []string{mode}})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if res.ExitCode != want {
			t.Errorf("%s: exit code %d; want %d", mode, res.ExitCode, want)
		}
	}
}

// TestJail_Run_goCompiler compiles a small package with the Go compiler
// (a 20+ MB static, multi-threaded program) inside the jail and reads the
// object file back: the allow-list must be complete enough for real tools.
func TestJail_Run_goCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	out, err := exec.Command("go", "env", "GOTOOLDIR").Output()
	if err != nil {
		t.Skip("no go tool:", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "compile"))
	if err != nil {
		t.Skip(err)
	}
	j := newTestJail(t, nil)
	b := load(t, j, "go-compile", data)
	spec := &Spec{
		Argv0: "compile",
		Args:  []string{"-p", "p", "-o", "out.a", "-trimpath", "$PWD", "-importcfg", "importcfg", "-pack", "-c", "2", "a.go", "b.go"},
		Files: []File{
			{Name: "a.go", Data: []byte("package p\n\ntype T struct{ A, B int }\n\nfunc (t T) Sum() int { return add(t.A, t.B) }\n")},
			{Name: "b.go", Data: []byte("package p\n\nfunc add(x, y int) int { return x + y }\n\nvar Table = map[string]int{\"a\": 1, \"b\": 2}\n")},
			{Name: "importcfg", Data: []byte("# no imports\n")},
		},
		Outputs: []string{"out.a"},
		Limits:  Limits{Wall: 60 * time.Second},
	}
	res, err := j.Run(context.Background(), b, spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	obj := res.Outputs["out.a"]
	if res.ExitCode != 0 || !bytes.HasPrefix(obj, []byte("!<arch>\n")) || !bytes.Contains(obj, []byte("go object")) || !bytes.Contains(obj, []byte("p.T.Sum")) {
		t.Fatalf("exit %d, %d bytes of out.a\nstdout %s\nstderr %s", res.ExitCode, len(obj), res.Stdout, res.Stderr)
	}
	t.Logf("compiled in %v (CPU %v), out.a %d bytes", res.Wall, res.CPU, len(obj))
}

func TestJail_Run_badSpec(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "true", launcherBin)
	tests := []struct {
		name string
		spec Spec
		want error
	}{
		{"absolute file", Spec{Files: []File{{Name: "/etc/x"}}}, ErrBadName},
		{"dotdot file", Spec{Files: []File{{Name: "../x"}}}, ErrBadName},
		{"unclean file", Spec{Files: []File{{Name: "a//b"}}}, ErrBadName},
		{"dot output", Spec{Outputs: []string{"."}}, ErrBadName},
		{"absolute output", Spec{Outputs: []string{"/etc/shadow"}}, ErrBadName},
		{"dotdot output", Spec{Outputs: []string{"a/../../x"}}, ErrBadName},
		{"duplicate file", Spec{Files: []File{{Name: "a"}, {Name: "a"}}}, ErrBadSpec},
		{"file under file", Spec{Files: []File{{Name: "a"}, {Name: "a/b"}}}, ErrBadSpec},
		{"NUL arg", Spec{Args: []string{"a\x00b"}}, ErrBadSpec},
		{"negative limit", Spec{Limits: Limits{Memory: -1}}, ErrBadSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := j.Run(context.Background(), b, &tt.spec); !errors.Is(err, tt.want) {
				t.Errorf("Run: %v; want %v", err, tt.want)
			}
		})
	}
	if _, err := j.Run(context.Background(), nil, &Spec{}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Run(nil Binary): %v; want ErrBadSpec", err)
	}
}

func TestJail_Run_limitsCapped(t *testing.T) {
	j := newTestJail(t, func(c *Config) {
		c.Defaults.Wall, c.Max.Wall = 200*time.Millisecond, 300*time.Millisecond
	})
	b := load(t, j, "sleep", cProgram(t, "hostile/sleep.c"))
	for _, tt := range []struct {
		ask  time.Duration
		want string
	}{{0, "timeout 200ms"}, {time.Hour, "timeout 300ms"}, {100 * time.Millisecond, "timeout 100ms"}} {
		_, err := j.Run(context.Background(), b, &Spec{Limits: Limits{Wall: tt.ask}})
		var ke *KillError
		if !errors.As(err, &ke) || ke.Reason != tt.want {
			t.Errorf("Wall %v: %v; want %q", tt.ask, err, tt.want)
		}
	}
}

// TestJail_Run_cancel checks that cancelling the context kills the lambda
// at once, and that nothing is left when Run returns.
func TestJail_Run_cancel(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "sleep", cProgram(t, "hostile/sleep.c"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := j.Run(ctx, b, &Spec{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run: %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Run took %v after cancellation", d)
	}
	checkNoLeftovers(t, j)
}

// TestJail_Shutdown_running checks that Shutdown kills a running lambda
// and waits for it.
func TestJail_Shutdown_running(t *testing.T) {
	j := newTestJail(t, nil)
	b := load(t, j, "sleep", cProgram(t, "hostile/sleep.c"))
	errc := make(chan error, 1)
	go func() {
		_, err := j.Run(context.Background(), b, &Spec{})
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Run during Shutdown: %v; want ErrClosed", err)
	}
	if pids := processesOf(j); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
}

// TestJail_Run_concurrent runs many lambdas at once, mixing normal exits
// and kills, and checks every verdict.
func TestJail_Run_concurrent(t *testing.T) {
	j := newTestJail(t, nil)
	ok := load(t, j, "benign", cProgram(t, "benign/benign.c"))
	bad := load(t, j, "socket", cProgram(t, "hostile/netlink.c"))
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 0 {
				_, err := j.Run(context.Background(), bad, &Spec{})
				var ke *KillError
				if !errors.As(err, &ke) || ke.Reason != "sandbox: socket denied" {
					t.Errorf("hostile run %d: %v", i, err)
				}
				return
			}
			res, err := j.Run(context.Background(), ok, &Spec{Args: []string{"echo", "1"}, Files: []File{{Name: "in.txt", Data: []byte("x\n")}}})
			if err != nil || res.ExitCode != 1 {
				t.Errorf("benign run %d: %v %+v", i, err, res)
			}
		}()
	}
	wg.Wait()
}

// TestJail_Run_landlockABIs runs with the Landlock features of older
// kernels (the launcher handles only what the ABI knows) and without
// Landlock at all (as root, the per-run uid's permissions are then the
// only filesystem confinement).
func TestJail_Run_landlockABIs(t *testing.T) {
	j := newTestJail(t, nil)
	outside := t.TempDir()
	os.Chmod(outside, 0o777)
	b := load(t, j, "write", cProgram(t, "hostile/write_outside.c"))
	for _, abi := range []int{1, 2, 3, 4, 5, 6, 0} {
		if abi > j.features.Landlock {
			continue
		}
		j.landlock = newLandlockPolicy(abi) // no run is in flight
		target := filepath.Join(outside, "abi"+string(rune('0'+abi)))
		res, err := j.Run(context.Background(), b, &Spec{Args: []string{target},
			Files: []File{{Name: "in.txt", Data: []byte("x")}}})
		if err != nil {
			t.Fatalf("ABI %d: %v", abi, err)
		}
		_, statErr := os.Stat(target)
		created := statErr == nil
		if abi > 0 && created {
			t.Errorf("ABI %d: the lambda wrote outside its directory:\n%s", abi, res.Stdout)
		}
		if abi == 0 && j.features.Root && !created {
			t.Logf("without Landlock the world-writable directory was still protected:\n%s", res.Stdout)
		}
	}
	j.landlock = newLandlockPolicy(j.features.Landlock)
}

// TestJail_Start_stateDirInUse checks that two jails never share a state
// directory (the second would remove the first's files).
func TestJail_Start_stateDirInUse(t *testing.T) {
	j := newTestJail(t, nil)
	k, err := New(&Config{StateDir: j.cfg.StateDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Start(context.Background()); err == nil {
		k.Shutdown(context.Background())
		t.Fatal("a second jail started on the same state directory")
	}
	if _, err := os.Stat(j.launcherPath); err != nil {
		t.Errorf("the first jail's launcher is gone: %v", err)
	}
}

// TestJail_twoInOneProcess starts two jails with default state
// directories in one process (an in-process test cluster does).
func TestJail_twoInOneProcess(t *testing.T) {
	var js []*Jail
	for range 2 {
		j, err := New(&Config{CgroupParent: "/"})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		js = append(js, j)
	}
	if js[0].cfg.StateDir == js[1].cfg.StateDir {
		t.Error("both jails use one state directory")
	}
	if f := js[1].Features(); js[0].Features().Cgroup != "" && f.Cgroup == "" {
		t.Errorf("the second jail has no cgroups: %+v", f)
	}
	for _, j := range js {
		if res, err := j.Run(context.Background(), load(t, j, "t", launcherBin), &Spec{Argv0: "lkv-jail-selftest"}); err != nil || res.ExitCode != 0 {
			t.Errorf("Run: %v", err)
		}
	}
	for _, j := range js {
		if err := j.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(j.cfg.StateDir); !os.IsNotExist(err) {
			t.Errorf("%s left behind", j.cfg.StateDir)
		}
	}
}
