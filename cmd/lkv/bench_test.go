package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func TestPercentileMs(t *testing.T) {
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		q    float64
		want float64
	}{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}, {0, 1}}
	for _, tt := range tests {
		if got := percentileMs(lat, tt.q); got != tt.want {
			t.Errorf("percentileMs(q=%v) = %v; want %v", tt.q, got, tt.want)
		}
	}
	if got := percentileMs(nil, 0.5); got != 0 {
		t.Errorf("percentileMs(nil) = %v; want 0", got)
	}
	if got := percentileMs([]time.Duration{1234567}, 0.999); got != 1.235 {
		t.Errorf("percentileMs(one) = %v; want 1.235", got)
	}
}

func TestKeyBuf_key(t *testing.T) {
	var kb keyBuf
	if got := kb.key(42); got != "key:000000000042" {
		t.Errorf("key(42) = %q", got)
	}
	if got := kb.key(0); got != "key:000000000000" {
		t.Errorf("key(0) = %q", got)
	}
}

func TestBenchFlags_validate(t *testing.T) {
	ok := benchFlags{clients: 1, pipeline: 1, requests: 1, keyspace: 1}
	if err := ok.validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	for _, f := range []benchFlags{
		{clients: 0, pipeline: 1, requests: 1, keyspace: 1},
		{clients: 1, pipeline: 0, requests: 1, keyspace: 1},
		{clients: 1, pipeline: 1, requests: 0, keyspace: 1},
		{clients: 1, pipeline: 1, requests: 1, keyspace: 0},
		{clients: 1, pipeline: 1, requests: 1, keyspace: 1, valueSize: -1},
	} {
		if err := f.validate(); err == nil {
			t.Errorf("validate(%+v) = nil; want an error", f)
		}
	}
}

// TestTinyLambda_elf checks the headers, then (on linux/amd64) runs the
// program outside any sandbox and checks what it writes.
func TestTinyLambda_elf(t *testing.T) {
	b := noopLambda()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("class %v machine %v type %v; want a 64-bit x86-64 executable", f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("has %v; want a static executable", p.Type)
		}
	}
	if len(b) > 512 {
		t.Errorf("%d bytes; want a tiny program", len(b))
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs only on linux/amd64")
	}
	path := filepath.Join(t.TempDir(), "noop")
	if err := os.WriteFile(path, tinyLambda([]byte("hello\n")), 0o755); err != nil {
		t.Fatal(err)
	}
	// A large stdin must be drained, not refused.
	cmd := exec.Command(path)
	cmd.Stdin = bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if string(out) != "hello\n" {
		t.Errorf("output %q; want %q", out, "hello\n")
	}
	// And the default one answers an empty success in runtime mode.
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(path).Output()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	resp, err := lambda.UnmarshalResponse(out)
	if err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if resp.ReturnCode != 0 || len(resp.Output) != 0 || len(resp.Puts) != 0 {
		t.Errorf("response %+v; want an empty success", resp)
	}
}
