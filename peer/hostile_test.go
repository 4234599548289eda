//go:build linux && amd64

package peer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/peer"
)

// The hostile corpus of the jail (../jail/testdata/hostile), run through a
// real node: uploaded as keys, executed with the client, and judged on what
// the client gets back and on the absence of every side effect, at the node
// level (keys, the node's data directory, its process, its listeners).

// hostileSrc is where the hostile programs live.
const hostileSrc = "../jail/testdata/hostile"

// hostileC are the C programs of the corpus the cases below use.
var hostileC = []string{
	"net_tcp", "net_udp", "net_ipv6", "unix_sock", "netlink", "socketpair", "write_outside",
	"read_files", "links", "exec_sh", "exec_self", "fork_bomb", "thread_bomb", "mem_bomb", "loop",
	"sleep", "stdout_flood", "stdout_closed", "int80", "x32", "clone_untraced", "clone3", "ptrace",
	"proc", "io_uring", "kill", "games", "toctou", "errnos", "danger", "../benign/benign",
}

// badRespSrc is a runtime-mode lambda (lambda.h) that misbehaves as
// argv[1] says; with "put" it returns the puts (key value perm)... of its
// other arguments, with "many N" N puts.
const badRespSrc = `#define LAMBDA_IMPLEMENTATION
#define LAMBDA_NO_MAIN
#include "lambda.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ExecResponse lkv_handler(const ExecArgs *a)
{
	ExecResponse r = lkv_response();
	if (lkv_argc(a) > 1 && strcmp(lkv_arg(a, 0), "many") == 0) {
		char key[64];
		for (int i = 0; i < atoi(lkv_arg(a, 1)); i++) {
			snprintf(key, sizeof key, "never/many/%d", i);
			lkv_put_str(&r, key, "x", 1);
		}
		return r;
	}
	for (size_t i = 1; i + 3 <= lkv_argc(a); i += 3)
		lkv_put_str(&r, lkv_arg(a, i), lkv_arg(a, i + 1), (unsigned)atoi(lkv_arg(a, i + 2)));
	lkv_print(&r, "stored");
	return r;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	if (strcmp(m, "garbage") == 0) {
		write(1, "this is not msgpack\n", 20);
		return 0;
	}
	if (strcmp(m, "nothing") == 0)
		return 0;
	if (strcmp(m, "truncated") == 0) {
		write(1, "\x83\xabreturn_code", 13);
		return 0;
	}
	if (strcmp(m, "close") == 0) {
		close(1);
		return 0;
	}
	int rc = lkv_serve();
	if (strcmp(m, "trailing") == 0)
		write(1, "junk", 4);
	return rc;
}
`

// hostileNode is a node under attack and what the attacks aim at.
type hostileNode struct {
	p       *peer.Peer
	c       *client.Client
	cfg     *peer.Config
	feat    jail.Features
	nonce   string
	secret  string // contents of secPath
	secPath string // a world-readable file in the node's data directory
	marker  string // stored under victim/marker; never handed to a lambda
	outside string // a 0777 directory outside the jail
	cwd     string // the test process's working directory
	uids    *uidSniffer

	tcp, tcp6, udpPort, abstract, unixPath string

	hits    atomic.Int64 // connections and datagrams the listeners saw
	signals chan os.Signal

	mu       sync.Mutex             // guards the fields below
	victims  map[string]client.Item // keys that must not change
	legit    map[string]string      // keys the suite stores on purpose
	absent   map[string]bool        // keys that must never exist
	noFiles  map[string]bool        // paths that must never exist
	outcomes []string               // one line per case, for the log
}

// TestPeer_Exec_Hostile runs every hostile lambda through a node (the
// case is capitalised so that -run Hostile selects it). After the suite
// the node answers, every stored key is unchanged, and no process or
// working directory of a run is left.
func TestPeer_Exec_Hostile(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: the hostile C corpus needs gcc (CI installs it; apt-get install gcc)")
	}
	start := time.Now()
	bins := buildHostile(t)
	t.Logf("corpus built in %v", time.Since(start))
	newHostileNode(t, nil).attack(t, bins, nil)

	// As root the working directories live on a tmpfs, where a rename or a
	// hard link of a host file fails with EXDEV whatever the sandbox does.
	// On the data directory's filesystem only the sandbox stops them.
	t.Run("workdir-on-disk", func(t *testing.T) {
		e := newHostileNode(t, func(c *jail.Config) { c.WorkdirSize = -1 })
		e.attack(t, bins, func(name string) bool {
			return strings.HasPrefix(name, "links") || name == "write-outside" || name == "read-secrets" ||
				name == "toctou" || name == "output-control" || name == "output-immutable"
		})
	})
	t.Logf("whole suite: %v", time.Since(start))
}

// attack stores the corpus and the victims, runs the cases (those only
// accepts, all if nil, plus the bad names) and checks the node afterwards.
func (e *hostileNode) attack(t *testing.T, bins map[string]string, only func(string) bool) {
	t.Helper()
	e.store(t, bins)
	workRoot := filepath.Join(e.cfg.Jail.StateDir, "w")
	if n := countEntries(t, workRoot); n != 0 {
		t.Fatalf("%d working directories before the suite; want 0", n)
	}
	dataBefore := dirNames(t, e.cfg.DataDir)
	keysBefore := e.keys(t)
	if only == nil {
		t.Run("names", e.testBadNames)
	}
	t.Run("group", func(t *testing.T) {
		for _, c := range e.cases() {
			if only != nil && !only(c.name) {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				e.run(t, c)
			})
		}
	})
	for _, o := range e.outcomes {
		t.Log(o)
	}
	e.checkAfter(t, keysBefore, dataBefore, workRoot)
}

// buildHostile compiles the corpus once (two at a time) and returns the
// path of each program by name.
func buildHostile(t *testing.T) map[string]string {
	t.Helper()
	out := make(map[string]string)
	dir := t.TempDir()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(hostileC))
	sem := make(chan struct{}, 2)
	for _, name := range hostileC {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			bin := filepath.Join(dir, filepath.Base(name))
			cmd := exec.Command("gcc", "-static", "-O1", "-I", hostileSrc, "-o", bin, filepath.Join(hostileSrc, name+".c"))
			if b, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("gcc %s: %v\n%s", name, err, b)
				return
			}
			mu.Lock()
			out[filepath.Base(name)] = bin
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out["gonet"] = buildGo(t, "jail/testdata/hostile/gonet")
	out["gothreads"] = buildGo(t, "jail/testdata/hostile/gothreads")
	out["badresp"] = buildC(t, "badresp", badRespSrc)
	i386 := filepath.Join(dir, "i386")
	if err := os.WriteFile(i386, i386ELF("/tmp/lkv-peer-i386-"+strconv.Itoa(os.Getpid())), 0o755); err != nil {
		t.Fatal(err)
	}
	out["i386"] = i386
	return out
}

// i386ELF returns a static i386 executable that creates path with
// creat(2) through int 0x80 and exits 0: the kind of binary the node must
// refuse to run at all.
func i386ELF(path string) []byte {
	const base, hdr = 0x08048000, 52 + 32 // ELF32 header + one program header
	code := []byte{
		0xb8, 8, 0, 0, 0, // mov eax, 8 (creat)
		0xbb, 0, 0, 0, 0, // mov ebx, path
		0xb9, 0xb6, 1, 0, 0, // mov ecx, 0666
		0xcd, 0x80, // int 0x80
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
		0x31, 0xdb, // xor ebx, ebx
		0xcd, 0x80, // int 0x80
	}
	le := binary.LittleEndian
	le.PutUint32(code[6:], uint32(base+hdr+len(code)))
	body := append(append(code, path...), 0)
	total := uint32(hdr + len(body))
	b := make([]byte, hdr, int(total))
	copy(b, "\x7fELF\x01\x01\x01") // ELFCLASS32, little-endian, version 1
	le.PutUint16(b[16:], 2)        // ET_EXEC
	le.PutUint16(b[18:], 3)        // EM_386
	le.PutUint32(b[20:], 1)
	le.PutUint32(b[24:], base+hdr) // entry
	le.PutUint32(b[28:], 52)       // phoff
	le.PutUint16(b[40:], 52)       // ehsize
	le.PutUint16(b[42:], 32)       // phentsize
	le.PutUint16(b[44:], 1)        // phnum
	ph := b[52:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[8:], base)
	le.PutUint32(ph[12:], base)
	le.PutUint32(ph[16:], total)
	le.PutUint32(ph[20:], total)
	le.PutUint32(ph[24:], 5) // R+X
	le.PutUint32(ph[28:], 0x1000)
	return append(b, body...)
}

// uidSniffer picks the uid block the jail claimed out of its start-up log
// line ("run_uids=LO-HI").
type uidSniffer struct {
	mu     sync.Mutex // guards lo and hi
	lo, hi int
}

var runUIDs = regexp.MustCompile(`run_uids=(\d+)-(\d+)`)

func (s *uidSniffer) Write(b []byte) (int, error) {
	if m := runUIDs.FindSubmatch(b); m != nil {
		s.mu.Lock()
		s.lo, _ = strconv.Atoi(string(m[1]))
		s.hi, _ = strconv.Atoi(string(m[2]))
		s.mu.Unlock()
	}
	return len(b), nil
}

func (s *uidSniffer) get() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lo, s.hi
}

// newHostileNode starts a node with tight jail limits, makes its data
// directory readable by anyone (so that only the sandbox stands between a
// lambda and the store), and opens the listeners the lambdas aim at.
func newHostileNode(t *testing.T, mod func(*jail.Config)) *hostileNode {
	t.Helper()
	e := &hostileNode{
		nonce:   fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()),
		uids:    &uidSniffer{},
		victims: make(map[string]client.Item),
		legit:   make(map[string]string),
		absent:  make(map[string]bool),
		noFiles: make(map[string]bool),
	}
	e.secret = "SECRET-" + e.nonce
	e.marker = "MARKER-" + e.nonce
	cfg := execConfig(t, 2)
	cfg.Logger = hclog.New(&hclog.LoggerOptions{
		Name: t.Name(), Output: io.MultiWriter(testWriter{t}, e.uids), Level: hclog.Info,
	})
	cfg.Jail.Defaults = jail.Limits{
		Wall: 10 * time.Second, CPU: 2 * time.Second, Memory: 128 << 20, Procs: 24,
		FileSize: 64 << 10, OpenFiles: 64, Stdout: 1 << 20,
	}
	if mod != nil {
		mod(cfg.Jail)
	}
	e.cfg = cfg
	e.p = startPeer(t, cfg)
	e.c = dial(t, e.p)
	if f, ok := e.p.Status().Sandbox.(jail.Features); ok {
		e.feat = f
	}
	t.Logf("sandbox features: %+v", e.feat)
	e.secPath = filepath.Join(cfg.DataDir, "secret")
	if err := os.WriteFile(e.secPath, []byte(e.secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cfg.DataDir, filepath.Dir(cfg.DataDir)} {
		_ = os.Chmod(p, 0o755)
	}
	for _, p := range []string{e.secPath, filepath.Join(cfg.DataDir, "lkv.db")} {
		_ = os.Chmod(p, 0o644)
	}
	e.outside = t.TempDir()
	_ = os.Chmod(e.outside, 0o777)
	var err error
	if e.cwd, err = os.Getwd(); err != nil {
		t.Fatal(err)
	}
	e.listen(t)
	e.signals = make(chan os.Signal, 8)
	signal.Notify(e.signals, syscall.SIGUSR1)
	t.Cleanup(func() { signal.Stop(e.signals) })
	return e
}

// listen opens every listener and counts what reaches them.
func (e *hostileNode) listen(t *testing.T) {
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
	e.abstract = "@lkv-peer-test-" + e.nonce
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

// store uploads the programs and the victim keys; all of them must be
// byte-for-byte the same after the suite.
func (e *hostileNode) store(t *testing.T, bins map[string]string) {
	t.Helper()
	ctx := ctxT(t)
	put := func(key string, v []byte, perm client.Perm) {
		if err := e.c.Put(ctx, key, v, client.WithPerm(perm)); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		e.victims[key] = client.Item{Value: v, Perm: perm}
	}
	for name, path := range bins {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		put("hostile/"+name, b, client.PermRX)
	}
	put("victim/mutable", []byte("mutable "+e.nonce), client.PermRW)
	put("victim/immutable", []byte("immutable "+e.nonce), client.PermR)
	put("victim/marker", []byte(e.marker), client.PermR)
	put("victim/in", []byte("benign\n"), client.PermR)
	put("../evil", []byte("evil "+e.nonce), client.PermR)
	put("/abs/evil", []byte("evil "+e.nonce), client.PermR)
}

// nodeCase is one attack through the node.
type nodeCase struct {
	name    string
	prog    string // the lambda is hostile/<prog>
	runtime bool   // runtime mode (default: raw)
	args    []string
	deps    []client.Dep
	outs    []client.Output
	timeout time.Duration
	want    []error  // what errors.Is must match (any of); nil: ErrExecFailed
	reason  string   // what the node's message must contain; "" for a normal exit
	anyOf   []string // instead of reason: acceptable reasons, "" for a normal exit
	check   func(t *testing.T, res *client.ExecResult)
	absent  []string          // keys that must not exist afterwards
	stores  map[string]string // keys (and values) it stores
	noFiles []string          // paths that must not exist afterwards
}

// hostileIn is the benign file dependency some cases get.
var hostileIn = []client.Dep{{Key: "victim/in", AsFile: true, Name: "in.txt"}}

func (e *hostileNode) cases() []nodeCase {
	escape := func(n string) string { return filepath.Join(e.outside, n) }
	data := e.cfg.DataDir
	state := e.cfg.Jail.StateDir
	pid := strconv.Itoa(os.Getpid())
	tmpEscape := "/tmp/lkv-peer-escape-" + e.nonce
	cases := []nodeCase{
		{name: "tcp", prog: "net_tcp", args: []string{port(e.tcp)}, reason: "sandbox: socket denied"},
		{name: "udp", prog: "net_udp", args: []string{e.udpPort}, reason: "sandbox: socket denied"},
		{name: "ipv6", prog: "net_ipv6", args: []string{port(e.tcp6), "::1"}, reason: "sandbox: socket denied"},
		{name: "ipv4-mapped", prog: "net_ipv6", args: []string{port(e.tcp), "::ffff:127.0.0.1"}, reason: "sandbox: socket denied"},
		{name: "unix-abstract", prog: "unix_sock", args: []string{e.abstract}, reason: "sandbox: socket denied"},
		{name: "unix-path", prog: "unix_sock", args: []string{e.unixPath}, reason: "sandbox: socket denied"},
		{name: "netlink", prog: "netlink", reason: "sandbox: socket denied"},
		{name: "socketpair", prog: "socketpair", reason: "sandbox: socketpair denied"},
		{name: "go-dial", prog: "gonet", args: []string{e.tcp}, reason: "sandbox: socket denied"},
		{name: "write-outside", prog: "write_outside", deps: hostileIn,
			args: []string{escape("created"), "../up", tmpEscape, filepath.Join(data, "planted"),
				filepath.Join(state, "bin", "planted"), filepath.Join(state, "planted"),
				"/proc/" + pid + "/cwd/lkv-planted-" + e.nonce},
			check: chain(outHas(escape("created")+": errno 13", filepath.Join(data, "planted")+": errno 13",
				"mkdir: errno 13"), outLacks(": ok")),
			noFiles: []string{escape("created"), tmpEscape, filepath.Join(data, "planted"),
				filepath.Join(state, "bin", "planted"), filepath.Join(state, "planted"),
				filepath.Join(e.cwd, "lkv-planted-"+e.nonce)}},
		{name: "read-secrets", prog: "read_files",
			args: []string{"/etc/shadow", e.secPath, filepath.Join(data, "lkv.db"), data + "/", "/", "../",
				filepath.Join(state, "bin") + "/", filepath.Join(state, "w") + "/", "/etc/"},
			check: chain(outHas("/etc/shadow: errno 13", e.secPath+": errno 13",
				filepath.Join(data, "lkv.db")+": errno 13", data+"/: errno 13", "/: errno 13"),
				outLacks(": ok"))},
		{name: "links", prog: "links", args: []string{e.secPath},
			check: chain(outHas("symlink: errno 1", "symlink-dir: errno 1", "link: errno 1", "linkat: errno 1",
				"mkfifo: errno 1"), outLacks("sym: ok"), outLacks("hard: ok"))},
		{name: "toctou", prog: "toctou", deps: hostileIn, args: []string{e.secPath, "300"},
			check: chain(outHas("leaked 0"), outLacks("LEAK"), func(t *testing.T, res *client.ExecResult) {
				if bytes.Contains(res.Output, []byte("opened 0 ")) {
					t.Errorf("the race never ran: %s", res.Output)
				}
			})},
		{name: "proc", prog: "proc", args: []string{pid},
			check: chain(outHas("/proc/self/mem: errno 13", "/environ: errno 13", "/mem: errno 13"), outLacks("PATH="))},
		{name: "process-vm-readv", prog: "proc", args: []string{pid, "vm"}, reason: "sandbox: process_vm_readv denied"},
		{name: "exec-sh", prog: "exec_sh", args: []string{escape("sh-ran")},
			reason: "sandbox: execve denied", noFiles: []string{escape("sh-ran")}},
		{name: "exec-self", prog: "exec_self", anyOf: []string{"sandbox: execve denied", ""}, check: outLacks("re-executed")},
		{name: "fork-bomb", prog: "fork_bomb", args: []string{escape("forked")},
			reason: "sandbox: fork denied", noFiles: []string{escape("forked.0")}},
		{name: "vfork-bomb", prog: "fork_bomb", args: []string{escape("vforked"), "vfork"},
			reason: "sandbox: fork denied", noFiles: []string{escape("vforked.0")}},
		{name: "thread-bomb", prog: "thread_bomb", reason: "process limit"},
		{name: "go-thread-bomb", prog: "gothreads", reason: "process limit"},
		{name: "file-size", prog: "benign", args: []string{"bigfile", "1048576"}, reason: "file size limit"},
		{name: "infinite-loop", prog: "loop", timeout: 300 * time.Millisecond, reason: "timeout 300ms"},
		{name: "cpu-limit", prog: "loop", timeout: 20 * time.Second, reason: "cpu limit"},
		{name: "sleep-forever", prog: "sleep", timeout: 200 * time.Millisecond, reason: "timeout 200ms"},
		{name: "stdout-flood", prog: "stdout_flood", reason: "output limit"},
		{name: "stdout-flood-runtime", prog: "stdout_flood", runtime: true, reason: "output limit"},
		{name: "stdout-closed", prog: "stdout_closed", check: func(t *testing.T, res *client.ExecResult) {
			if res.ReturnCode != 3 || len(res.Output) != 0 || !bytes.Contains(res.Stderr, []byte("closed stdout")) {
				t.Errorf("rc %d output %q stderr %q; want 3, nothing, \"closed stdout\"", res.ReturnCode, res.Output, res.Stderr)
			}
		}},
		{name: "stdout-closed-runtime", prog: "stdout_closed", runtime: true, reason: "bad response"},
		{name: "int80", prog: "int80", args: []string{escape("int80")},
			reason: "sandbox: foreign syscall ABI denied", noFiles: []string{escape("int80")}},
		{name: "x32", prog: "x32", args: []string{escape("x32")},
			reason: "sandbox: foreign syscall ABI denied", noFiles: []string{escape("x32")}},
		{name: "i386-binary", prog: "i386", want: []error{client.ErrNotExecutable}, reason: "32-bit",
			noFiles: []string{"/tmp/lkv-peer-i386-" + pid}},
		{name: "clone-untraced-process", prog: "clone_untraced", args: []string{escape("untraced-p")},
			reason: "sandbox: fork denied", noFiles: []string{escape("untraced-p")}},
		{name: "clone-untraced-thread", prog: "clone_untraced", args: []string{escape("untraced-t"), "thread"},
			reason: "sandbox: clone denied", noFiles: []string{escape("untraced-t")}},
		{name: "clone3", prog: "clone3", args: []string{escape("clone3")},
			check: outHas("clone3: errno 38"), noFiles: []string{escape("clone3")}},
		{name: "ptrace-self", prog: "ptrace", reason: "sandbox: ptrace denied"},
		{name: "ptrace-parent", prog: "ptrace", args: []string{"parent"}, reason: "sandbox: ptrace denied"},
		{name: "io-uring", prog: "io_uring", check: outHas("io_uring_setup: errno 38", "io_setup: errno 38")},
		{name: "kill-parent", prog: "kill", args: []string{strconv.Itoa(int(syscall.SIGUSR1))}, reason: "sandbox: kill denied"},
		{name: "kill-all", prog: "kill", args: []string{strconv.Itoa(int(syscall.SIGUSR1)), "all"}, reason: "sandbox: kill denied"},
		{name: "prctl-setrlimit-games", prog: "games", reason: "sandbox: socket denied"},
		{name: "errnos", prog: "errnos", deps: hostileIn, check: outHas("memfd_create: errno 1", "clone3: errno 38",
			"io_uring_setup: errno 38", "setuid: errno 1", "chown: errno 1", "symlink: errno 1", "TIOCSTI: errno 25",
			"F_SETOWN: errno 1", "F_GETFL: ok", "sched_setaffinity: errno 1", "shmget: errno 1")},

		// Runtime mode: whatever is on stdout must be one valid response.
		{name: "response-garbage", prog: "badresp", runtime: true, args: []string{"garbage"}, reason: "bad response"},
		{name: "response-nothing", prog: "badresp", runtime: true, args: []string{"nothing"}, reason: "bad response"},
		{name: "response-truncated", prog: "badresp", runtime: true, args: []string{"truncated"}, reason: "bad response"},
		{name: "response-trailing", prog: "badresp", runtime: true, args: []string{"trailing"}, reason: "bad response"},
		{name: "response-stdout-closed", prog: "badresp", runtime: true, args: []string{"close"}, reason: "bad response"},
		{name: "response-raw-program", prog: "errnos", runtime: true, reason: "bad response"},

		// Puts and outputs obey the rules of a client put.
		{name: "put-immutable", prog: "badresp", runtime: true, args: []string{"put", "victim/immutable", "changed", "1"},
			want: putRefused, anyOf: []string{"victim/immutable"}},
		{name: "put-immutable-writable", prog: "badresp", runtime: true,
			args: []string{"put", "victim/immutable", "immutable " + e.nonce, "3"},
			want: putRefused, anyOf: []string{"victim/immutable"}},
		{name: "put-over-lambda", prog: "badresp", runtime: true, args: []string{"put", "hostile/danger", "\x7fELF", "5"},
			want: putRefused, anyOf: []string{"hostile/danger"}},
		{name: "put-mixed", prog: "badresp", runtime: true,
			args: []string{"put", "legit/partial", "partial", "1", "victim/immutable", "changed", "1"},
			want: putRefused, anyOf: []string{"victim/immutable"}, absent: []string{"legit/partial"}},
		{name: "too-many-puts", prog: "badresp", runtime: true, args: []string{"many", "10001"},
			reason: "10001 puts", absent: []string{"never/many/0", "never/many/10000"}},
		{name: "put-control", prog: "badresp", runtime: true, args: []string{"put", "legit/put", "ok", "1"},
			stores: map[string]string{"legit/put": "ok"},
			check: func(t *testing.T, res *client.ExecResult) {
				if len(res.Puts) != 1 || res.Puts[0] != "legit/put" {
					t.Errorf("puts %v; want [legit/put]", res.Puts)
				}
			}},
		{name: "output-immutable", prog: "benign", args: []string{"echo"}, deps: hostileIn,
			outs: []client.Output{{File: "out.txt", Key: "victim/immutable"}},
			want: putRefused, anyOf: []string{"victim/immutable"}},
		{name: "output-over-lambda", prog: "benign", args: []string{"echo"}, deps: hostileIn,
			outs: []client.Output{{File: "out.txt", Key: "hostile/benign", Perm: uint8(client.PermRX)}},
			want: putRefused, anyOf: []string{"hostile/benign"}},
		{name: "output-control", prog: "benign", args: []string{"echo"}, deps: hostileIn,
			outs:   []client.Output{{File: "out.txt", Key: "legit/out"}, {File: "sub/out2.txt", Key: "legit/out2"}},
			stores: map[string]string{"legit/out": "output of hostile/benign\n", "legit/out2": "nested output\n"},
			check:  outHas("in.txt: benign", "argv[0]=hostile/benign")},
	}
	// Each declared output the links lambda tried to make point outside
	// (or is not a regular file) is missing: the execution fails, nothing
	// is stored.
	for _, name := range []string{"sym", "hard", "hard2", "moved", "fifo", "dir", "root/etc/passwd", "root"} {
		key := "never/links/" + name
		cases = append(cases, nodeCase{name: "links-output-" + strings.ReplaceAll(name, "/", "-"), prog: "links",
			args: []string{e.secPath}, outs: []client.Output{{File: name, Key: key}},
			reason: fmt.Sprintf("output %q", name), absent: []string{key}})
	}
	cases = append(cases, e.memoryBomb())
	for _, name := range []string{"ptrace", "process_vm_readv", "process_vm_writev", "bpf", "mount", "umount2",
		"pivot_root", "chroot", "unshare", "setns", "keyctl", "add_key", "request_key", "perf_event_open",
		"userfaultfd", "kexec_load", "init_module", "finit_module", "delete_module", "seccomp", "open_tree",
		"fsopen", "pidfd_open", "kcmp", "reboot", "swapon", "iopl", "ioperm", "modify_ldt",
		"name_to_handle_at", "open_by_handle_at", "tkill", "rt_sigqueueinfo", "sethostname"} {
		cases = append(cases, nodeCase{name: "danger-" + name, prog: "danger", args: []string{name},
			reason: "sandbox: " + name + " denied"})
	}
	for _, c := range [][2]string{{"fork", "fork"}, {"vfork", "fork"}, {"execve", "execve"}} {
		cases = append(cases, nodeCase{name: "danger-" + c[0], prog: "danger", args: []string{c[0]},
			reason: "sandbox: " + c[1] + " denied"})
	}
	return cases
}

// memoryBomb is killed by the memory cgroup where there is one; without,
// its allocations fail at RLIMIT_DATA.
func (e *hostileNode) memoryBomb() nodeCase {
	c := nodeCase{name: "memory-bomb", prog: "mem_bomb", args: []string{"4096"}, reason: "memory limit"}
	if !e.feat.CgroupMemory {
		c.reason = ""
		c.anyOf = []string{"memory limit", ""}
		c.check = outLacks("allocated")
	}
	return c
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func chain(fs ...func(*testing.T, *client.ExecResult)) func(*testing.T, *client.ExecResult) {
	return func(t *testing.T, res *client.ExecResult) {
		for _, f := range fs {
			f(t, res)
		}
	}
}

// outHas returns a check that the output contains each of want.
func outHas(want ...string) func(*testing.T, *client.ExecResult) {
	return func(t *testing.T, res *client.ExecResult) {
		for _, w := range want {
			if !bytes.Contains(res.Output, []byte(w)) {
				t.Errorf("output lacks %q:\n%s", w, res.Output)
			}
		}
	}
}

// outLacks returns a check that the output does not contain s.
func outLacks(s string) func(*testing.T, *client.ExecResult) {
	return func(t *testing.T, res *client.ExecResult) {
		if bytes.Contains(res.Output, []byte(s)) {
			t.Errorf("output contains %q:\n%s", s, res.Output)
		}
	}
}

// run executes one case and checks the verdict, the leaks and the side
// effects it names.
func (e *hostileNode) run(t *testing.T, c nodeCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	start := time.Now()
	res, err := e.c.Exec(ctx, "hostile/"+c.prog, client.ExecOptions{
		Raw: !c.runtime, Args: c.args, Deps: c.deps, Outputs: c.outs, Timeout: c.timeout,
	})
	msg := ""
	var se *client.StatusError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("exec: %v (not an answer of the node)", err)
	}
	outcome := "ok"
	if se != nil {
		msg = se.Message
		outcome = se.Error()
	} else {
		outcome = fmt.Sprintf("ok rc=%d output=%.120q", res.ReturnCode, res.Output)
	}
	e.mu.Lock()
	e.outcomes = append(e.outcomes, fmt.Sprintf("%-28s %6.0fms %s", c.name, float64(time.Since(start).Microseconds())/1000, outcome))
	for _, k := range c.absent {
		e.absent[k] = true
	}
	for _, p := range c.noFiles {
		e.noFiles[p] = true
	}
	for k, v := range c.stores {
		e.legit[k] = v
	}
	e.mu.Unlock()
	if testing.Verbose() && res != nil {
		t.Logf("output: %.2000s\nstderr: %.500s", res.Output, res.Stderr)
	}
	e.checkNoLeak(t, msg, res)
	if !verdictOK(c, err, msg) {
		t.Errorf("got %v; want %s", err, describe(c))
	}
	if c.check != nil && err == nil {
		c.check(t, res)
	}
	for _, k := range c.absent {
		e.checkAbsent(t, k)
	}
	for _, p := range c.noFiles {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (err %v): the lambda escaped", p, err)
		}
	}
}

// putRefused is how a put or output that a client put could not make
// fails the execution, and none of its puts is stored.
var putRefused = []error{client.ErrExecFailed}

// verdictOK reports whether err (with the node's message msg) is what c
// expects.
func verdictOK(c nodeCase, err error, msg string) bool {
	is := func() bool {
		for _, w := range wantErrs(c) {
			if errors.Is(err, w) {
				return true
			}
		}
		return false
	}
	if c.anyOf != nil {
		for _, r := range c.anyOf {
			if r == "" && err == nil || r != "" && is() && strings.Contains(msg, r) {
				return true
			}
		}
		return false
	}
	if c.reason == "" {
		return err == nil
	}
	return is() && strings.Contains(msg, c.reason)
}

func wantErrs(c nodeCase) []error {
	if c.want == nil {
		return []error{client.ErrExecFailed}
	}
	return c.want
}

func describe(c nodeCase) string {
	switch {
	case c.anyOf != nil:
		return fmt.Sprintf("%v naming one of %q (\"\": a normal exit)", wantErrs(c), c.anyOf)
	case c.reason == "":
		return "a normal exit"
	}
	return fmt.Sprintf("%v naming %q", wantErrs(c), c.reason)
}

// checkNoLeak fails if the secret or the store's contents reached the
// client in any field.
func (e *hostileNode) checkNoLeak(t *testing.T, msg string, res *client.ExecResult) {
	t.Helper()
	fields := [][]byte{[]byte(msg)}
	if res != nil {
		fields = append(fields, res.Output, res.Stderr)
	}
	for _, f := range fields {
		for _, s := range []string{e.secret, e.marker} {
			if bytes.Contains(f, []byte(s)) {
				t.Errorf("%q leaked to the client: %.300q", s, f)
			}
		}
	}
}

// checkAbsent fails if key exists.
func (e *hostileNode) checkAbsent(t *testing.T, key string) {
	t.Helper()
	if v, err := e.c.Get(ctxT(t), key); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("key %q: %q, %v; want it not found", key, v, err)
	}
}

// testBadNames sends executions whose deps or outputs name paths outside
// the working directory: each is BAD_REQUEST, and nothing runs (the
// node's execution and dependency counters do not move) or is stored.
func (e *hostileNode) testBadNames(t *testing.T) {
	data := e.cfg.DataDir
	good := client.Output{File: "out.txt", Key: "never/names/good"}
	dep := func(name string) client.Dep { return client.Dep{Key: "victim/in", AsFile: true, Name: name} }
	out := func(file string) []client.Output { return []client.Output{good, {File: file, Key: "never/names/bad"}} }
	tests := []struct {
		name string
		deps []client.Dep
		outs []client.Output
		raw  bool
	}{
		{"dep ..", []client.Dep{dep("..")}, nil, true},
		{"dep ../x", []client.Dep{dep("../in.txt")}, nil, true},
		{"dep a/../../x", []client.Dep{dep("a/../../in.txt")}, nil, true},
		{"dep ./x", []client.Dep{dep("./in.txt")}, nil, true},
		{"dep a//b", []client.Dep{dep("a//in.txt")}, nil, true},
		{"dep .", []client.Dep{dep(".")}, nil, true},
		{"dep absolute /tmp", []client.Dep{dep("/tmp/lkv-peer-dep-" + e.nonce)}, nil, true},
		{"dep absolute in data dir", []client.Dep{dep(filepath.Join(data, "planted-dep"))}, nil, true},
		{"dep key ../evil as file", []client.Dep{{Key: "../evil", AsFile: true}}, nil, true},
		{"dep key /abs/evil as file", []client.Dep{{Key: "/abs/evil", AsFile: true}}, nil, true},
		{"dep NUL", []client.Dep{dep("in\x00.txt")}, nil, true},
		{"dep runtime mode ../x", []client.Dep{dep("../in.txt")}, nil, false},
		{"output ..", hostileIn, out(".."), true},
		{"output ../x", hostileIn, out("../out.txt"), true},
		{"output a/../../x", hostileIn, out("sub/../../out.txt"), true},
		{"output secret", hostileIn, out(e.secPath), true},
		{"output store file", hostileIn, out(filepath.Join(data, "lkv.db")), true},
		{"output /etc/shadow", hostileIn, out("/etc/shadow"), true},
		{"output .", hostileIn, out("."), true},
		{"output perm x only", hostileIn, []client.Output{good, {File: "out.txt", Key: "never/names/bad", Perm: uint8(client.PermX)}}, true},
		{"outputs in runtime mode", hostileIn, []client.Output{good}, false},
		{"dep name twice", []client.Dep{dep("a"), dep("a")}, nil, true},
		{"dep name a and a/b", []client.Dep{dep("a"), dep("a/b")}, nil, true},
		{"dep name a/b and a", []client.Dep{dep("a/b/c"), dep("a")}, nil, true},
	}
	before := e.execCounters(t)
	for _, tt := range tests {
		_, err := e.c.Exec(ctxT(t), "hostile/benign", client.ExecOptions{
			Raw: tt.raw, Args: []string{"echo"}, Deps: tt.deps, Outputs: tt.outs,
		})
		if !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("%s: err = %v; want %v", tt.name, err, client.ErrBadRequest)
		}
		e.mu.Lock()
		e.outcomes = append(e.outcomes, fmt.Sprintf("names/%-22s %v", tt.name, err))
		e.mu.Unlock()
	}
	if after := e.execCounters(t); after != before {
		t.Errorf("exec counters went from %q to %q: something ran or was fetched for a refused request", before, after)
	}
	// The same request with good names runs, and moves the counters.
	if _, err := e.c.Exec(ctxT(t), "hostile/benign", client.ExecOptions{Raw: true, Args: []string{"echo"}, Deps: hostileIn}); err != nil {
		t.Errorf("good names: %v", err)
	}
	if after := e.execCounters(t); after == before {
		t.Errorf("exec counters still %q after an execution: the check above proves nothing", after)
	}
	for _, k := range []string{"never/names/good", "never/names/bad"} {
		e.checkAbsent(t, k)
		e.mu.Lock()
		e.absent[k] = true
		e.mu.Unlock()
	}
	for _, p := range []string{"/tmp/lkv-peer-dep-" + e.nonce, filepath.Join(data, "planted-dep")} {
		e.mu.Lock()
		e.noFiles[p] = true
		e.mu.Unlock()
	}

	// Two deps whose names collide are refused too (the jail cannot write
	// both), whatever status says so.
	for _, deps := range [][]client.Dep{{dep("x"), dep("x")}, {dep("a"), dep("a/b")}} {
		_, err := e.c.Exec(ctxT(t), "hostile/benign", client.ExecOptions{Raw: true, Args: []string{"echo"}, Deps: deps})
		if !errors.Is(err, client.ErrBadRequest) && !errors.Is(err, client.ErrExecFailed) {
			t.Errorf("deps %v: err = %v; want BAD_REQUEST or EXEC_FAILED", deps, err)
		}
		e.mu.Lock()
		e.outcomes = append(e.outcomes, fmt.Sprintf("names/colliding %-14s %v", deps[0].Name+","+deps[1].Name, err))
		e.mu.Unlock()
	}
}

// execCounters returns the node's metrics that move when an execution
// runs (lkv_exec_duration_seconds_count) or fetches a dependency
// (lkv_dep_bytes_total).
func (e *hostileNode) execCounters(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + e.p.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "lkv_exec_duration_seconds_count") || strings.HasPrefix(line, "lkv_dep_bytes_total") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatal("metrics: no lkv_exec_duration_seconds_count")
	}
	return strings.Join(out, "; ")
}

// keys returns the node's key count.
func (e *hostileNode) keys(t *testing.T) int64 {
	t.Helper()
	n, ok := e.p.Status().Store["keys"].(int64)
	if !ok {
		t.Fatalf("status: keys is %T", e.p.Status().Store["keys"])
	}
	return n
}

// checkAfter checks the node after the whole suite: it answers, the keys
// are the same plus the legitimate ones, no lambda process or working
// directory is left, nothing reached the listeners, the test process or
// the filesystem outside.
func (e *hostileNode) checkAfter(t *testing.T, keysBefore int64, dataBefore []string, workRoot string) {
	t.Helper()
	ctx := ctxT(t)
	if err := e.c.Ping(ctx); err != nil {
		t.Fatalf("the node no longer answers: %v", err)
	}
	if v, err := e.c.Get(ctx, "victim/mutable"); err != nil || string(v) != "mutable "+e.nonce {
		t.Errorf("get victim/mutable = %q, %v after the suite", v, err)
	}
	for k, want := range e.victims {
		got, err := e.c.GetItem(ctx, k)
		if err != nil || !bytes.Equal(got.Value, want.Value) || got.Perm != want.Perm {
			t.Errorf("key %q changed: %d bytes perm %v (err %v); want %d bytes perm %v",
				k, len(got.Value), got.Perm, err, len(want.Value), want.Perm)
		}
	}
	for k, want := range e.legit {
		if v, err := e.c.Get(ctx, k); err != nil || string(v) != want {
			t.Errorf("legitimate key %q = %q, %v; want %q", k, v, err, want)
		}
	}
	for k := range e.absent {
		e.checkAbsent(t, k)
	}
	wantKeys := keysBefore + int64(len(e.legit))
	if n := e.keys(t); n != wantKeys {
		t.Errorf("%d keys after the suite; want %d (%d before + the legitimate ones)", n, wantKeys, keysBefore)
	}
	if n := e.hits.Load(); n != 0 {
		t.Errorf("listeners saw %d connections or datagrams; want 0", n)
	}
	select {
	case s := <-e.signals:
		t.Errorf("the test process received %v from a lambda", s)
	default:
	}
	if b, err := os.ReadFile(e.secPath); err != nil || string(b) != e.secret+"\n" {
		t.Errorf("the secret file changed: %q, %v", b, err)
	}
	for p := range e.noFiles {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (err %v): a lambda escaped", p, err)
		}
	}
	if after := dirNames(t, e.cfg.DataDir); strings.Join(after, ",") != strings.Join(dataBefore, ",") {
		t.Errorf("data directory went from %v to %v", dataBefore, after)
	}
	lo, hi := e.uids.get()
	if e.feat.UIDs && lo == 0 {
		t.Error("the jail's uid block did not appear in its log (run_uids=LO-HI)")
	}
	if left := waitFor(10*time.Second, func() []string { return strayProcesses(lo, hi) }); len(left) > 0 {
		t.Errorf("processes left after the suite (uids %d-%d or descendants of the test): %v", lo, hi, left)
	}
	if n := waitFor(5*time.Second, func() []string {
		if n := countEntries(t, workRoot); n > 0 {
			return []string{strconv.Itoa(n)}
		}
		return nil
	}); len(n) > 0 {
		t.Errorf("%s working directories left in %s", n[0], workRoot)
	}
}

// waitFor calls f until it returns nothing or d passes, and returns its
// last result.
func waitFor(d time.Duration, f func() []string) []string {
	deadline := time.Now().Add(d)
	for {
		r := f()
		if len(r) == 0 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return len(ents)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}

// strayProcesses lists the processes (running or zombie) that descend
// from this one, or that run under a uid in [lo, hi] (when hi > 0), as
// "pid(comm) uid U".
func strayProcesses(lo, hi int) []string {
	type proc struct {
		ppid, uid int
		comm      string
	}
	procs := make(map[int]proc)
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		st, err1 := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		status, err2 := os.ReadFile(filepath.Join("/proc", ent.Name(), "status"))
		if err1 != nil || err2 != nil {
			continue // gone meanwhile
		}
		var p proc
		// pid (comm) state ppid ...: comm may contain spaces and parens
		if i, j := bytes.IndexByte(st, '('), bytes.LastIndexByte(st, ')'); i > 0 && j > i {
			p.comm = string(st[i+1 : j])
			if f := strings.Fields(string(st[j+1:])); len(f) > 1 {
				p.ppid, _ = strconv.Atoi(f[1])
			}
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
				p.uid, _ = strconv.Atoi(f[1])
			}
		}
		procs[pid] = p
	}
	me := os.Getpid()
	var out []string
	for pid, p := range procs {
		if pid == me {
			continue
		}
		stray := hi > 0 && p.uid >= lo && p.uid <= hi
		for anc, n := p.ppid, 0; !stray && anc > 1 && n < 64; n++ {
			stray = anc == me
			anc = procs[anc].ppid
		}
		if stray {
			out = append(out, fmt.Sprintf("%d(%s) uid %d", pid, p.comm, p.uid))
		}
	}
	return out
}
