//go:build linux && amd64

package jail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hostileEnv is what the hostile lambdas aim at: listeners that must see
// no traffic, a secret in a "data dir" that DAC alone would let them read,
// and a world-writable directory outside the working directory.
type hostileEnv struct {
	secret     string // contents of secretPath
	secretPath string
	outside    string // a 0777 directory outside the jail
	tcp, tcp6  string // listener addresses
	udpPort    string
	abstract   string // "@name" of an abstract AF_UNIX listener
	unixPath   string // path of an AF_UNIX listener
	hits       atomic.Int64
	signals    chan os.Signal
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	e := &hostileEnv{secret: fmt.Sprintf("SECRET-%d-%d", os.Getpid(), time.Now().UnixNano())}
	data := t.TempDir()
	e.secretPath = filepath.Join(data, "node.db")
	mustWrite(t, e.secretPath, e.secret+"\n", 0o644)
	for _, d := range []string{data, filepath.Dir(data)} {
		_ = os.Chmod(d, 0o755) // so that uid permissions alone would not stop a read
	}
	e.outside = t.TempDir()
	_ = os.Chmod(e.outside, 0o777)
	e.listen(t)
	e.signals = make(chan os.Signal, 8)
	signal.Notify(e.signals, syscall.SIGUSR1)
	t.Cleanup(func() { signal.Stop(e.signals) })
	return e
}

func mustWrite(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, mode)
}

// listen opens every listener and counts what reaches them.
func (e *hostileEnv) listen(t *testing.T) {
	t.Helper()
	accept := func(l net.Listener) {
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				e.hits.Add(1)
				c.Close()
			}
		}()
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.tcp = l.Addr().String()
	accept(l)
	if l6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		e.tcp6 = l6.Addr().String()
		accept(l6)
	} else {
		e.tcp6 = "[::1]:9" // no IPv6 here: the socket call is what is tested
	}
	e.abstract = fmt.Sprintf("@lkv-jail-test-%d", os.Getpid())
	if la, err := net.Listen("unix", e.abstract); err == nil {
		accept(la)
	}
	e.unixPath = filepath.Join(e.outside, "sock")
	lp, err := net.Listen("unix", e.unixPath)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(e.unixPath, 0o777)
	accept(lp)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	_, e.udpPort, _ = net.SplitHostPort(pc.LocalAddr().String())
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			e.hits.Add(1)
		}
	}()
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// hostileCase is one attack: a program, its arguments, and what must (not)
// happen.
type hostileCase struct {
	name   string
	prog   string // testdata/hostile/<prog>.c, or "go:<dir>"
	args   func(*hostileEnv) []string
	limits Limits
	files  []File
	outs   []string
	kill   string // the expected KillError reason; "" for a normal exit
	anyOf  []string
	check  func(t *testing.T, e *hostileEnv, res *Result)
}

// notExist returns a check that path was not created.
func notExist(paths ...string) func(*testing.T, *hostileEnv, *Result) {
	return func(t *testing.T, _ *hostileEnv, _ *Result) {
		for _, p := range paths {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists (err %v): the lambda escaped", p, err)
			}
		}
	}
}

// outputHas returns a check that stdout contains each of want.
func outputHas(want ...string) func(*testing.T, *hostileEnv, *Result) {
	return func(t *testing.T, _ *hostileEnv, res *Result) {
		for _, w := range want {
			if !bytes.Contains(res.Stdout, []byte(w)) {
				t.Errorf("stdout %q lacks %q", res.Stdout, w)
			}
		}
	}
}

func hostileCases(e *hostileEnv) []hostileCase {
	escape := func(n string) string { return filepath.Join(e.outside, n) }
	in := []File{{Name: "in.txt", Data: []byte("benign\n")}}
	cases := []hostileCase{
		{name: "tcp", prog: "net_tcp", args: func(e *hostileEnv) []string { return []string{port(e.tcp)} }, kill: "sandbox: socket denied"},
		{name: "udp", prog: "net_udp", args: func(e *hostileEnv) []string { return []string{e.udpPort} }, kill: "sandbox: socket denied"},
		{name: "ipv6", prog: "net_ipv6", args: func(e *hostileEnv) []string { return []string{port(e.tcp6), "::1"} }, kill: "sandbox: socket denied"},
		{name: "ipv4-mapped", prog: "net_ipv6", args: func(e *hostileEnv) []string { return []string{port(e.tcp), "::ffff:127.0.0.1"} }, kill: "sandbox: socket denied"},
		{name: "unix-abstract", prog: "unix_sock", args: func(e *hostileEnv) []string { return []string{e.abstract} }, kill: "sandbox: socket denied"},
		{name: "unix-path", prog: "unix_sock", args: func(e *hostileEnv) []string { return []string{e.unixPath} }, kill: "sandbox: socket denied"},
		{name: "netlink", prog: "netlink", kill: "sandbox: socket denied"},
		{name: "socketpair", prog: "socketpair", kill: "sandbox: socketpair denied"},
		{name: "go-dial", prog: "go:hostile/gonet", args: func(e *hostileEnv) []string { return []string{e.tcp} }, kill: "sandbox: socket denied"},
		{name: "write-outside", prog: "write_outside", files: in,
			args:  func(e *hostileEnv) []string { return []string{escape("created"), "../up", "/tmp/lkv-jail-escape"} },
			check: chain(notExist(escape("created"), "/tmp/lkv-jail-escape"), outputHas(escape("created")+": errno 13", "mkdir: errno 13"))},
		{name: "read-secrets", prog: "read_files",
			args:  func(e *hostileEnv) []string { return []string{"/etc/shadow", e.secretPath, "/", "../", "/etc/"} },
			check: outputHas("/etc/shadow: errno 13", e.secretPath+": errno 13", "/: errno 13")},
		{name: "links", prog: "links", args: func(e *hostileEnv) []string { return []string{e.secretPath} },
			outs:  []string{"sym", "hard", "hard2", "moved", "fifo", "dir", "root/etc/passwd"},
			check: chain(outputHas("symlink: errno 1", "link: errno 1", "mkfifo: errno 1"), noOutputs)},
		{name: "exec-sh", prog: "exec_sh", args: func(e *hostileEnv) []string { return []string{escape("sh-ran")} },
			kill: "sandbox: execve denied", check: notExist(escape("sh-ran"))},
		{name: "exec-self", prog: "exec_self", anyOf: []string{"sandbox: execve denied", ""},
			check: func(t *testing.T, _ *hostileEnv, res *Result) {
				if res != nil && bytes.Contains(res.Stdout, []byte("re-executed")) {
					t.Error("the lambda executed a second program")
				}
			}},
		{name: "fork-bomb", prog: "fork_bomb", args: func(e *hostileEnv) []string { return []string{escape("forked")} },
			kill: "sandbox: fork denied", check: notExist(escape("forked.0"))},
		{name: "vfork-bomb", prog: "fork_bomb", args: func(e *hostileEnv) []string { return []string{escape("vforked"), "vfork"} },
			kill: "sandbox: fork denied", check: notExist(escape("vforked.0"))},
		{name: "thread-bomb", prog: "thread_bomb", limits: Limits{Procs: 16}, kill: "process limit"},
		{name: "go-thread-bomb", prog: "go:hostile/gothreads", limits: Limits{Procs: 24}, kill: "process limit"},
		{name: "memory-bomb", prog: "mem_bomb", args: func(*hostileEnv) []string { return []string{"4096"} },
			limits: Limits{Memory: 64 << 20}, anyOf: []string{"memory limit", ""},
			check: func(t *testing.T, _ *hostileEnv, res *Result) {
				if bytes.Contains(res.Stdout, []byte("allocated")) {
					t.Errorf("allocated beyond the limit: %s", res.Stdout)
				}
			}},
		{name: "file-size", prog: "../benign/benign", args: func(*hostileEnv) []string { return []string{"bigfile", "1048576"} },
			limits: Limits{FileSize: 64 << 10}, kill: "file size limit"},
		{name: "infinite-loop", prog: "loop", limits: Limits{Wall: 300 * time.Millisecond}, kill: "timeout 300ms"},
		{name: "cpu-limit", prog: "loop", limits: Limits{CPU: time.Second, Wall: 20 * time.Second}, kill: "cpu limit"},
		{name: "sleep-forever", prog: "sleep", limits: Limits{Wall: 200 * time.Millisecond}, kill: "timeout 200ms"},
		{name: "stdout-flood", prog: "stdout_flood", limits: Limits{Stdout: 1 << 20}, kill: "output limit",
			check: func(t *testing.T, _ *hostileEnv, res *Result) {
				if res == nil || len(res.Stdout) != 1<<20 {
					t.Errorf("partial stdout: %d bytes; want exactly the limit", len(res.Stdout))
				}
			}},
		{name: "stdout-closed", prog: "stdout_closed", check: func(t *testing.T, _ *hostileEnv, res *Result) {
			if res.ExitCode != 3 || len(res.Stdout) != 0 || !bytes.Contains(res.Stderr, []byte("closed stdout")) {
				t.Errorf("exit %d stdout %q stderr %q; want 3, nothing, \"closed stdout\"", res.ExitCode, res.Stdout, res.Stderr)
			}
		}},
		{name: "int80", prog: "int80", args: func(e *hostileEnv) []string { return []string{escape("int80")} },
			kill: "sandbox: foreign syscall ABI denied", check: notExist(escape("int80"))},
		{name: "x32", prog: "x32", args: func(e *hostileEnv) []string { return []string{escape("x32")} },
			kill: "sandbox: foreign syscall ABI denied", check: notExist(escape("x32"))},
		{name: "clone-untraced-process", prog: "clone_untraced", args: func(e *hostileEnv) []string { return []string{escape("untraced-p")} },
			kill: "sandbox: fork denied", check: notExist(escape("untraced-p"))},
		{name: "clone-untraced-thread", prog: "clone_untraced", args: func(e *hostileEnv) []string { return []string{escape("untraced-t"), "thread"} },
			kill: "sandbox: clone denied", check: notExist(escape("untraced-t"))},
		{name: "clone3", prog: "clone3", args: func(e *hostileEnv) []string { return []string{escape("clone3")} },
			check: chain(notExist(escape("clone3")), outputHas("clone3: errno 38"))},
		{name: "ptrace-self", prog: "ptrace", kill: "sandbox: ptrace denied"},
		{name: "ptrace-parent", prog: "ptrace", args: func(*hostileEnv) []string { return []string{"parent"} }, kill: "sandbox: ptrace denied"},
		{name: "proc", prog: "proc", args: func(*hostileEnv) []string { return []string{strconv.Itoa(os.Getpid())} },
			check: chain(outputHas("/proc/self/mem: errno 13", "/environ: errno 13", "/mem: errno 13"), notInStdout("PATH="))},
		{name: "process-vm-readv", prog: "proc", args: func(*hostileEnv) []string { return []string{strconv.Itoa(os.Getpid()), "vm"} },
			kill: "sandbox: process_vm_readv denied"},
		{name: "io-uring", prog: "io_uring", check: outputHas("io_uring_setup: errno 38", "io_setup: errno 38")},
		{name: "kill-parent", prog: "kill", args: func(*hostileEnv) []string { return []string{strconv.Itoa(int(syscall.SIGUSR1))} },
			kill: "sandbox: kill denied"},
		{name: "kill-all", prog: "kill", args: func(*hostileEnv) []string { return []string{strconv.Itoa(int(syscall.SIGUSR1)), "all"} },
			kill: "sandbox: kill denied"},
		{name: "prctl-setrlimit-games", prog: "games", kill: "sandbox: socket denied",
			check: outputHas("PR_SET_DUMPABLE: errno 1", "PR_SET_PTRACER: errno 1", "PR_SET_SECCOMP: errno 1",
				"PR_GET_DUMPABLE: ok 1", "PR_SET_NAME: ok 0", "setrlimit CPU: errno 1", "setuid0: errno 1")},
		{name: "toctou", prog: "toctou", files: in, args: func(e *hostileEnv) []string { return []string{e.secretPath, "300"} },
			check: chain(outputHas("leaked 0"), func(t *testing.T, _ *hostileEnv, res *Result) {
				if bytes.Contains(res.Stdout, []byte("opened 0 ")) {
					t.Errorf("the race never ran: %s", res.Stdout)
				}
			})},
		{name: "errnos", prog: "errnos", files: in, check: outputHas("memfd_create: errno 1", "clone3: errno 38",
			"io_uring_setup: errno 38", "setuid: errno 1", "chown: errno 1", "symlink: errno 1", "TIOCSTI: errno 25",
			"TIOCSTI-hi: errno 25", "F_SETOWN: errno 1", "F_GETFL: ok", "sched_setaffinity: errno 1", "shmget: errno 1")},
	}
	for _, name := range []string{"ptrace", "process_vm_readv", "process_vm_writev", "bpf", "mount", "umount2",
		"pivot_root", "chroot", "unshare", "setns", "keyctl", "add_key", "request_key", "perf_event_open",
		"userfaultfd", "kexec_load", "init_module", "finit_module", "delete_module", "seccomp", "open_tree",
		"fsopen", "pidfd_open", "kcmp", "reboot", "swapon", "iopl", "ioperm", "modify_ldt",
		"name_to_handle_at", "open_by_handle_at", "tkill", "rt_sigqueueinfo", "sethostname"} {
		cases = append(cases, hostileCase{name: "danger-" + name, prog: "danger",
			args: func(*hostileEnv) []string { return []string{name} }, kill: "sandbox: " + name + " denied"})
	}
	cases = append(cases,
		hostileCase{name: "danger-fork", prog: "danger", args: func(*hostileEnv) []string { return []string{"fork"} }, kill: "sandbox: fork denied"},
		hostileCase{name: "danger-vfork", prog: "danger", args: func(*hostileEnv) []string { return []string{"vfork"} }, kill: "sandbox: fork denied"},
		hostileCase{name: "danger-execve", prog: "danger", args: func(*hostileEnv) []string { return []string{"execve"} }, kill: "sandbox: execve denied"},
	)
	return cases
}

func chain(fs ...func(*testing.T, *hostileEnv, *Result)) func(*testing.T, *hostileEnv, *Result) {
	return func(t *testing.T, e *hostileEnv, res *Result) {
		for _, f := range fs {
			f(t, e, res)
		}
	}
}

func notInStdout(s string) func(*testing.T, *hostileEnv, *Result) {
	return func(t *testing.T, _ *hostileEnv, res *Result) {
		if bytes.Contains(res.Stdout, []byte(s)) {
			t.Errorf("stdout contains %q:\n%s", s, res.Stdout)
		}
	}
}

func noOutputs(t *testing.T, _ *hostileEnv, res *Result) {
	if len(res.Outputs) > 0 {
		t.Errorf("outputs read back: %v; want none (links, FIFOs, directories)", res.Outputs)
	}
}

// TestJail_Run_hostile runs the hostile corpus, one attack per lambda,
// and checks both the verdict and the absence of the side effect. At the
// end (in newTestJail's cleanup) no process, working directory or cgroup
// may be left.
func TestJail_Run_hostile(t *testing.T) {
	needGCC(t)
	e := newHostileEnv(t)
	j := newTestJail(t, nil)
	cases := hostileCases(e)
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runHostile(t, j, e, c)
			})
		}
	})
	if n := e.hits.Load(); n != 0 {
		t.Errorf("listeners saw %d connections or datagrams; want 0", n)
	}
	select {
	case s := <-e.signals:
		t.Errorf("the test process received %v from a lambda", s)
	default:
	}
	if !bytes.Equal(mustRead(t, e.secretPath), []byte(e.secret+"\n")) {
		t.Error("the secret file changed")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runHostile(t *testing.T, j *Jail, e *hostileEnv, c hostileCase) {
	var data []byte
	if dir, ok := strings.CutPrefix(c.prog, "go:"); ok {
		data = goProgram(t, dir)
	} else {
		data = cProgram(t, "hostile/"+c.prog+".c")
	}
	b := load(t, j, c.prog, data)
	spec := &Spec{Limits: c.limits, Files: c.files, Outputs: c.outs}
	if c.args != nil {
		spec.Args = c.args(e)
	}
	res, err := j.Run(context.Background(), b, spec)
	if testing.Verbose() && res != nil {
		t.Logf("err: %v\nstdout: %.2000s\nstderr: %.500s", err, res.Stdout, res.Stderr)
	}
	var ke *KillError
	got := ""
	if errors.As(err, &ke) {
		got = ke.Reason
	} else if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := append([]string{c.kill}, c.anyOf...)
	if c.prog == "mem_bomb" && j.Features().CgroupMemory {
		want = []string{"memory limit"} // without a memory cgroup, malloc fails instead
	}
	if !contains(want, got) || (c.anyOf == nil && got != c.kill) {
		out := ""
		if res != nil {
			out = string(res.Stdout) + string(res.Stderr)
		}
		t.Errorf("verdict %q; want %q\nresult: %+v\noutput: %s", got, want, res, out)
	}
	if res != nil && bytes.Contains(res.Stdout, []byte(e.secret)) {
		t.Errorf("the secret leaked to stdout")
	}
	if c.check != nil && res != nil {
		c.check(t, e, res)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
