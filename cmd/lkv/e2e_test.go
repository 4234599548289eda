package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func TestE2E_agentAndCLI(t *testing.T) {
	a := startAgent(t, "--executors=-1") // lambdas: TestE2E_exec
	dir := t.TempDir()

	t.Run("put file, get stdout", func(t *testing.T) {
		path := filepath.Join(dir, "hello.txt")
		os.WriteFile(path, []byte("hello, world\n"), 0o644)
		a.ok(t, nil, "put", "greeting", path)
		if got := a.ok(t, nil, "get", "greeting"); string(got) != "hello, world\n" {
			t.Errorf("get = %q", got)
		}
	})
	t.Run("put stdin, get -o", func(t *testing.T) {
		a.ok(t, []byte("from stdin"), "put", "s1")
		a.ok(t, []byte("dash"), "put", "s2", "-")
		out := filepath.Join(dir, "s1.out")
		if got := a.ok(t, nil, "get", "s1", "-o", out); len(got) != 0 {
			t.Errorf("get -o wrote %q to stdout", got)
		}
		if b, _ := os.ReadFile(out); string(b) != "from stdin" {
			t.Errorf("file = %q", b)
		}
		if got := a.ok(t, nil, "get", "s2"); string(got) != "dash" {
			t.Errorf("get s2 = %q", got)
		}
	})
	t.Run("binary safe", func(t *testing.T) {
		var all []byte
		for i := range 4 * 256 {
			all = append(all, byte(i))
		}
		a.ok(t, all, "put", "bin")
		if got := a.ok(t, nil, "get", "bin"); !bytes.Equal(got, all) {
			t.Errorf("stdout round trip differs: %d bytes, want %d", len(got), len(all))
		}
		path := filepath.Join(dir, "bin.in")
		os.WriteFile(path, all, 0o644)
		a.ok(t, nil, "put", "bin2", path)
		out := filepath.Join(dir, "bin.out")
		a.ok(t, nil, "get", "bin2", "-o", out)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, all) {
			t.Errorf("file round trip differs")
		}
		a.ok(t, []byte{}, "put", "empty")
		if got := a.ok(t, nil, "get", "empty"); len(got) != 0 {
			t.Errorf("empty value came back as %q", got)
		}
	})
	t.Run("large value", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 100<<20/16) // 100 MiB
		path := filepath.Join(dir, "big.in")
		os.WriteFile(path, big, 0o644)
		a.ok(t, nil, "put", "big", path)
		out := filepath.Join(dir, "big.out")
		a.ok(t, nil, "get", "big", "-o", out)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, big) {
			t.Errorf("100 MiB round trip differs (%d bytes back)", len(got))
		}
		a.ok(t, nil, "del", "big")
	})
	t.Run("stat", func(t *testing.T) {
		out := string(a.ok(t, nil, "stat", "greeting", "missing"))
		if !strings.Contains(out, "KEY") || !strings.Contains(out, "greeting") || !strings.Contains(out, "rw-") {
			t.Errorf("stat table:\n%s", out)
		}
		var entries []map[string]any
		if err := json.Unmarshal(a.ok(t, nil, "stat", "--json", "greeting", "missing"), &entries); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0]["found"] != true || entries[0]["size"] != 13.0 || entries[1]["found"] != false {
			t.Errorf("stat --json = %v", entries)
		}
		for _, f := range []string{"key", "found", "size", "perm", "slot", "owner"} {
			if _, ok := entries[0][f]; !ok {
				t.Errorf("stat --json lacks %q: %v", f, entries[0])
			}
		}
	})
	t.Run("del", func(t *testing.T) {
		a.ok(t, []byte("x"), "put", "gone")
		a.ok(t, nil, "del", "gone")
		a.fails(t, `not found: key "gone"`, "get", "gone")
		a.fails(t, `not found: key "gone"`, "del", "gone")
	})
	t.Run("immutable", func(t *testing.T) {
		a.ok(t, []byte("v1"), "put", "imm", "--perm", "r")
		a.ok(t, []byte("v1"), "put", "imm", "--perm", "r") // the same again: fine
		r := lkv(t, nil, []byte("v2"), "--addr", a.addr, "put", "imm")
		checkOneLineError(t, r, "read-only", []string{"put", "imm"})
		a.fails(t, "read-only", "del", "imm")
		if got := a.ok(t, nil, "get", "imm"); string(got) != "v1" {
			t.Errorf("immutable value changed to %q", got)
		}
		a.ok(t, nil, "del", "imm", "--force")
		a.fails(t, "not found", "get", "imm")
	})
	t.Run("perm errors", func(t *testing.T) {
		for _, p := range []string{"w", "x", "q", ""} {
			r := lkv(t, nil, []byte("v"), "--addr", a.addr, "put", "p", "--perm", p)
			checkOneLineError(t, r, "permission", []string{"put", "--perm", p})
		}
		a.fails(t, "not found", "get", "p")
	})
	t.Run("cluster", func(t *testing.T) {
		var info map[string]any
		if err := json.Unmarshal(a.ok(t, nil, "cluster", "info", "--json"), &info); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"node_id", "cluster", "epoch", "coordinator", "slots_covered", "migrations"} {
			if _, ok := info[f]; !ok {
				t.Errorf("cluster info --json lacks %q: %v", f, info)
			}
		}
		if info["slots_covered"] != 16384.0 || info["cluster"] != "lkv" || info["node_id"] == "" || info["coordinator"] != info["node_id"] {
			t.Errorf("cluster info --json = %v", info)
		}
		var nodes []map[string]any
		if err := json.Unmarshal(a.ok(t, nil, "cluster", "nodes", "--json"), &nodes); err != nil {
			t.Fatal(err)
		}
		if len(nodes) != 1 || nodes[0]["addr"] != a.addr || nodes[0]["coordinator"] != true || nodes[0]["slots"] != 16384.0 {
			t.Errorf("cluster nodes --json = %v", nodes)
		}
		for _, f := range []string{"id", "addr", "gossip_addr", "role", "state", "master", "slots", "coordinator"} {
			if _, ok := nodes[0][f]; !ok {
				t.Errorf("cluster nodes --json lacks %q", f)
			}
		}
		var slots []map[string]any
		if err := json.Unmarshal(a.ok(t, nil, "cluster", "slots", "--json"), &slots); err != nil {
			t.Fatal(err)
		}
		if len(slots) != 1 || slots[0]["start"] != 0.0 || slots[0]["end"] != 16383.0 || slots[0]["master"] != info["node_id"] {
			t.Errorf("cluster slots --json = %v", slots)
		}
		for _, sub := range []string{"info", "nodes", "slots"} {
			if out := a.ok(t, nil, "cluster", sub); len(out) == 0 {
				t.Errorf("cluster %s printed nothing", sub)
			}
		}
	})
	t.Run("env addr", func(t *testing.T) {
		r := lkv(t, []string{"LKV_ADDR=" + a.addr}, nil, "get", "greeting")
		if r.code != 0 || string(r.stdout) != "hello, world\n" {
			t.Errorf("LKV_ADDR: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		r := lkv(t, nil, nil, "get")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "lkv: ") || !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("lkv get: exit %d, stderr %q; want 1 with the usage", r.code, r.stderr)
		}
		r = lkv(t, nil, nil, "--addr", a.addr, "get", "greeting", "--bogus")
		if r.code != 1 || !strings.Contains(r.stderr, "unknown flag") {
			t.Errorf("unknown flag: exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		r := lkv(t, nil, nil, "--addr", freeAddr(t), "--timeout", "5s", "get", "x")
		checkOneLineError(t, r, "cannot reach", []string{"get"})
	})
	t.Run("SIGTERM", func(t *testing.T) {
		a.stop(t)
		if !strings.Contains(a.stderr.String(), "stopped cleanly") {
			t.Errorf("agent log lacks \"stopped cleanly\":\n%s", a.stderr.String())
		}
	})
}

func TestE2E_exec(t *testing.T) {
	a, err := tryStartAgent(t)
	if err != nil && strings.Contains(err.Error(), "start sandbox") {
		t.Skipf("no sandbox on this machine: %v", err) // the jail's own tests say why
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a.ok(t, []byte("data"), "put", "greeting")
	var resp bytes.Buffer
	lambda.EncodeResponse(&resp, &lambda.Response{ReturnCode: 3, Output: []byte("hi\n")})
	path := filepath.Join(dir, "lambda")
	os.WriteFile(path, tinyLambda(resp.Bytes()), 0o755)
	a.ok(t, nil, "put", "three", path, "--perm", "rx")
	r := lkv(t, nil, nil, "--addr", a.addr, "exec", "three")
	if r.code != 3 && strings.Contains(r.stderr, "unavailable") {
		t.Skipf("the node runs no lambdas here: %s", r.stderr)
	}
	if r.code != 3 || string(r.stdout) != "hi\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 3, \"hi\\n\"", r.code, r.stdout, r.stderr)
	}
	a.fails(t, "not executable", "exec", "greeting")
	a.fails(t, "not found", "exec", "no-such-lambda")

	// Raw mode: stdout is the output, the exit status the return code.
	r = lkv(t, nil, nil, "--addr", a.addr, "exec", "three", "--raw", "--arg", "x")
	if r.code != 0 || !bytes.Equal(r.stdout, resp.Bytes()) {
		t.Errorf("exec --raw: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	out := a.ok(t, nil, "bench", "exec", "--json", "--clients", "2", "--requests", "50")
	var br map[string]any
	if err := json.Unmarshal(out, &br); err != nil || br["op"] != "exec" || br["errors"] != 0.0 {
		t.Errorf("bench exec = %s (%v)", out, err)
	}
	a.stop(t)
}

func TestE2E_token(t *testing.T) {
	a := startAgent(t, "--executors=-1", "--token", "s3cret")
	if banner := strings.Join(a.banner, "\n"); !strings.Contains(banner, "gossip:   127.0.0.1:") {
		t.Errorf("banner does not give the gossip address:\n%s", banner)
	}
	r := lkv(t, nil, []byte("v"), "--addr", a.addr, "put", "k")
	checkOneLineError(t, r, "unauthorized", []string{"put without token"})
	r = lkv(t, nil, nil, "--addr", a.addr, "--token", "wrong", "get", "k")
	checkOneLineError(t, r, "unauthorized", []string{"get with a wrong token"})

	r = lkv(t, nil, []byte("v"), "--addr", a.addr, "--token", "s3cret", "put", "k")
	if r.code != 0 {
		t.Fatalf("put with token: exit %d, stderr %q", r.code, r.stderr)
	}
	r = lkv(t, []string{"LKV_TOKEN=s3cret", "LKV_ADDR=" + a.addr}, nil, "get", "k")
	if r.code != 0 || string(r.stdout) != "v" {
		t.Errorf("get with LKV_TOKEN: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	a.stop(t)
}

func TestE2E_TLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	a := startAgent(t, "--executors=-1", "--tls-cert", certFile, "--tls-key", keyFile)
	r := lkv(t, nil, []byte("v"), "--addr", a.addr, "--ca", certFile, "put", "k")
	if r.code != 0 {
		t.Fatalf("put over TLS: exit %d, stderr %q", r.code, r.stderr)
	}
	r = lkv(t, []string{"LKV_CA=" + certFile, "LKV_ADDR=" + a.addr}, nil, "get", "k")
	if r.code != 0 || string(r.stdout) != "v" {
		t.Errorf("get with LKV_CA: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Without the CA the node's certificate does not verify.
	r = lkv(t, nil, nil, "--addr", a.addr, "--tls", "--timeout", "5s", "get", "k")
	checkOneLineError(t, r, "certificate", []string{"get --tls without CA"})
	a.stop(t)
}

func TestE2E_agentErrors(t *testing.T) {
	bin := lkvBinary(t)
	for _, tt := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"agent"}, nil, "data_dir is required"},
		{[]string{"agent", "--dev", "--role", "boss"}, nil, "role"},
		{[]string{"agent", "--dev"}, []string{"LKV_PORT=x"}, "LKV_PORT"},
		{[]string{"agent", "--config", "/no/such/file.hcl"}, nil, "config file"},
	} {
		cmd := exec.Command(bin, tt.args...)
		cmd.Env = cleanEnv(tt.env...)
		var stderr bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, io.Discard
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		checkOneLineError(t, result{stderr: stderr.String(), code: code}, tt.want, tt.args)
	}
}

func TestE2E_devTempDir(t *testing.T) {
	a := startAgent(t, "--dev", "--executors=-1")
	var dir string
	for _, line := range a.banner {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "data dir:"); ok && strings.Contains(rest, "temporary") {
			dir = strings.Fields(rest)[0]
		}
	}
	if dir == "" {
		t.Fatalf("banner names no temporary data directory:\n%s", strings.Join(a.banner, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dir, "lkv.db")); err != nil {
		t.Errorf("dev data directory: %v", err)
	}
	a.ok(t, []byte("v"), "put", "k")
	a.signal(t, os.Interrupt)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev data directory %s still there after exit (%v)", dir, err)
	}
}

func TestE2E_version(t *testing.T) {
	r := lkv(t, nil, nil, "version")
	if r.code != 0 || !strings.Contains(string(r.stdout), "lkv e2e-test") || !strings.Contains(string(r.stdout), "protocol 1") ||
		!strings.Contains(string(r.stdout), "go1.") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
	var v map[string]any
	if err := json.Unmarshal(lkv(t, nil, nil, "version", "--json").stdout, &v); err != nil || v["version"] != "e2e-test" {
		t.Errorf("version --json = %v, %v", v, err)
	}
}

func TestE2E_bench(t *testing.T) {
	a := startAgent(t, "--executors=-1")
	out := a.ok(t, nil, "bench", "get", "put", "--json", "--clients", "4", "--pipeline", "4", "--requests", "2000", "--keyspace", "500")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("bench --json printed %d lines; want 2:\n%s", len(lines), out)
	}
	for i, op := range []string{"get", "put"} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"op", "ops_per_sec", "p50_ms", "p99_ms", "p999_ms", "errors"} {
			if _, ok := r[f]; !ok {
				t.Errorf("%s: no field %q in %v", op, f, r)
			}
		}
		if r["op"] != op || r["errors"] != 0.0 || r["ops_per_sec"].(float64) <= 0 {
			t.Errorf("bench %s = %v", op, r)
		}
	}
	text := string(a.ok(t, nil, "bench", "get", "--clients", "2", "--requests", "200", "--keyspace", "10"))
	if !strings.HasPrefix(text, "GET: ") || !strings.Contains(text, "requests per second, p50=") || !strings.Contains(text, "(errors: 0)") {
		t.Errorf("bench get printed %q", text)
	}
}
