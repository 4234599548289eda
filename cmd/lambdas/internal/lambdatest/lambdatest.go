// Package lambdatest builds example lambdas the way users do and runs them
// the way a node does (ExecArgs on stdin, ExecResponse from stdout), for the
// tests of cmd/lambdas. It has no sandbox: only run trusted code with it.
package lambdatest

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// Build compiles the main package in dir (for example "." or "../mapper")
// with CGO_ENABLED=0 into a temporary directory, checks that the result is
// a static executable, and returns its path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found: cannot build the lambda")
	}
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+".bin")
	cmd := exec.Command(gobin, "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, msg)
	}
	AssertStatic(t, out)
	return out
}

// AssertStatic fails t unless path is an ELF executable without an
// interpreter (PT_INTERP), which the jail requires.
func AssertStatic(t testing.TB, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked; lambdas must be static", path)
		}
	}
}

// Run executes the lambda bin in dir (the working directory that file
// dependencies are relative to; "" means a fresh temporary one), feeds it a
// as ExecArgs, and returns the ExecResponse, decoded as the node decodes it.
// It fails t if the lambda does not exit 0 with a valid response.
func Run(t testing.TB, bin, dir string, a *lambda.Args) *lambda.Response {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var in, stdout, stderr bytes.Buffer
	if err := lambda.EncodeArgs(&in, a); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, &in, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run %s: %v", bin, err)
		}
		t.Fatalf("%s: %v; stdout %q, stderr %q", bin, err, stdout.Bytes(), stderr.Bytes())
	}
	resp, err := lambda.DecodeResponse(&stdout, 1<<30)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return resp
}

// WriteFiles creates files (relative path → contents) under dir, making
// directories as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
