package slots_test

import (
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

func TestMerge_slotWinner(t *testing.T) {
	type own struct {
		master   string
		replicas []string
		epoch    uint64
	}
	tests := []struct {
		name    string
		a, b    own // "" master: uncovered
		want    own
		changed bool
	}{
		{"higher epoch in b wins", own{"a", nil, 1}, own{"b", nil, 2}, own{"b", nil, 2}, true},
		{"higher epoch in a wins", own{"b", nil, 2}, own{"a", nil, 1}, own{"b", nil, 2}, false},
		{"higher epoch wins over larger id", own{"z", nil, 1}, own{"a", nil, 2}, own{"a", nil, 2}, true},
		{"equal epoch: larger master wins", own{"a", nil, 3}, own{"b", nil, 3}, own{"b", nil, 3}, true},
		{"equal epoch: larger master kept", own{"b", nil, 3}, own{"a", nil, 3}, own{"b", nil, 3}, false},
		{"equal epoch and master: larger replicas win", own{"a", []string{"r1"}, 3}, own{"a", []string{"r2"}, 3}, own{"a", []string{"r2"}, 3}, true},
		{"equal epoch and master: longer replica list wins a tie on prefix", own{"a", []string{"r1"}, 3}, own{"a", []string{"r1", "r2"}, 3}, own{"a", []string{"r1", "r2"}, 3}, true},
		{"owner beats uncovered", own{}, own{"a", nil, 1}, own{"a", nil, 1}, true},
		{"uncovered loses", own{"a", nil, 1}, own{}, own{"a", nil, 1}, false},
		{"identical", own{"a", []string{"r"}, 4}, own{"a", []string{"r"}, 4}, own{"a", []string{"r"}, 4}, false},
	}
	table := func(o own) *slots.Table {
		if o.master == "" {
			return slots.New()
		}
		return slots.New().AssignRange(100, 199, o.master, o.replicas, o.epoch)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := slots.Merge(table(tt.a), table(tt.b))
			if want := table(tt.want); !got.Equal(want) {
				t.Errorf("Merge = %v; want %v", got, want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v; want %v", changed, tt.changed)
			}
		})
	}
}

func TestMerge_perSlot(t *testing.T) {
	a := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "a", Epoch: 5},
		slots.Range{Start: 100, End: 199, Master: "a", Epoch: 1},
	)
	b := mustFromRanges(t, slots.Range{Start: 50, End: 149, Master: "b", Epoch: 3})
	want := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "a", Epoch: 5},
		slots.Range{Start: 100, End: 149, Master: "b", Epoch: 3},
		slots.Range{Start: 150, End: 199, Master: "a", Epoch: 1},
	)
	got, changed := slots.Merge(a, b)
	if !got.Equal(want) || !changed {
		t.Errorf("Merge = %v, %v; want %v, true", got, changed, want)
	}
	if got.Epoch() != 5 || got.Covered() != 200 {
		t.Errorf("Epoch, Covered = %d, %d; want 5, 200", got.Epoch(), got.Covered())
	}
}

func TestMerge_unchangedReturnsA(t *testing.T) {
	a := balanced(nodeIDs(3))
	older := mustFromRanges(t, slots.Range{Start: 0, End: slots.NumSlots - 1, Master: "a", Replicas: []string{"y"}, Epoch: 1}) // "a" < "node-…" at the same epoch
	for name, b := range map[string]*slots.Table{"self": a, "nil": nil, "empty": slots.New(), "older": older} {
		if got, changed := slots.Merge(a, b); got != a || changed {
			t.Errorf("Merge(a, %s) = %p, %v; want a (%p), false", name, got, changed, a)
		}
	}
	if got, changed := slots.Merge(nil, nil); got == nil || got.Covered() != 0 || changed {
		t.Errorf("Merge(nil, nil) = %v, %v; want an empty table, false", got, changed)
	}
	if got, changed := slots.Merge(nil, a); !got.Equal(a) || !changed {
		t.Errorf("Merge(nil, a) = %v, %v; want a, true", got, changed)
	}
}

// mergeTables returns a list of random tables over few nodes and epochs,
// so that equal epochs with different owners are frequent.
func mergeTables(seed uint64, n int) []*slots.Table {
	r := newRand(seed)
	ts := make([]*slots.Table, n)
	for i := range ts {
		ts[i] = randomTable(r, nodeIDs(3), 3, 8)
	}
	ts = append(ts, slots.New(), nil)
	return ts
}

func TestTable_Merge_commutative(t *testing.T) {
	ts := mergeTables(11, 30)
	for i, a := range ts {
		for j, b := range ts {
			ab, _ := slots.Merge(a, b)
			ba, _ := slots.Merge(b, a)
			if !ab.Equal(ba) {
				t.Fatalf("Merge(t%d, t%d) = %v\nMerge(t%d, t%d) = %v\nwant equal", i, j, ab, j, i, ba)
			}
		}
	}
}

func TestTable_Merge_associative(t *testing.T) {
	ts := mergeTables(12, 12)
	for i, a := range ts {
		for j, b := range ts {
			for k, c := range ts {
				ab, _ := slots.Merge(a, b)
				left, _ := slots.Merge(ab, c)
				bc, _ := slots.Merge(b, c)
				right, _ := slots.Merge(a, bc)
				if !left.Equal(right) {
					t.Fatalf("(t%d+t%d)+t%d = %v\nt%d+(t%d+t%d) = %v\nwant equal", i, j, k, left, i, j, k, right)
				}
			}
		}
	}
}

func TestTable_Merge_idempotent(t *testing.T) {
	ts := mergeTables(13, 30)
	for i, a := range ts {
		if got, changed := slots.Merge(a, a); !got.Equal(a) || changed {
			t.Errorf("Merge(t%d, t%d) = %v, %v; want t%d, false", i, i, got, changed, i)
		}
		for j, b := range ts {
			ab, _ := slots.Merge(a, b)
			if again, changed := slots.Merge(ab, b); !again.Equal(ab) || changed {
				t.Fatalf("Merge(Merge(t%d, t%d), t%d) changed %v; want no change", i, j, j, again)
			}
		}
	}
}

// TestMerge_convergesInAnyOrder plays gossip: several nodes each receive
// the same tables in a different order and end with equal tables.
func TestMerge_convergesInAnyOrder(t *testing.T) {
	ts := mergeTables(14, 10)
	r := newRand(15)
	var first *slots.Table
	for node := range 8 {
		var cur *slots.Table
		for _, i := range r.Perm(len(ts)) {
			cur, _ = slots.Merge(cur, ts[i])
		}
		if node == 0 {
			first = cur
		} else if !cur.Equal(first) {
			t.Fatalf("node %d ended with %v; node 0 with %v", node, cur, first)
		}
	}
	for i, tab := range ts {
		if _, changed := slots.Merge(first, tab); changed {
			t.Errorf("merged table gains from t%d; want it to dominate every input", i)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	grown := grownTable(50)
	changed := slots.Apply(grown, slots.Plan(grown, nodeIDs(51)), grown.NextEpoch())
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			slots.Merge(changed, grown)
		}
	})
	b.Run("changed", func(b *testing.B) {
		for b.Loop() {
			slots.Merge(grown, changed)
		}
	})
}

// TestMerge_sameEpochDecisions is the trace in the package doc: two
// decisions at one epoch mix slot by slot, the same on every node.
func TestMerge_sameEpochDecisions(t *testing.T) {
	old := mustFromRanges(t, slots.Range{Start: 0, End: 149, Master: "c", Epoch: 6})
	x := old.AssignRange(0, 99, "b", nil, 7)
	y := old.AssignRange(50, 149, "a", nil, 7)
	want := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "b", Epoch: 7},
		slots.Range{Start: 100, End: 149, Master: "a", Epoch: 7},
	)
	xy, _ := slots.Merge(x, y)
	yx, _ := slots.Merge(y, x)
	if !xy.Equal(want) || !yx.Equal(want) {
		t.Errorf("Merge(x, y) = %v\nMerge(y, x) = %v\nwant %v", xy, yx, want)
	}
}
