package slots_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

// newRand returns a deterministic source for property tests, so a failure
// reproduces with the seed in its message.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5107)) }

// randomTable returns a table of up to maxRanges ranges with masters and
// replicas drawn from nodes and epochs from 1 to maxEpoch, leaving some
// slots uncovered. Few nodes and epochs make equal-epoch conflicts common.
func randomTable(r *rand.Rand, nodes []string, maxEpoch uint64, maxRanges int) *slots.Table {
	n := 1 + r.IntN(maxRanges)
	cuts := make([]int, 0, 2*n)
	for range 2 * n {
		cuts = append(cuts, r.IntN(slots.NumSlots))
	}
	var rs []slots.Range
	used := make([]bool, slots.NumSlots)
	for i := 0; i+1 < len(cuts); i += 2 {
		start, end := min(cuts[i], cuts[i+1]), max(cuts[i], cuts[i+1])
		for start <= end && used[start] {
			start++
		}
		for s := start; s <= end; s++ {
			if used[s] {
				end = s - 1
				break
			}
		}
		if start > end {
			continue
		}
		for s := start; s <= end; s++ {
			used[s] = true
		}
		rs = append(rs, randomRange(r, start, end, nodes, maxEpoch))
	}
	t, err := slots.FromRanges(rs)
	if err != nil {
		panic(err)
	}
	return t
}

// randomRange returns start..end owned by a random master with 0-2 random
// replicas.
func randomRange(r *rand.Rand, start, end int, nodes []string, maxEpoch uint64) slots.Range {
	rg := slots.Range{Start: start, End: end, Master: nodes[r.IntN(len(nodes))], Epoch: 1 + r.Uint64N(maxEpoch)}
	for range r.IntN(3) {
		if rep := nodes[r.IntN(len(nodes))]; rep != rg.Master {
			rg.Replicas = append(rg.Replicas, rep)
		}
	}
	return rg
}

// nodeIDs returns "node-00", "node-01", ... n ids.
func nodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%02d", i)
	}
	return ids
}

// mustFromRanges builds a table or fails the test.
func mustFromRanges(t testing.TB, rs ...slots.Range) *slots.Table {
	t.Helper()
	tab, err := slots.FromRanges(rs)
	if err != nil {
		t.Fatalf("FromRanges(%v): %v", rs, err)
	}
	return tab
}

// balanced returns the table Plan and Apply make from an empty table for
// masters, at epoch 1.
func balanced(masters []string) *slots.Table {
	t := slots.New()
	return slots.Apply(t, slots.Plan(t, masters), 1)
}

// checkBalanced fails unless the masters own every slot between them,
// max-min <= 1.
func checkBalanced(t *testing.T, tab *slots.Table, masters []string) {
	t.Helper()
	lo, hi, sum := slots.NumSlots, 0, 0
	for _, m := range masters {
		n := tab.SlotsOf(m)
		lo, hi, sum = min(lo, n), max(hi, n), sum+n
	}
	if sum != slots.NumSlots || hi-lo > 1 {
		t.Errorf("masters own %d slots, %d to %d each; want %d, max-min <= 1\n%v", sum, lo, hi, slots.NumSlots, tab)
	}
}

// grownTable returns the table of a cluster that grew from one master to
// n, one join at a time, each rebalanced with Plan and Apply: the most
// fragmented table the planner makes on its own.
func grownTable(n int) *slots.Table {
	ids := nodeIDs(n)
	t := slots.New()
	for i := 1; i <= n; i++ {
		t = slots.Apply(t, slots.Plan(t, ids[:i]), t.NextEpoch())
	}
	return t
}
