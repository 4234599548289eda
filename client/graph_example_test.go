package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lambdakv/lambdakv/client"
)

// A graph in Go: two compiles and a link. The edges come from the keys:
// "link" reads what the compiles write.
func ExampleRunGraph() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{"127.0.0.1:7370"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	compile := func(src string) client.Thunk {
		return client.Thunk{
			ID: "cc " + src, Lambda: "tools/cc", Raw: true,
			Args:    []string{"-c", "in.c", "-o", "out.o"},
			Deps:    []client.GraphDep{{Key: "src/" + src + ".c", AsFile: true, Name: "in.c"}},
			Outputs: []client.GraphOutput{{File: "out.o", Key: "obj/" + src + ".o"}},
		}
	}
	g := &client.Graph{Thunks: []client.Thunk{
		compile("main"),
		compile("util"),
		{
			ID: "link", Lambda: "tools/ld", Raw: true,
			Args: []string{"-o", "app", "main.o", "util.o"},
			Deps: []client.GraphDep{
				{Key: "obj/main.o", AsFile: true, Name: "main.o"},
				{Key: "obj/util.o", AsFile: true, Name: "util.o"},
			},
			Outputs: []client.GraphOutput{{File: "app", Key: "bin/app", Perm: "rx"}},
		},
	}}
	rep, err := client.RunGraph(ctx, c, g, client.GraphOptions{Placement: client.MostBytes, Pipeline: 4})
	var te *client.ThunkError
	if errors.As(err, &te) {
		log.Fatalf("thunk %s failed: %v", te.ID, err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d thunks in %v; KV time %v, of which fetching %v\n", rep.Done, rep.Wall, rep.Totals.KV, rep.Totals.Fetch)
}

// ParseGraph reads the JSON form that lkv graph run takes, and rejects a
// graph that cannot run before anything does.
func ExampleParseGraph() {
	g, err := client.ParseGraph([]byte(`{"thunks": [
		{"id": "count", "lambda": "wordcount", "args": ["counts"], "deps": [{"key": "book"}], "puts": ["counts"]},
		{"id": "upper", "lambda": "upper", "raw": true, "args": ["counts"],
		 "deps": [{"key": "counts", "as_file": true}], "outputs": [{"file": "upper.txt", "key": "counts.upper"}]}
	]}`))
	fmt.Println(len(g.Thunks), err)

	_, err = client.ParseGraph([]byte(`{"thunks": [
		{"id": "a", "lambda": "l", "deps": [{"key": "y"}], "puts": ["x"]},
		{"id": "b", "lambda": "l", "deps": [{"key": "x"}], "puts": ["y"]}
	]}`))
	fmt.Println(errors.Is(err, client.ErrInvalidGraph), err)
	// Output:
	// 2 <nil>
	// true invalid graph: cycle: a → b → a
}
