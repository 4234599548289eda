package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/lambdatest"
	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

func TestHandle(t *testing.T) {
	a := &lambda.Args{
		Args:   []string{"out"},
		Values: map[string][]byte{"m0/part-1": []byte("a 2\nb 1\n"), "m1/part-1": []byte("a 1\nc 5\n")},
	}
	resp, err := handle(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := "reduced 2 partitions: 9 words (3 distinct) into out\n"; string(resp.Output) != want {
		t.Errorf("output %q; want %q", resp.Output, want)
	}
	if len(resp.Puts) != 1 || resp.Puts[0].Key != "out" || string(resp.Puts[0].Value) != "a 3\nb 1\nc 5\n" || resp.Puts[0].Perm != lambda.R {
		t.Errorf("puts %+v; want out = a 3, b 1, c 5 (perm r)", resp.Puts)
	}
}

func TestHandle_errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args *lambda.Args
		want string
	}{
		{"no args", &lambda.Args{Values: map[string][]byte{"p": nil}}, "usage"},
		{"no deps", &lambda.Args{Args: []string{"out"}}, "no partitions"},
		{"bad partition", &lambda.Args{Args: []string{"out"}, Values: map[string][]byte{"p": []byte("not counts")}}, "p: line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := lambda.Call(handle, tt.args)
			if resp.ReturnCode != 1 || !strings.Contains(string(resp.Output), tt.want) || len(resp.Puts) != 0 {
				t.Errorf("rc %d, output %q, %d puts; want rc 1, %q, no puts", resp.ReturnCode, resp.Output, len(resp.Puts), tt.want)
			}
		})
	}
}

// TestMapReduce runs the built mapper and reducer binaries the way the
// documentation does: two mappers over two books into three partitions,
// one reducer per partition fed from a simulated store, and checks that
// the result equals a plain word count.
func TestMapReduce(t *testing.T) {
	mapper, reducer := lambdatest.Build(t, "../mapper"), lambdatest.Build(t, ".")
	books := map[string]string{
		"books/1": "It was the best of times, it was the worst of times.",
		"books/2": "It is a far, far better thing that I do.",
	}
	const parts = 3
	store := map[string][]byte{} // what the node would have stored
	put := func(resp *lambda.Response) {
		for _, p := range resp.Puts {
			if _, dup := store[p.Key]; dup {
				t.Fatalf("key %q written twice", p.Key)
			}
			store[p.Key] = p.Value
		}
	}
	m := 0
	for key, text := range books {
		dir := t.TempDir()
		lambdatest.WriteFiles(t, dir, map[string]string{"in": text})
		prefix := fmt.Sprintf("job/map-%d", m)
		put(lambdatest.Run(t, mapper, dir, &lambda.Args{Args: []string{prefix, fmt.Sprint(parts)}, Files: map[string]string{key: "in"}}))
		m++
	}
	result := make(words.Counts)
	for i := range parts {
		deps := map[string][]byte{}
		for j := range m {
			k := fmt.Sprintf("job/map-%d/part-%d", j, i)
			deps[k] = store[k]
		}
		out := fmt.Sprintf("job/out/part-%d", i)
		put(lambdatest.Run(t, reducer, "", &lambda.Args{Args: []string{out}, Values: deps}))
		part, err := words.Parse(store[out])
		if err != nil {
			t.Fatal(err)
		}
		result.Merge(part)
	}
	want := make(words.Counts)
	for _, text := range books {
		want.Add([]byte(text))
	}
	if got := string(result.Format()); got != string(want.Format()) {
		t.Errorf("map/reduce result:\n%s\nwant:\n%s", got, want.Format())
	}
}
