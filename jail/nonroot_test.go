//go:build linux && amd64

package jail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nonRootEnv = "LKV_JAIL_TEST_NONROOT"

// TestJail_nonRoot re-runs a part of the suite as an unprivileged user
// (nobody), where the jail degrades to seccomp, Landlock, ptrace and
// rlimits, and lambdas run under the node's own uid: the cases that matter
// most there are the ones DAC would not stop (ptrace, signals and /proc
// of the node, its files).
func TestJail_nonRoot(t *testing.T) {
	if os.Getenv(nonRootEnv) != "" {
		nonRootChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("already unprivileged: the rest of the suite covers it")
	}
	if testing.Short() {
		t.Skip("slow")
	}
	needGCC(t)
	dir, err := os.MkdirTemp("", "lkv-jail-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "jail.test")
	if err := os.WriteFile(bin, mustRead(t, os.Args[0]), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	mustWrite(t, secret, "NONROOT-SECRET", 0o644)
	cmd := exec.Command(bin, "-test.run=^TestJail_nonRoot$", "-test.v", "-test.count=1")
	cmd.Env = []string{nonRootEnv + "=" + secret, "PATH=" + os.Getenv("PATH"), "HOME=/tmp", "NODE_SECRET=env-secret-42"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("unprivileged run:\n%s", out)
	if err != nil {
		t.Fatalf("the unprivileged suite failed: %v", err)
	}
}

// nonRootChild is the part of the suite run as nobody.
func nonRootChild(t *testing.T) {
	secret := os.Getenv(nonRootEnv)
	j := newTestJail(t, nil)
	f := j.Features()
	if f.Root || f.UIDs || f.NetNS || f.Cgroup != "" || len(f.Degraded) == 0 {
		t.Errorf("features as nobody: %+v", f)
	}
	run := func(prog string, lim Limits, args ...string) (*Result, string) {
		b := load(t, j, prog, cProgram(t, prog))
		res, err := j.Run(context.Background(), b, &Spec{Args: args, Limits: lim})
		var ke *KillError
		if errors.As(err, &ke) {
			return res, ke.Reason
		}
		if err != nil {
			t.Fatalf("%s: %v", prog, err)
		}
		return res, ""
	}
	ppid := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		prog, kill string
		args       []string
	}{
		{"hostile/ptrace.c", "sandbox: ptrace denied", []string{"parent"}},
		{"hostile/kill.c", "sandbox: kill denied", []string{strconv.Itoa(int(syscall.SIGUSR1))}},
		{"hostile/netlink.c", "sandbox: socket denied", nil},
		{"hostile/fork_bomb.c", "sandbox: fork denied", []string{"/tmp/lkv-nonroot-fork"}},
		{"hostile/proc.c", "sandbox: process_vm_readv denied", []string{ppid, "vm"}},
	} {
		if _, got := run(c.prog, Limits{}, c.args...); got != c.kill {
			t.Errorf("%s: verdict %q; want %q", c.prog, got, c.kill)
		}
	}
	res, _ := run("hostile/proc.c", Limits{}, ppid)
	res2, _ := run("hostile/read_files.c", Limits{}, secret, "/etc/passwd")
	for _, out := range [][]byte{res.Stdout, res2.Stdout} {
		if bytes.Contains(out, []byte("env-secret-42")) || bytes.Contains(out, []byte("NONROOT-SECRET")) ||
			bytes.Contains(out, []byte("root:x:0")) {
			t.Errorf("a secret leaked as nobody:\n%s", out)
		}
	}
	if !strings.Contains(string(res.Stdout), "/environ: errno 13") {
		t.Errorf("reading the node's environ: %s", res.Stdout)
	}
	res, got := run("hostile/mem_bomb.c", Limits{Memory: 64 << 20}, "4096")
	if got != "" || res.ExitCode != 1 || !bytes.Contains(res.Stdout, []byte("malloc failed")) {
		t.Errorf("memory bomb without a cgroup: %q %+v", got, res)
	}
	if _, got := run("hostile/thread_bomb.c", Limits{Procs: 16}); got != "process limit" {
		t.Errorf("thread bomb: %q", got)
	}
	if _, got := run("hostile/loop.c", Limits{Wall: 200 * time.Millisecond}); got != "timeout 200ms" {
		t.Errorf("loop: %q", got)
	}
	if _, err := os.Stat("/tmp/lkv-nonroot-fork.0"); err == nil {
		t.Error("a forked child ran")
	}
}
