// Command mapper is the map half of an example map/reduce word count. It
// counts the words of every dependency (text, inline or file) and writes
// the counts split into N partitions, one key per partition:
//
//	PREFIX/part-0, PREFIX/part-1, ..., PREFIX/part-(N-1)
//
// A word goes to partition words.Partition(word, N) (FNV-1a 32 of its bytes
// modulo N), so the same word lands in the same partition in every mapper
// run. Each partition key holds "word count" lines sorted by word (the
// format of package words) and is written even when empty, so a reducer can
// always name it as a dependency.
//
// Arguments: PREFIX N. Use a prefix per mapper run (for example
// job1/map-0, job1/map-1), since each run writes all N of its keys.
//
// The keys are immutable (perm r). An execution is at-least-once: a client
// may retry a run that timed out or whose node died, and the retry writes
// the same bytes, which a put to an existing immutable key accepts; an
// immutable key can never be changed by a stale or duplicate run, and it
// may be cached on the nodes that read it (the reducers). The cost is that
// a prefix cannot be reused with different input: pick a new one or delete
// the old keys with lkv del --force.
//
//	lkv exec mapper --arg job1/map-0 --arg 2 --dep books/1
//	lkv exec mapper --arg job1/map-1 --arg 2 --dep books/2
//	lkv exec reducer --arg job1/out/part-0 --dep job1/map-0/part-0 --dep job1/map-1/part-0
//	lkv exec reducer --arg job1/out/part-1 --dep job1/map-0/part-1 --dep job1/map-1/part-1
package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

// maxParts bounds N, the number of partitions.
const maxParts = 4096

func main() {
	lambda.Serve(handle)
}

// partKey returns the key of partition i under prefix.
func partKey(prefix string, i int) string {
	return prefix + "/part-" + strconv.Itoa(i)
}

// parseArgs reads PREFIX and N.
func parseArgs(a *lambda.Args) (prefix string, n int, err error) {
	if len(a.Args) != 2 || a.Args[0] == "" {
		return "", 0, errors.New("mapper: usage: --arg PREFIX --arg PARTITIONS")
	}
	n, err = strconv.Atoi(a.Args[1])
	if err != nil || n < 1 || n > maxParts {
		return "", 0, fmt.Errorf("mapper: PARTITIONS %q: want a number from 1 to %d", a.Args[1], maxParts)
	}
	return a.Args[0], n, nil
}

// handle counts, splits and puts.
func handle(a *lambda.Args) (*lambda.Response, error) {
	prefix, n, err := parseArgs(a)
	if err != nil {
		return nil, err
	}
	keys := a.Keys()
	if len(keys) == 0 {
		return nil, errors.New("mapper: no input: pass text with --dep KEY or --inline KEY")
	}
	counts := make(words.Counts)
	for _, k := range keys {
		text, err := a.Get(k)
		if err != nil {
			return nil, err
		}
		counts.Add(text)
	}
	resp := &lambda.Response{}
	for i, part := range counts.Split(n) {
		resp.AddPut(partKey(prefix, i), part.Format(), lambda.R)
	}
	resp.Output = fmt.Appendf(nil, "mapped %d words (%d distinct) from %d inputs into %s/part-0..%d\n",
		counts.Total(), len(counts), len(keys), prefix, n-1)
	return resp, nil
}
