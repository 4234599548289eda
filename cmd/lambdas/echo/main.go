// Command echo is the smallest useful lambda: it returns its arguments,
// joined by spaces, followed by one "key=value" line per inline dependency,
// sorted by key. It stores nothing.
//
//	CGO_ENABLED=0 go build -o echo ./cmd/lambdas/echo
//	lkv put echo ./echo --perm rx
//	lkv put greeting - <<<"hello"
//	lkv exec echo --arg hi --arg there --inline greeting
package main

import (
	"strings"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func main() {
	lambda.Serve(handle)
}

// handle builds the echo output.
func handle(a *lambda.Args) (*lambda.Response, error) {
	var b strings.Builder
	b.WriteString(strings.Join(a.Args, " "))
	b.WriteByte('\n')
	for _, k := range a.Keys() {
		if v, ok := a.Value(k); ok {
			b.WriteString(k + "=")
			b.Write(v)
			b.WriteByte('\n')
		}
	}
	return &lambda.Response{Output: []byte(b.String())}, nil
}
