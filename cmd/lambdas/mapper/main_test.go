package main

import (
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/lambdatest"
	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

func TestHandle(t *testing.T) {
	a := &lambda.Args{
		Args:   []string{"job/map-0", "3"},
		Values: map[string][]byte{"in/1": []byte("the cat and the hat"), "in/2": []byte("The end")},
	}
	resp, err := handle(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mapped 7 words (5 distinct) from 2 inputs into job/map-0/part-0..2\n"; string(resp.Output) != want {
		t.Errorf("output %q; want %q", resp.Output, want)
	}
	if len(resp.Puts) != 3 {
		t.Fatalf("%d puts; want 3 (one per partition)", len(resp.Puts))
	}
	all := make(words.Counts)
	for i, p := range resp.Puts {
		if p.Key != partKey("job/map-0", i) || p.Perm != lambda.R {
			t.Errorf("put %d: key %q perm %v; want %q, r", i, p.Key, p.Perm, partKey("job/map-0", i))
		}
		part, err := words.Parse(p.Value)
		if err != nil {
			t.Fatalf("partition %d: %v", i, err)
		}
		for w := range part {
			if got := words.Partition(w, 3); got != i {
				t.Errorf("%q in partition %d; want %d", w, i, got)
			}
		}
		all.Merge(part)
	}
	want := words.Counts{"the": 3, "cat": 1, "and": 1, "hat": 1, "end": 1}
	if string(all.Format()) != string(want.Format()) {
		t.Errorf("partitions hold %v; want %v", all, want)
	}
}

func TestHandle_deterministic(t *testing.T) {
	// A retried run must put byte-identical values, or the put to the
	// immutable key fails.
	a := &lambda.Args{Args: []string{"p", "4"}, Values: map[string][]byte{"x": []byte("b a c a b d e f g h")}}
	first, _ := handle(a)
	for range 20 {
		again, _ := handle(a)
		for i := range first.Puts {
			if string(again.Puts[i].Value) != string(first.Puts[i].Value) {
				t.Fatalf("partition %d differs between runs", i)
			}
		}
	}
}

func TestHandle_errors(t *testing.T) {
	text := map[string][]byte{"in": []byte("x")}
	for _, tt := range []struct {
		name string
		args *lambda.Args
		want string
	}{
		{"no args", &lambda.Args{Values: text}, "usage"},
		{"empty prefix", &lambda.Args{Args: []string{"", "2"}, Values: text}, "usage"},
		{"bad n", &lambda.Args{Args: []string{"p", "two"}, Values: text}, "PARTITIONS"},
		{"zero n", &lambda.Args{Args: []string{"p", "0"}, Values: text}, "PARTITIONS"},
		{"huge n", &lambda.Args{Args: []string{"p", "100000"}, Values: text}, "PARTITIONS"},
		{"no input", &lambda.Args{Args: []string{"p", "2"}}, "no input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := lambda.Call(handle, tt.args)
			if resp.ReturnCode != 1 || !strings.Contains(string(resp.Output), tt.want) || len(resp.Puts) != 0 {
				t.Errorf("rc %d, output %q, %d puts; want rc 1, %q, no puts", resp.ReturnCode, resp.Output, len(resp.Puts), tt.want)
			}
		})
	}
}

func TestMapper_binary(t *testing.T) {
	bin := lambdatest.Build(t, ".")
	dir := t.TempDir()
	lambdatest.WriteFiles(t, dir, map[string]string{"books/1": "a b a"})
	resp := lambdatest.Run(t, bin, dir, &lambda.Args{Args: []string{"m", "1"}, Files: map[string]string{"books/1": "books/1"}})
	if len(resp.Puts) != 1 || string(resp.Puts[0].Value) != "a 2\nb 1\n" {
		t.Errorf("puts %+v; want m/part-0 = \"a 2\\nb 1\\n\"", resp.Puts)
	}
}
