package slots_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

func TestTable_zeroValue(t *testing.T) {
	for name, tab := range map[string]*slots.Table{"nil": nil, "zero": {}, "New": slots.New()} {
		t.Run(name, func(t *testing.T) {
			if m, e := tab.Owner(0); m != "" || e != 0 {
				t.Errorf("Owner(0) = %q, %d; want \"\", 0", m, e)
			}
			if got := tab.Covered(); got != 0 {
				t.Errorf("Covered() = %d; want 0", got)
			}
			if got := tab.Epoch(); got != 0 {
				t.Errorf("Epoch() = %d; want 0", got)
			}
			if got := tab.Ranges(); got != nil {
				t.Errorf("Ranges() = %v; want nil", got)
			}
			if got := tab.Masters(); got != nil {
				t.Errorf("Masters() = %v; want nil", got)
			}
			if !tab.Equal(slots.New()) {
				t.Errorf("Equal(New()) = false; want true")
			}
			if got := tab.NextEpoch(); got != 1 {
				t.Errorf("NextEpoch() = %d; want 1", got)
			}
		})
	}
}

func TestTable_Owner(t *testing.T) {
	tab := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "a", Replicas: []string{"c", "b"}, Epoch: 3},
		slots.Range{Start: 200, End: slots.NumSlots - 1, Master: "b", Epoch: 5},
	)
	tests := []struct {
		slot     int
		master   string
		epoch    uint64
		replicas []string
	}{
		{0, "a", 3, []string{"b", "c"}},
		{99, "a", 3, []string{"b", "c"}},
		{100, "", 0, nil},
		{199, "", 0, nil},
		{200, "b", 5, nil},
		{slots.NumSlots - 1, "b", 5, nil},
		{-1, "", 0, nil},
		{slots.NumSlots, "", 0, nil},
	}
	for _, tt := range tests {
		m, e := tab.Owner(tt.slot)
		if m != tt.master || e != tt.epoch {
			t.Errorf("Owner(%d) = %q, %d; want %q, %d", tt.slot, m, e, tt.master, tt.epoch)
		}
		if got := tab.Replicas(tt.slot); !slices.Equal(got, tt.replicas) {
			t.Errorf("Replicas(%d) = %q; want %q", tt.slot, got, tt.replicas)
		}
	}
	if got, want := tab.Epoch(), uint64(5); got != want {
		t.Errorf("Epoch() = %d; want %d", got, want)
	}
	if got, want := tab.Covered(), slots.NumSlots-100; got != want {
		t.Errorf("Covered() = %d; want %d", got, want)
	}
	if got, want := tab.SlotsOf("a"), 100; got != want {
		t.Errorf("SlotsOf(a) = %d; want %d", got, want)
	}
	if got := tab.SlotsOf("c"); got != 0 {
		t.Errorf("SlotsOf(c) = %d; want 0 (replicas do not count)", got)
	}
	if got, want := tab.Masters(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Masters() = %q; want %q", got, want)
	}
}

func TestTable_Replicas_isACopy(t *testing.T) {
	tab := mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"b"}, Epoch: 1})
	tab.Replicas(0)[0] = "x"
	tab.Ranges()[0].Replicas[0] = "x"
	if got := tab.Replicas(0); !slices.Equal(got, []string{"b"}) {
		t.Errorf("Replicas(0) after caller modified a copy = %q; want [b]", got)
	}
}

func TestFromRanges_valid(t *testing.T) {
	tests := []struct {
		name string
		in   []slots.Range
		want []slots.Range
	}{
		{"empty", nil, nil},
		{"whole space", []slots.Range{{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1}},
			[]slots.Range{{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1}}},
		{"unsorted input", []slots.Range{{Start: 10, End: 19, Master: "b", Epoch: 1}, {Start: 0, End: 9, Master: "a", Epoch: 1}},
			[]slots.Range{{Start: 0, End: 9, Master: "a", Epoch: 1}, {Start: 10, End: 19, Master: "b", Epoch: 1}}},
		{"adjacent equal ranges merge", []slots.Range{{Start: 0, End: 9, Master: "a", Epoch: 2}, {Start: 10, End: 19, Master: "a", Epoch: 2}},
			[]slots.Range{{Start: 0, End: 19, Master: "a", Epoch: 2}}},
		{"different epochs stay apart", []slots.Range{{Start: 0, End: 9, Master: "a", Epoch: 2}, {Start: 10, End: 19, Master: "a", Epoch: 3}},
			[]slots.Range{{Start: 0, End: 9, Master: "a", Epoch: 2}, {Start: 10, End: 19, Master: "a", Epoch: 3}}},
		{"replicas sorted and deduplicated", []slots.Range{{Start: 5, End: 5, Master: "a", Replicas: []string{"c", "b", "c"}, Epoch: 1}},
			[]slots.Range{{Start: 5, End: 5, Master: "a", Replicas: []string{"b", "c"}, Epoch: 1}}},
		{"empty replica list is nil", []slots.Range{{Start: 5, End: 5, Master: "a", Replicas: []string{}, Epoch: 1}},
			[]slots.Range{{Start: 5, End: 5, Master: "a", Epoch: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := slots.FromRanges(tt.in)
			if err != nil {
				t.Fatalf("FromRanges: %v", err)
			}
			if got := tab.Ranges(); !slices.EqualFunc(got, tt.want, rangeEqual) {
				t.Errorf("Ranges() = %v; want %v", got, tt.want)
			}
		})
	}
}

func rangeEqual(a, b slots.Range) bool {
	return a.Start == b.Start && a.End == b.End && a.Master == b.Master && a.Epoch == b.Epoch && slices.Equal(a.Replicas, b.Replicas)
}

func TestFromRanges_invalid(t *testing.T) {
	long := string(make([]byte, slots.MaxNodeIDLen+1))
	tests := []struct {
		name string
		in   []slots.Range
	}{
		{"negative start", []slots.Range{{Start: -1, End: 0, Master: "a", Epoch: 1}}},
		{"end past last slot", []slots.Range{{Start: 0, End: slots.NumSlots, Master: "a", Epoch: 1}}},
		{"start after end", []slots.Range{{Start: 5, End: 4, Master: "a", Epoch: 1}}},
		{"overlap", []slots.Range{{Start: 0, End: 10, Master: "a", Epoch: 1}, {Start: 10, End: 20, Master: "b", Epoch: 1}}},
		{"duplicate", []slots.Range{{Start: 3, End: 3, Master: "a", Epoch: 1}, {Start: 3, End: 3, Master: "a", Epoch: 1}}},
		{"no master", []slots.Range{{Start: 0, End: 0, Epoch: 1}}},
		{"epoch 0", []slots.Range{{Start: 0, End: 0, Master: "a"}}},
		{"master too long", []slots.Range{{Start: 0, End: 0, Master: long, Epoch: 1}}},
		{"empty replica", []slots.Range{{Start: 0, End: 0, Master: "a", Replicas: []string{""}, Epoch: 1}}},
		{"master is its replica", []slots.Range{{Start: 0, End: 0, Master: "a", Replicas: []string{"a"}, Epoch: 1}}},
		{"too many replicas", []slots.Range{{Start: 0, End: 0, Master: "a", Replicas: nodeIDs(slots.MaxReplicas + 1), Epoch: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := slots.FromRanges(tt.in)
			if !errors.Is(err, slots.ErrInvalidRange) {
				t.Errorf("FromRanges(%v) = %v, %v; want ErrInvalidRange", tt.in, tab, err)
			}
		})
	}
}

func TestTable_Ranges_roundTrip(t *testing.T) {
	r := newRand(1)
	for i := range 200 {
		tab := randomTable(r, nodeIDs(4), 3, 20)
		rs := tab.Ranges()
		for j := 1; j < len(rs); j++ {
			if rs[j-1].End+1 == rs[j].Start && rangeEqual(withSpan(rs[j-1], 0, 0), withSpan(rs[j], 0, 0)) {
				t.Fatalf("table %d: ranges %v and %v are not maximal", i, rs[j-1], rs[j])
			}
		}
		back := mustFromRanges(t, rs...)
		if !back.Equal(tab) {
			t.Fatalf("table %d: FromRanges(Ranges()) = %v; want %v", i, back, tab)
		}
	}
}

func withSpan(r slots.Range, start, end int) slots.Range {
	r.Start, r.End = start, end
	return r
}

func TestTable_Assign(t *testing.T) {
	base := mustFromRanges(t, slots.Range{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1})
	got := base.Assign([]int{5, 6, 7, 100}, "b", []string{"c"}, base.NextEpoch())
	want := mustFromRanges(t,
		slots.Range{Start: 0, End: 4, Master: "a", Epoch: 1},
		slots.Range{Start: 5, End: 7, Master: "b", Replicas: []string{"c"}, Epoch: 2},
		slots.Range{Start: 8, End: 99, Master: "a", Epoch: 1},
		slots.Range{Start: 100, End: 100, Master: "b", Replicas: []string{"c"}, Epoch: 2},
		slots.Range{Start: 101, End: slots.NumSlots - 1, Master: "a", Epoch: 1},
	)
	if !got.Equal(want) {
		t.Errorf("Assign = %v; want %v", got, want)
	}
	if m, _ := base.Owner(5); m != "a" {
		t.Errorf("base.Owner(5) after Assign = %q; want a (tables are immutable)", m)
	}
	back := got.AssignRange(0, slots.NumSlots-1, "a", nil, 3)
	if got, want := back.Ranges(), []slots.Range{{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 3}}; !slices.EqualFunc(got, want, rangeEqual) {
		t.Errorf("AssignRange(all) = %v; want %v", got, want)
	}
	if got := back.Masters(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Masters() after overwriting b = %q; want [a]", got)
	}
}

func TestTable_Assign_panics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"slot out of range", func() { slots.New().Assign([]int{slots.NumSlots}, "a", nil, 1) }},
		{"negative slot", func() { slots.New().Assign([]int{-1}, "a", nil, 1) }},
		{"empty master", func() { slots.New().Assign([]int{0}, "", nil, 1) }},
		{"epoch 0", func() { slots.New().Assign([]int{0}, "a", nil, 0) }},
		{"master as replica", func() { slots.New().Assign([]int{0}, "a", []string{"a"}, 1) }},
		{"range reversed", func() { slots.New().AssignRange(5, 4, "a", nil, 1) }},
		{"SetReplicas epoch 0", func() { slots.New().SetReplicas("a", nil, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic; want one")
				}
			}()
			tt.f()
		})
	}
}

func TestTable_SetReplicas(t *testing.T) {
	base := mustFromRanges(t,
		slots.Range{Start: 0, End: 9, Master: "a", Epoch: 1},
		slots.Range{Start: 10, End: 19, Master: "b", Epoch: 2},
		slots.Range{Start: 20, End: 29, Master: "a", Replicas: []string{"x"}, Epoch: 3},
	)
	got := base.SetReplicas("a", []string{"r1", "r2"}, 4)
	want := mustFromRanges(t,
		slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r1", "r2"}, Epoch: 4},
		slots.Range{Start: 10, End: 19, Master: "b", Epoch: 2},
		slots.Range{Start: 20, End: 29, Master: "a", Replicas: []string{"r1", "r2"}, Epoch: 4},
	)
	if !got.Equal(want) {
		t.Errorf("SetReplicas = %v; want %v", got, want)
	}
	if got := base.SetReplicas("nobody", nil, 4); got != base {
		t.Errorf("SetReplicas(nobody) returned a new table; want the same one")
	}
}

func TestTable_Equal(t *testing.T) {
	a := mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r"}, Epoch: 1})
	tests := []struct {
		name string
		b    *slots.Table
		want bool
	}{
		{"same", mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r"}, Epoch: 1}), true},
		{"built in pieces", mustFromRanges(t,
			slots.Range{Start: 0, End: 4, Master: "a", Replicas: []string{"r"}, Epoch: 1},
			slots.Range{Start: 5, End: 9, Master: "a", Replicas: []string{"r"}, Epoch: 1}), true},
		{"other master", mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "b", Replicas: []string{"r"}, Epoch: 1}), false},
		{"other replicas", mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "a", Epoch: 1}), false},
		{"other epoch", mustFromRanges(t, slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r"}, Epoch: 2}), false},
		{"other span", mustFromRanges(t, slots.Range{Start: 0, End: 10, Master: "a", Replicas: []string{"r"}, Epoch: 1}), false},
		{"shifted span", mustFromRanges(t, slots.Range{Start: 1, End: 10, Master: "a", Replicas: []string{"r"}, Epoch: 1}), false},
		{"split owner", mustFromRanges(t,
			slots.Range{Start: 0, End: 4, Master: "a", Replicas: []string{"r"}, Epoch: 1},
			slots.Range{Start: 5, End: 9, Master: "b", Replicas: []string{"r"}, Epoch: 1}), false},
		{"empty", slots.New(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Equal(tt.b); got != tt.want {
				t.Errorf("a.Equal(b) = %v; want %v\na = %v\nb = %v", got, tt.want, a, tt.b)
			}
			if got := tt.b.Equal(a); got != tt.want {
				t.Errorf("b.Equal(a) = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestTable_String(t *testing.T) {
	tab := mustFromRanges(t,
		slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r"}, Epoch: 1},
		slots.Range{Start: 20, End: 29, Master: "b", Epoch: 2},
	)
	if got, want := tab.String(), "0-9 a [r] @1; 20-29 b [] @2"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

// TestTable_concurrentReads is meant for -race: readers share one table
// while a writer derives new ones from it.
func TestTable_concurrentReads(t *testing.T) {
	tab := balanced(nodeIDs(5))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for s := g; s < slots.NumSlots; s += 97 {
				tab.Owner(s)
				tab.Replicas(s)
			}
			tab.Ranges()
			if _, err := tab.MarshalBinary(); err != nil {
				t.Errorf("MarshalBinary: %v", err)
			}
			slots.Merge(tab, tab.AssignRange(g, g, "x", nil, tab.NextEpoch()))
			slots.Plan(tab, nodeIDs(6))
		})
	}
	wg.Wait()
	checkBalanced(t, tab, nodeIDs(5))
}

func TestRange_Len(t *testing.T) {
	tests := []struct{ start, end, want int }{{0, 0, 1}, {0, slots.NumSlots - 1, slots.NumSlots}, {10, 19, 10}}
	for _, tt := range tests {
		if got := (slots.Range{Start: tt.start, End: tt.end}).Len(); got != tt.want {
			t.Errorf("Range{%d, %d}.Len() = %d; want %d", tt.start, tt.end, got, tt.want)
		}
		if got := (slots.Move{Start: tt.start, End: tt.end}).Len(); got != tt.want {
			t.Errorf("Move{%d, %d}.Len() = %d; want %d", tt.start, tt.end, got, tt.want)
		}
	}
}
