package gobuild_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/internal/gobuild"
)

// helloMain is the program the tests build: fmt pulls in about 30
// packages, runtime among them.
const helloMain = `package main

import "fmt"

func main() { fmt.Println("hello from lambdakv") }
`

const helloWant = "hello from lambdakv\n"

var (
	exactOnce  sync.Once
	exactBuild *gobuild.Build
	exactErr   error
	tmpRoot    string
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "gobuild-test-")
	if err != nil {
		panic(err)
	}
	tmpRoot = d
	code := m.Run()
	if exactBuild != nil {
		exactBuild.Close()
	}
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// helloModule writes the hello module once and returns its directory.
func helloModule(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(tmpRoot, "hello")
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"go.mod": "module example.com/hello\n\ngo 1.26\n", "main.go": helloMain}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exactHello plans the hello program with a real local build (go build
// -a -x -work), once per test process; its work directory holds go's
// outputs to compare with.
func exactHello(t testing.TB) *gobuild.Build {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := helloModule(t)
	exactOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		exactBuild, exactErr = gobuild.MakePlan(ctx, gobuild.PlanOptions{
			Dir: dir, Packages: []string{"."}, Link: true, Exact: true,
			ToolCache: filepath.Join(tmpRoot, "tools"),
		})
	})
	if exactErr != nil {
		t.Fatalf("MakePlan: %v", exactErr)
	}
	return exactBuild
}

// getter reads a key's value from wherever a test ran the graph.
type getter func(key string) ([]byte, error)

// checkIdentical compares every archive and the binary the graph made
// with go's and returns how many it compared; outputs get cannot find
// (steps a test left out) are skipped.
func checkIdentical(t *testing.T, b *gobuild.Build, get getter) int {
	t.Helper()
	n := 0
	for key, rel := range b.Work {
		gb, err := get(key)
		if errors.Is(err, client.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Errorf("%s (%s): %v", key, rel, err)
			continue
		}
		want := filepath.Join(b.WorkDir, rel)
		if key == b.Binary {
			want = b.ExeFile
		}
		wb, err := os.ReadFile(want)
		if err != nil {
			t.Errorf("go's %s: %v", rel, err)
			continue
		}
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s (%s): %d bytes differ from go's %d bytes", key, rel, len(gb), len(wb))
		}
		n++
	}
	t.Logf("%d outputs byte-identical to go build", n)
	return n
}

// runBinary writes the linked program and runs it.
func runBinary(t *testing.T, exe []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(p, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(p).CombinedOutput()
	if err != nil || string(out) != helloWant {
		t.Fatalf("hello: %q, %v; want %q", out, err, helloWant)
	}
}
