// Command wordcount is an example lambda that counts the words of every
// dependency, inline or file, and returns one "word count" line per word,
// sorted by word (see package words for what a word is). With an argument
// it also stores that result under the key the argument names, immutable
// (perm r): the output is deterministic, so a retried run puts the same
// bytes and succeeds.
//
//	CGO_ENABLED=0 go build -o wordcount ./cmd/lambdas/wordcount
//	lkv put wordcount ./wordcount --perm rx
//	lkv put book ./book.txt --perm r
//	lkv exec wordcount --dep book --arg book.counts
//
// cmd/lambdas/c/wordcount.c is the same lambda in C.
package main

import (
	"errors"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

func main() {
	lambda.Serve(handle)
}

// handle counts the words of all dependencies.
func handle(a *lambda.Args) (*lambda.Response, error) {
	keys := a.Keys()
	if len(keys) == 0 {
		return nil, errors.New("wordcount: no input: pass text with --dep KEY or --inline KEY")
	}
	counts := make(words.Counts)
	for _, k := range keys {
		text, err := a.Get(k)
		if err != nil {
			return nil, err
		}
		counts.Add(text)
	}
	resp := &lambda.Response{Output: counts.Format()}
	if out := a.Arg(0); out != "" {
		resp.AddPut(out, resp.Output, lambda.R)
	}
	return resp, nil
}
