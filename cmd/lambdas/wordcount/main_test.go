package main

import (
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/lambdatest"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

// testInput is an inline value and a file dependency; dir holds the file.
func testInput(t *testing.T) (a *lambda.Args, dir string) {
	dir = t.TempDir()
	lambdatest.WriteFiles(t, dir, map[string]string{"deps/book": "The cat sat.\nThe END"})
	return &lambda.Args{
		Values: map[string][]byte{"note": []byte("a cat, a hat")},
		Files:  map[string]string{"book": "deps/book"},
	}, dir
}

const wantCounts = "a 2\ncat 2\nend 1\nhat 1\nsat 1\nthe 2\n"

func TestHandle(t *testing.T) {
	a, dir := testInput(t)
	t.Chdir(dir)
	resp, err := handle(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Output); got != wantCounts || len(resp.Puts) != 0 {
		t.Errorf("handle = %q, %d puts; want %q, no puts", got, len(resp.Puts), wantCounts)
	}
}

func TestHandle_put(t *testing.T) {
	a, dir := testInput(t)
	t.Chdir(dir)
	a.Args = []string{"result/counts"}
	resp, err := handle(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Puts) != 1 {
		t.Fatalf("%d puts; want 1", len(resp.Puts))
	}
	p := resp.Puts[0]
	if p.Key != "result/counts" || string(p.Value) != wantCounts || p.Perm != lambda.R {
		t.Errorf("put %q %q %v; want result/counts, the counts, r", p.Key, p.Value, p.Perm)
	}
}

func TestHandle_errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args *lambda.Args
		want string
	}{
		{"no input", &lambda.Args{}, "no input"},
		{"missing file", &lambda.Args{Files: map[string]string{"k": "does-not-exist"}}, "does-not-exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			resp := lambda.Call(handle, tt.args)
			if resp.ReturnCode != 1 || !strings.Contains(string(resp.Output), tt.want) {
				t.Errorf("rc %d, output %q; want rc 1, output containing %q", resp.ReturnCode, resp.Output, tt.want)
			}
		})
	}
}

func TestWordcount_binary(t *testing.T) {
	bin := lambdatest.Build(t, ".")
	a, dir := testInput(t)
	a.Args = []string{"out"}
	resp := lambdatest.Run(t, bin, dir, a)
	if got := string(resp.Output); got != wantCounts || len(resp.Puts) != 1 {
		t.Errorf("wordcount = %q, %d puts; want %q, 1 put", got, len(resp.Puts), wantCounts)
	}
}
