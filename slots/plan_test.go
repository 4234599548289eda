package slots_test

import (
	"slices"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

// minMoved is the fewest slots any balancing plan must move: every slot
// except those the live masters can keep. Each keeps min(have, quota); the
// NumSlots%n quotas of q+1 are worth one more slot to a master that has
// more than q, so they go to such masters first.
func minMoved(t *slots.Table, live []string) int {
	q, extra := slots.NumSlots/len(live), slots.NumSlots%len(live)
	kept, over := 0, 0
	for _, m := range live {
		have := t.SlotsOf(m)
		kept += min(have, q)
		if have > q {
			over++
		}
	}
	return slots.NumSlots - kept - min(extra, over)
}

// checkPlan checks the moves of Plan(before, live) and returns the table
// they lead to.
func checkPlan(t *testing.T, before *slots.Table, live []string) *slots.Table {
	t.Helper()
	moves := slots.Plan(before, live)
	moved, prevEnd := 0, -1
	for _, m := range moves {
		if m.Start <= prevEnd || m.End < m.Start {
			t.Fatalf("move %+v overlaps or is out of order after slot %d", m, prevEnd)
		}
		for s := m.Start; s <= m.End; s++ {
			if from, _ := before.Owner(s); from != m.From {
				t.Fatalf("move %+v: slot %d belongs to %q", m, s, from)
			}
		}
		if !slices.Contains(live, m.To) || m.To == m.From {
			t.Fatalf("move %+v: To is not a live master other than From", m)
		}
		moved += m.Len()
		prevEnd = m.End
	}
	if want := minMoved(before, live); moved != want {
		t.Errorf("moved %d slots; want the minimum, %d", moved, want)
	}
	after := slots.Apply(before, moves, before.NextEpoch())
	checkBalanced(t, after, live)
	if again := slots.Plan(after, live); again != nil {
		t.Errorf("Plan after Apply = %v; want nil", again)
	}
	return after
}

func TestPlan_cases(t *testing.T) {
	three := []string{"a", "b", "c"}
	tests := []struct {
		name    string
		table   *slots.Table
		masters []string
		want    []slots.Move
	}{
		{"no masters", slots.New(), nil, nil},
		{"only empty ids", slots.New(), []string{"", ""}, nil},
		{"empty table, one master", nil, []string{"a"},
			[]slots.Move{{Start: 0, End: slots.NumSlots - 1, From: "", To: "a"}}},
		{"empty table, three masters", slots.New(), three, []slots.Move{
			{Start: 0, End: 5461, From: "", To: "a"},
			{Start: 5462, End: 10922, From: "", To: "b"},
			{Start: 10923, End: 16383, From: "", To: "c"},
		}},
		{"duplicates ignored", slots.New(), []string{"b", "a", "b", ""}, []slots.Move{
			{Start: 0, End: 8191, From: "", To: "a"},
			{Start: 8192, End: 16383, From: "", To: "b"},
		}},
		{"balanced", balanced(three), three, nil},
		{"second master takes the tail", balanced([]string{"a"}), []string{"a", "b"},
			[]slots.Move{{Start: 8192, End: 16383, From: "a", To: "b"}}},
		{"departed master's slots go to its neighbours", balanced(three), []string{"a", "c"}, []slots.Move{
			{Start: 5462, End: 8191, From: "b", To: "a"},
			{Start: 8192, End: 10922, From: "b", To: "c"},
		}},
		{"uncovered hole goes to the neighbour that needs it",
			mustFromRanges(t,
				slots.Range{Start: 0, End: 8191, Master: "a", Epoch: 1},
				slots.Range{Start: 8200, End: slots.NumSlots - 1, Master: "b", Epoch: 1},
			), []string{"a", "b"}, []slots.Move{
				{Start: 8192, End: 8199, From: "", To: "b"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slots.Plan(tt.table, tt.masters)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Plan = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestPlan_random(t *testing.T) {
	r := newRand(21)
	for i := range 60 {
		nodes := nodeIDs(2 + r.IntN(8))
		tab := randomTable(r, nodes, 4, 30)
		live := slices.DeleteFunc(slices.Clone(nodes), func(string) bool { return r.IntN(4) == 0 })
		live = append(live, "new-1") // a master with no slots yet
		if !t.Run("", func(t *testing.T) { checkPlan(t, tab, live) }) {
			t.Fatalf("table %d, live %q:\n%v", i, live, tab)
		}
	}
}

func TestPlan_addMaster(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 10, 49, 99} {
		ids := nodeIDs(n + 1)
		before := balanced(ids[:n])
		moves := slots.Plan(before, ids)
		newbie := ids[n]
		moved := 0
		for _, m := range moves {
			if m.To != newbie {
				t.Errorf("n=%d: move %+v goes to an old master; want all to %s", n, m, newbie)
			}
			moved += m.Len()
		}
		if lo, hi := slots.NumSlots/(n+1), (slots.NumSlots+n)/(n+1); moved < lo || moved > hi {
			t.Errorf("n=%d: moved %d slots; want %d to %d", n, moved, lo, hi)
		}
		if len(moves) > n {
			t.Errorf("n=%d: %d moves; want at most one per old master", n, len(moves))
		}
		checkPlan(t, before, ids)
	}
}

func TestPlan_removeMaster(t *testing.T) {
	for _, n := range []int{2, 3, 10, 50} {
		ids := nodeIDs(n)
		before := grownTable(n)
		gone := ids[n/2]
		live := slices.Delete(slices.Clone(ids), n/2, n/2+1)
		moved := 0
		for _, m := range slots.Plan(before, live) {
			if m.From != gone {
				t.Errorf("n=%d: move %+v takes from a live master; want only from %s", n, m, gone)
			}
			moved += m.Len()
		}
		if want := before.SlotsOf(gone); moved != want {
			t.Errorf("n=%d: moved %d slots; want exactly %s's %d", n, moved, gone, want)
		}
		after := checkPlan(t, before, live)
		if got := after.SlotsOf(gone); got != 0 {
			t.Errorf("n=%d: %s still owns %d slots", n, gone, got)
		}
	}
}

func TestPlan_deterministic(t *testing.T) {
	tab := randomTable(newRand(31), nodeIDs(6), 3, 40)
	live := []string{"node-05", "node-01", "node-03", "x"}
	want := slots.Plan(tab, live)
	for range 5 {
		slices.Reverse(live)
		if got := slots.Plan(tab, live); !slices.Equal(got, want) {
			t.Fatalf("Plan with masters %q = %+v; want %+v", live, got, want)
		}
	}
}

// TestPlan_compact bounds fragmentation: a cluster grown one master at a
// time keeps its ranges near the n²/4 that minimal moves force (each join
// takes a piece from every master, at best two neighbours' pieces at once).
func TestPlan_compact(t *testing.T) {
	for _, tt := range []struct{ n, maxRanges int }{{3, 4}, {10, 40}, {50, 900}, {100, 3200}} {
		tab := grownTable(tt.n)
		if got := len(tab.Ranges()); got > tt.maxRanges {
			t.Errorf("grown to %d masters: %d ranges; want at most %d", tt.n, got, tt.maxRanges)
		}
		if got := len(balanced(nodeIDs(tt.n)).Ranges()); got != tt.n {
			t.Errorf("%d masters planned at once: %d ranges; want %d", tt.n, got, tt.n)
		}
	}
}

func TestApply(t *testing.T) {
	base := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "a", Replicas: []string{"ra"}, Epoch: 1},
		slots.Range{Start: 100, End: 199, Master: "b", Replicas: []string{"rb"}, Epoch: 2},
	)
	moves := []slots.Move{
		{Start: 50, End: 99, From: "a", To: "b"},
		{Start: 200, End: 209, From: "", To: "c"},
	}
	got := slots.Apply(base, moves, 3)
	want := mustFromRanges(t,
		slots.Range{Start: 0, End: 49, Master: "a", Replicas: []string{"ra"}, Epoch: 1},
		slots.Range{Start: 50, End: 99, Master: "b", Replicas: []string{"rb"}, Epoch: 3},
		slots.Range{Start: 100, End: 199, Master: "b", Replicas: []string{"rb"}, Epoch: 2},
		slots.Range{Start: 200, End: 209, Master: "c", Epoch: 3},
	)
	if !got.Equal(want) {
		t.Errorf("Apply = %v; want %v", got, want)
	}
	if got := slots.Apply(base, nil, 3); !got.Equal(base) {
		t.Errorf("Apply(no moves) = %v; want %v", got, base)
	}
	for _, bad := range []slots.Move{{Start: 0, End: slots.NumSlots, To: "a"}, {Start: 3, End: 2, To: "a"}, {Start: 0, End: 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Apply(%+v) did not panic; want a panic", bad)
				}
			}()
			slots.Apply(base, []slots.Move{bad}, 3)
		}()
	}
}

func BenchmarkPlan(b *testing.B) {
	grown := grownTable(50)
	b.Run("join/50", func(b *testing.B) {
		live := nodeIDs(51)
		for b.Loop() {
			slots.Plan(grown, live)
		}
	})
	b.Run("leave/50", func(b *testing.B) {
		live := nodeIDs(50)[1:]
		for b.Loop() {
			slots.Plan(grown, live)
		}
	})
	b.Run("balanced/50", func(b *testing.B) {
		live := nodeIDs(50)
		for b.Loop() {
			slots.Plan(grown, live)
		}
	})
}
