package slots_test

import (
	"slices"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

func TestPromoteReplica(t *testing.T) {
	base := mustFromRanges(t,
		slots.Range{Start: 0, End: 99, Master: "dead", Replicas: []string{"r1", "r2", "r3"}, Epoch: 1},
		slots.Range{Start: 100, End: 199, Master: "live", Replicas: []string{"r9"}, Epoch: 2},
		slots.Range{Start: 200, End: 299, Master: "dead", Replicas: []string{"r1", "r2", "r3"}, Epoch: 3},
		slots.Range{Start: 300, End: 399, Master: "dead", Replicas: []string{"r4"}, Epoch: 1},
		slots.Range{Start: 400, End: 499, Master: "dead", Epoch: 1},
	)
	tests := []struct {
		name    string
		offsets map[string]uint64
		want    []slots.Range
		moves   []slots.Move
	}{
		{"highest offset wins", map[string]uint64{"r1": 10, "r2": 30, "r3": 20, "r4": 1}, []slots.Range{
			{Start: 0, End: 99, Master: "r2", Replicas: []string{"r1", "r3"}, Epoch: 4},
			{Start: 200, End: 299, Master: "r2", Replicas: []string{"r1", "r3"}, Epoch: 4},
			{Start: 300, End: 399, Master: "r4", Epoch: 4},
		}, []slots.Move{
			{Start: 0, End: 99, From: "dead", To: "r2"},
			{Start: 200, End: 299, From: "dead", To: "r2"},
			{Start: 300, End: 399, From: "dead", To: "r4"},
		}},
		{"tie goes to the smaller id", map[string]uint64{"r3": 7, "r2": 7}, []slots.Range{
			{Start: 0, End: 99, Master: "r2", Replicas: []string{"r1", "r3"}, Epoch: 4},
			{Start: 200, End: 299, Master: "r2", Replicas: []string{"r1", "r3"}, Epoch: 4},
		}, []slots.Move{
			{Start: 0, End: 99, From: "dead", To: "r2"},
			{Start: 200, End: 299, From: "dead", To: "r2"},
		}},
		{"a replica at offset 0 is still live", map[string]uint64{"r3": 0}, []slots.Range{
			{Start: 0, End: 99, Master: "r3", Replicas: []string{"r1", "r2"}, Epoch: 4},
			{Start: 200, End: 299, Master: "r3", Replicas: []string{"r1", "r2"}, Epoch: 4},
		}, []slots.Move{
			{Start: 0, End: 99, From: "dead", To: "r3"},
			{Start: 200, End: 299, From: "dead", To: "r3"},
		}},
		{"no live replica", map[string]uint64{"r9": 5}, nil, nil},
		{"nil offsets", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moves := slots.PromoteReplica(base, "dead", tt.offsets, base.NextEpoch())
			if !slices.Equal(moves, tt.moves) {
				t.Errorf("moves = %+v; want %+v", moves, tt.moves)
			}
			want := base
			for _, r := range tt.want {
				want = want.AssignRange(r.Start, r.End, r.Master, r.Replicas, r.Epoch)
			}
			if !got.Equal(want) {
				t.Errorf("table = %v; want %v", got, want)
			}
			if tt.moves == nil && got != base {
				t.Errorf("nothing promoted but a new table returned; want base itself")
			}
			if m, _ := got.Owner(450); m != "dead" {
				t.Errorf("Owner(450), a slot with no replica = %q; want dead", m)
			}
		})
	}
}

func TestPromoteReplica_edges(t *testing.T) {
	tab := balanced([]string{"a", "b"})
	if got, moves := slots.PromoteReplica(tab, "", map[string]uint64{"x": 1}, 2); got != tab || moves != nil {
		t.Errorf("PromoteReplica(\"\") = %v, %v; want the same table, no moves", got, moves)
	}
	if got, moves := slots.PromoteReplica(nil, "a", nil, 1); got.Covered() != 0 || moves != nil {
		t.Errorf("PromoteReplica(nil) = %v, %v; want an empty table, no moves", got, moves)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("PromoteReplica with epoch 0 did not panic")
		}
	}()
	slots.PromoteReplica(tab, "a", nil, 0)
}

// TestPromoteReplica_winsMerge checks that a failover spreads: a node
// still holding the old table adopts it on merge.
func TestPromoteReplica_winsMerge(t *testing.T) {
	old := balanced([]string{"a", "b"}).SetReplicas("a", []string{"ra"}, 2)
	promoted, _ := slots.PromoteReplica(old, "a", map[string]uint64{"ra": 1}, old.NextEpoch())
	got, changed := slots.Merge(old, promoted)
	if !changed || !got.Equal(promoted) {
		t.Errorf("Merge(old, promoted) = %v, %v; want promoted, true", got, changed)
	}
	if n := got.SlotsOf("ra"); n != slots.NumSlots/2 {
		t.Errorf("SlotsOf(ra) = %d; want %d", n, slots.NumSlots/2)
	}
}
