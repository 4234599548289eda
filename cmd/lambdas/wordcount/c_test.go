package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/lambdatest"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

// TestWordcount_C builds cmd/lambdas/c/wordcount.c with the documented
// command and checks that it answers exactly as this Go version does.
func TestWordcount_C(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: cannot build the C example")
	}
	bin := filepath.Join(t.TempDir(), "wc")
	cmd := exec.Command("gcc", "-static", "-O2", "-I", "jail/lambda/c", "-o", bin, "cmd/lambdas/c/wordcount.c")
	cmd.Dir = "../../.." // the repository root, as in the documented command
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	lambdatest.AssertStatic(t, bin)

	var many bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&many, "w%d W%d, ", i%7000, i%7000)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		values map[string]string
		files  map[string]string
	}{
		{"inline and file", []string{"out/key"}, map[string]string{"a": "The cat; the HAT."}, map[string]string{"f": "Ünïcode cat\x00bytes\xff!"}},
		{"no put", nil, map[string]string{"a": "x y z x"}, nil},
		{"empty text", nil, map[string]string{"a": ""}, map[string]string{"f": "  \n "}},
		{"many words", []string{"big"}, map[string]string{"m": many.String()}, nil},
		{"no input", nil, nil, nil},
		{"unreadable file", nil, nil, map[string]string{"gone": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := &lambda.Args{Args: tt.args, Values: map[string][]byte{}, Files: map[string]string{}}
			for k, v := range tt.values {
				a.Values[k] = []byte(v)
			}
			for k, body := range tt.files {
				a.Files[k] = "deps/" + k
				if body != "" {
					lambdatest.WriteFiles(t, dir, map[string]string{"deps/" + k: body})
				}
			}
			got := lambdatest.Run(t, bin, dir, a)
			t.Chdir(dir)
			want := lambda.Call(handle, a)
			if got.ReturnCode != want.ReturnCode || (want.ReturnCode == 0 && !bytes.Equal(got.Output, want.Output)) {
				t.Errorf("C: rc %d, output %.200q\nGo: rc %d, output %.200q", got.ReturnCode, got.Output, want.ReturnCode, want.Output)
			}
			if len(got.Puts) != len(want.Puts) {
				t.Fatalf("C: %d puts; Go: %d", len(got.Puts), len(want.Puts))
			}
			for i, p := range want.Puts {
				g := got.Puts[i]
				if g.Key != p.Key || !bytes.Equal(g.Value, p.Value) || g.Perm != p.Perm {
					t.Errorf("put %d: C %q %v; Go %q %v", i, g.Key, g.Perm, p.Key, p.Perm)
				}
			}
		})
	}
}
