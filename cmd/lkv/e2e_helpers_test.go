package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests build the lkv binary once and run it as separate
// processes: an agent on free ports, and the CLI against it.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lkvBinary builds cmd/lkv once per test run.
func lkvBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lkv-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lkv")
		cmd := exec.Command("go", "build", "-o", binPath, "-ldflags", "-X main.version=e2e-test", ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cleanEnv is the test's environment without LKV_* variables.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LKV_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// agent is an lkv agent process.
type agent struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	banner []string
	stderr *syncBuffer
	exited chan struct{}
	err    error // the process's exit, once exited is closed
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgent runs lkv agent on free ports with a fresh data directory and
// waits until it prints its client address.
func startAgent(t *testing.T, args ...string) *agent {
	t.Helper()
	a, err := tryStartAgent(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryStartAgent is startAgent, returning an error if the agent does not
// come up.
func tryStartAgent(t *testing.T, args ...string) (*agent, error) {
	t.Helper()
	bin := lkvBinary(t)
	base := []string{"agent", "--port", "0", "--http-port", "0", "--gossip-port", "0"}
	if len(args) == 0 || args[0] != "--dev" {
		base = append(base, "--data-dir", t.TempDir(), "--sync", "none")
	}
	args = append(base, args...)
	a := &agent{t: t, stderr: &syncBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(bin, args...)
	a.cmd.Env = cleanEnv()
	a.cmd.Stderr = a.stderr
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() {
		a.err = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			t.Logf("agent stderr:\n%s", a.stderr.String())
		}
	})
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				<-a.exited
				return nil, fmt.Errorf("agent exited before serving: %v\n%s", a.err, a.stderr.String())
			}
			a.banner = append(a.banner, line)
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "client:"); ok {
				a.addr = strings.Fields(rest)[0]
			}
			done = strings.HasPrefix(strings.TrimSpace(line), "version:") // the banner's last line
		case <-deadline:
			return nil, fmt.Errorf("agent printed no client address in 15s; stderr:\n%s", a.stderr.String())
		}
	}
	if a.addr == "" {
		return nil, fmt.Errorf("banner without a client address:\n%s", strings.Join(a.banner, "\n"))
	}
	// Keep draining stdout so the agent never blocks on it.
	go func() {
		for line := range lines {
			_ = line
		}
	}()
	return a, nil
}

// result is one CLI run.
type result struct {
	stdout []byte
	stderr string
	code   int
}

// lkv runs the CLI with stdin and the given environment additions.
func lkv(t *testing.T, env []string, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lkvBinary(t), args...)
	cmd.Env = cleanEnv(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lkv %v: %v", args, err)
	}
	return result{stdout: out.Bytes(), stderr: errb.String(), code: code}
}

// ok runs the CLI against a and fails the test unless it exits 0.
func (a *agent) ok(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	r := lkv(t, nil, stdin, append([]string{"--addr", a.addr}, args...)...)
	if r.code != 0 {
		t.Fatalf("lkv %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

// fails runs the CLI against a and checks exit status 1 with exactly one
// line on stderr that contains want.
func (a *agent) fails(t *testing.T, want string, args ...string) {
	t.Helper()
	r := lkv(t, nil, nil, append([]string{"--addr", a.addr}, args...)...)
	checkOneLineError(t, r, want, args)
}

func checkOneLineError(t *testing.T, r result, want string, args []string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("lkv %v: exit %d; want 1 (stderr %q)", args, r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 || !strings.HasPrefix(r.stderr, "lkv: ") {
		t.Errorf("lkv %v: stderr %q; want one line starting with \"lkv: \"", args, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("lkv %v: stderr %q; want it to contain %q", args, r.stderr, want)
	}
}

// stop sends SIGTERM and checks a clean exit within a few seconds.
func (a *agent) stop(t *testing.T) {
	t.Helper()
	a.signal(t, syscall.SIGTERM)
}

// signal sends sig and checks a clean exit within a few seconds.
func (a *agent) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	start := time.Now()
	if err := a.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit within 10s of SIGTERM")
	}
	if a.err != nil {
		t.Errorf("agent exit after SIGTERM: %v; want status 0\n%s", a.err, a.stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("agent took %v to stop; want a few seconds at most", d)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lkv test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
