// Command reducer is the reduce half of the example map/reduce word count
// (see cmd/lambdas/mapper). It reads the partition keys it is given as
// dependencies ("word count" lines, as the mapper writes them), adds them
// up, and stores the merged counts, in the same format, under the key
// named by its argument, immutable (perm r) for the same reasons as the
// mapper's outputs.
//
// Run one reducer per partition i, with the part-i key of every mapper:
//
//	lkv exec reducer --arg job1/out/part-0 --dep job1/map-0/part-0 --dep job1/map-1/part-0
//
// The partitions hold disjoint words, so the final result is the reducers'
// outputs taken together; a last reducer over job1/out/part-* merges them
// into one key.
package main

import (
	"errors"
	"fmt"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

func main() {
	lambda.Serve(handle)
}

// handle merges the partitions and puts the result.
func handle(a *lambda.Args) (*lambda.Response, error) {
	if len(a.Args) != 1 || a.Args[0] == "" {
		return nil, errors.New("reducer: usage: --arg OUTPUT_KEY --dep PARTITION_KEY [--dep ...]")
	}
	keys := a.Keys()
	if len(keys) == 0 {
		return nil, errors.New("reducer: no partitions: pass them with --dep KEY or --inline KEY")
	}
	total := make(words.Counts)
	for _, k := range keys {
		b, err := a.Get(k)
		if err != nil {
			return nil, err
		}
		part, err := words.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("reducer: %s: %w", k, err)
		}
		total.Merge(part)
	}
	out := a.Args[0]
	resp := (&lambda.Response{}).AddPut(out, total.Format(), lambda.R)
	resp.Output = fmt.Appendf(nil, "reduced %d partitions: %d words (%d distinct) into %s\n",
		len(keys), total.Total(), len(total), out)
	return resp, nil
}
