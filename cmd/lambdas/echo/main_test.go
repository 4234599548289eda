package main

import (
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/lambdatest"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

var echoTests = []struct {
	name string
	args *lambda.Args
	want string
}{
	{"nothing", &lambda.Args{}, "\n"},
	{"args", &lambda.Args{Args: []string{"hi", "there"}}, "hi there\n"},
	{"values sorted, files ignored", &lambda.Args{
		Args:   []string{"x"},
		Values: map[string][]byte{"b": []byte("2"), "a": []byte("1")},
		Files:  map[string]string{"f": "f"},
	}, "x\na=1\nb=2\n"},
}

func TestHandle(t *testing.T) {
	for _, tt := range echoTests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := handle(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(resp.Output); got != tt.want || resp.ReturnCode != 0 || len(resp.Puts) != 0 {
				t.Errorf("handle = rc %d, %q, %d puts; want rc 0, %q, no puts", resp.ReturnCode, got, len(resp.Puts), tt.want)
			}
		})
	}
}

func TestEcho_binary(t *testing.T) {
	// Built as users build it, run as the node runs it.
	bin := lambdatest.Build(t, ".")
	for _, tt := range echoTests {
		t.Run(tt.name, func(t *testing.T) {
			resp := lambdatest.Run(t, bin, "", tt.args)
			if got := string(resp.Output); got != tt.want || resp.ReturnCode != 0 || len(resp.Puts) != 0 {
				t.Errorf("echo = rc %d, %q, %d puts; want rc 0, %q, no puts", resp.ReturnCode, got, len(resp.Puts), tt.want)
			}
		})
	}
}
