package peer_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/peer"
)

// execConfig is testConfig with executors and a sandbox of its own.
func execConfig(t testing.TB, executors int) *peer.Config {
	cfg := testConfig(t)
	cfg.Executors = executors
	cfg.Jail = jail.DefaultConfig()
	cfg.Jail.StateDir = filepath.Join(t.TempDir(), "jail")
	return cfg
}

// upload stores the file at path as an executable key.
func upload(t testing.TB, c *client.Client, key, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctxT(t), key, b, client.WithPerm(client.PermRX)); err != nil {
		t.Fatalf("upload %s: %v", key, err)
	}
}

func TestPeer_Exec_goRuntime(t *testing.T) {
	p := startPeer(t, execConfig(t, 2))
	c := dial(t, p)
	ctx := ctxT(t)
	upload(t, c, "echo", buildGo(t, "cmd/lambdas/echo"))
	upload(t, c, "wordcount", buildGo(t, "cmd/lambdas/wordcount"))
	if err := c.Put(ctx, "greeting", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "book", []byte("the cat saw the dog"), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}

	res, err := c.Exec(ctx, "echo", client.ExecOptions{
		Args: []string{"hi", "there"},
		Deps: []client.Dep{{Key: "greeting"}},
	})
	if err != nil {
		t.Fatalf("exec echo: %v", err)
	}
	if got, want := string(res.Output), "hi there\ngreeting=hello\n"; got != want || res.ReturnCode != 0 || res.Node != "node-0" {
		t.Errorf("echo = %q rc %d on %q; want %q rc 0 on node-0", got, res.ReturnCode, res.Node, want)
	}

	res, err = c.Exec(ctx, "wordcount", client.ExecOptions{
		Args: []string{"book.counts"},
		Deps: []client.Dep{{Key: "book", AsFile: true, Name: "in/book.txt"}, {Key: "greeting"}},
	})
	if err != nil {
		t.Fatalf("exec wordcount: %v", err)
	}
	want := "cat 1\ndog 1\nhello 1\nsaw 1\nthe 2\n"
	if string(res.Output) != want || len(res.Puts) != 1 || res.Puts[0] != "book.counts" {
		t.Errorf("wordcount = %q puts %v; want %q puts [book.counts]", res.Output, res.Puts, want)
	}
	if v, err := c.Get(ctx, "book.counts"); err != nil || string(v) != want {
		t.Errorf("stored book.counts = %q, %v; want %q", v, err, want)
	}
	// Running it again puts the same immutable bytes: harmless.
	if _, err := c.Exec(ctx, "wordcount", client.ExecOptions{
		Args: []string{"book.counts"},
		Deps: []client.Dep{{Key: "book", AsFile: true, Name: "in/book.txt"}, {Key: "greeting"}},
	}); err != nil {
		t.Errorf("re-run of wordcount: %v", err)
	}
}

func TestPeer_Exec_errors(t *testing.T) {
	cfg := execConfig(t, 1)
	cfg.Pipeline = 1
	p := startPeer(t, cfg)
	c := dial(t, p)
	ctx := ctxT(t)
	upload(t, c, "sleeper", buildGo(t, "peer/testdata/lambdas/sleeper"))
	if err := c.Put(ctx, "data", []byte("not a program")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "notelf", []byte("#!/bin/sh\necho hi\n"), client.WithPerm(client.PermRX)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		opts client.ExecOptions
		want error
	}{
		{"missing lambda", "nothing", client.ExecOptions{}, client.ErrNotFound},
		{"no x permission", "data", client.ExecOptions{}, client.ErrNotExecutable},
		{"not an ELF", "notelf", client.ExecOptions{}, client.ErrNotExecutable},
		{"missing dep", "sleeper", client.ExecOptions{Args: []string{"0s"}, Deps: []client.Dep{{Key: "nope"}}}, client.ErrNotFound},
		{"dep name with ..", "sleeper", client.ExecOptions{Deps: []client.Dep{{Key: "data", AsFile: true, Name: "../x"}}}, client.ErrBadRequest},
		{"absolute dep name", "sleeper", client.ExecOptions{Deps: []client.Dep{{Key: "data", AsFile: true, Name: "/etc/x"}}}, client.ErrBadRequest},
		{"outputs outside raw", "sleeper", client.ExecOptions{Outputs: []client.Output{{File: "a", Key: "b"}}}, client.ErrBadRequest},
		{"timeout", "sleeper", client.ExecOptions{Args: []string{"10s"}, Timeout: 300 * time.Millisecond}, client.ErrExecFailed},
		{"output limit", "sleeper", client.ExecOptions{Args: []string{"0s"}, Limits: &client.ExecLimits{Stdout: 8}}, client.ErrExecFailed},
		{"process limit", "sleeper", client.ExecOptions{Args: []string{"0s"}, Limits: &client.ExecLimits{Procs: 1}}, client.ErrExecFailed},
	}
	for _, tt := range tests {
		_, err := c.Exec(ctx, tt.key, tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want %v", tt.name, err, tt.want)
		}
		if tt.name == "timeout" || tt.name == "output limit" || tt.name == "process limit" {
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("%s: err = %v; want it to say %q", tt.name, err, tt.name)
			}
		}
	}

	// One executor and one waiting place: a third execution is BUSY at once.
	slow := []*client.Future[*client.ExecResult]{
		c.ExecAsync(ctx, "sleeper", client.ExecOptions{Args: []string{"1s", "slow1"}}),
		c.ExecAsync(ctx, "sleeper", client.ExecOptions{Args: []string{"1s", "slow2"}}),
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	_, err := c.Exec(ctx, "sleeper", client.ExecOptions{Args: []string{"0s"}})
	if !errors.Is(err, client.ErrBusy) || time.Since(start) > 500*time.Millisecond {
		t.Errorf("third execution: %v after %v; want ErrBusy at once", err, time.Since(start))
	}
	for _, f := range slow {
		if res, err := f.Wait(); err != nil || string(res.Output) != "slept" {
			t.Errorf("slow execution = %v, %v", res, err)
		}
	}
}

func TestPeer_Exec_rawGoCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go compiler in the jail")
	}
	goroot, err := exec.Command("go", "env", "GOTOOLDIR").Output()
	if err != nil {
		t.Fatal(err)
	}
	compile := filepath.Join(strings.TrimSpace(string(goroot)), "compile")
	p := startPeer(t, execConfig(t, 2))
	c := dial(t, p)
	ctx := ctxT(t)
	upload(t, c, "go/compile", compile)
	src := "package hello\n\nfunc Add(a, b int) int { return a + b }\n\nvar Greeting = \"hello\"\n"
	if err := c.Put(ctx, "src/hello.go", []byte(src), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "src/importcfg", []byte("# no imports\n"), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}
	opts := client.ExecOptions{
		Raw:     true,
		Args:    []string{"-p", "hello", "-o", "hello.a", "-importcfg", "importcfg", "-pack", "hello.go"},
		Deps:    []client.Dep{{Key: "src/hello.go", AsFile: true, Name: "hello.go"}, {Key: "src/importcfg", AsFile: true, Name: "importcfg"}},
		Outputs: []client.Output{{File: "hello.a", Key: "obj/hello.a"}},
		Timeout: 60 * time.Second,
	}
	res, err := c.Exec(ctx, "go/compile", opts)
	if err != nil {
		t.Fatalf("exec compile: %v", err)
	}
	if res.ReturnCode != 0 {
		t.Fatalf("compile exited %d: %s", res.ReturnCode, res.Output)
	}
	obj, err := c.GetItem(ctx, "obj/hello.a")
	if err != nil {
		t.Fatalf("get obj/hello.a: %v", err)
	}
	if !strings.HasPrefix(string(obj.Value), "!<arch>\n") || obj.Perm != client.PermR {
		t.Errorf("obj/hello.a: %d bytes, perm %v, starts %q; want an immutable archive", len(obj.Value), obj.Perm, obj.Value[:min(8, len(obj.Value))])
	}
	// Compiler errors come back in the output (the compiler prints them on
	// stdout) with the exit status.
	if err := c.Put(ctx, "src/broken.go", []byte("package hello\n\nfunc {"), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}
	opts.Deps[0].Key = "src/broken.go"
	opts.Outputs = nil
	res, err = c.Exec(ctx, "go/compile", opts)
	if err != nil {
		t.Fatalf("exec compile of broken source: %v", err)
	}
	if res.ReturnCode == 0 || !strings.Contains(string(res.Output), "syntax error") {
		t.Errorf("broken source: exit %d, output %q; want a non-zero exit and a syntax error", res.ReturnCode, res.Output)
	}
}

// rawC is an unmodified C program: it echoes its argv, writes a file named
// by its first argument, complains on stderr and exits 3.
const rawC = `#include <stdio.h>
int main(int argc, char **argv) {
	for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
	FILE *f = fopen(argv[1], "w");
	if (!f) return 1;
	fputs("made by raw", f);
	fclose(f);
	fputs("something to complain about\n", stderr);
	return 3;
}
`

func TestPeer_Exec_rawC(t *testing.T) {
	bin := buildC(t, "raw", rawC)
	p := startPeer(t, execConfig(t, 2))
	c := dial(t, p)
	ctx := ctxT(t)
	upload(t, c, "tools/raw", bin)
	res, err := c.Exec(ctx, "tools/raw", client.ExecOptions{
		Raw:     true,
		Args:    []string{"out.txt", "two words"},
		Outputs: []client.Output{{File: "out.txt", Key: "raw/out", Perm: uint8(client.PermRW)}},
	})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	if want := "tools/raw\nout.txt\ntwo words\n"; string(res.Output) != want || res.ReturnCode != 3 {
		t.Errorf("output %q, exit %d; want %q, exit 3", res.Output, res.ReturnCode, want)
	}
	if !strings.Contains(string(res.Stderr), "complain") {
		t.Errorf("stderr = %q; want the complaint", res.Stderr)
	}
	it, err := c.GetItem(ctx, "raw/out")
	if err != nil || string(it.Value) != "made by raw" || it.Perm != client.PermRW {
		t.Errorf("raw/out = %q %v, %v; want the file's bytes, rw-", it.Value, it.Perm, err)
	}
	// A declared output the program does not leave is an error, and nothing
	// is stored.
	_, err = c.Exec(ctx, "tools/raw", client.ExecOptions{
		Raw:     true,
		Args:    []string{"other.txt"},
		Outputs: []client.Output{{File: "missing.txt", Key: "raw/missing"}},
	})
	if !errors.Is(err, client.ErrExecFailed) || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing output: %v; want EXEC_FAILED naming it", err)
	}
	if _, err := c.Get(ctx, "raw/missing"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("raw/missing: %v; want not found", err)
	}
}

// The stats say where the bytes came from; a binary the sandbox already
// holds is not read again.
func TestPeer_Exec_statsAndCachedBinary(t *testing.T) {
	p := startPeer(t, execConfig(t, 1))
	c := dial(t, p)
	ctx := ctxT(t)
	path := buildGo(t, "cmd/lambdas/wordcount")
	upload(t, c, "wc", path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	book := []byte("a b a")
	if err := c.Put(ctx, "book", book); err != nil {
		t.Fatal(err)
	}
	run := func() *client.ExecStats {
		t.Helper()
		res, err := c.Exec(ctx, "wc", client.ExecOptions{Deps: []client.Dep{{Key: "book", AsFile: true}}})
		if err != nil || string(res.Output) != "a 2\nb 1\n" {
			t.Fatalf("exec: %q, %v", res.Output, err)
		}
		if res.Stats == nil || res.Stats.RunMicros <= 0 {
			t.Fatalf("stats %+v: want the run's time", res.Stats)
		}
		return res.Stats
	}
	if s := run(); s.BytesLocal != fi.Size()+int64(len(book)) || s.BytesRemote != 0 {
		t.Errorf("first run read %d local bytes, %d remote; want the binary and the book (%d)", s.BytesLocal, s.BytesRemote, fi.Size()+int64(len(book)))
	}
	if s := run(); s.BytesLocal != int64(len(book)) {
		t.Errorf("second run read %d local bytes; want only the book (%d): the sandbox has the binary", s.BytesLocal, len(book))
	}
	// A key written again is a new binary (a new offset): read again.
	if err := c.Delete(ctx, "wc", true); err != nil {
		t.Fatal(err)
	}
	upload(t, c, "wc", path)
	if s := run(); s.BytesLocal != fi.Size()+int64(len(book)) {
		t.Errorf("after re-upload read %d local bytes; want %d", s.BytesLocal, fi.Size()+int64(len(book)))
	}
}
