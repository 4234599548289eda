package slots_test

import (
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

func TestNeedsReplica(t *testing.T) {
	tab := mustFromRanges(t,
		slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"a1", "a2"}, Epoch: 1},
		slots.Range{Start: 10, End: 19, Master: "b", Replicas: []string{"b1"}, Epoch: 1},
		slots.Range{Start: 20, End: 29, Master: "c", Replicas: []string{"c1"}, Epoch: 1},
		slots.Range{Start: 30, End: 39, Master: "d", Replicas: []string{"d1", "d2"}, Epoch: 1},
		slots.Range{Start: 40, End: 49, Master: "d", Replicas: []string{"d1"}, Epoch: 2},
	)
	tests := []struct {
		name   string
		tab    *slots.Table
		target int
		want   string
		ok     bool
	}{
		{"fewest, ties by smaller id", tab, 2, "b", true},
		{"a master counts its weakest slot", tab.SetReplicas("b", []string{"b1", "b2"}, 2).SetReplicas("c", []string{"c1", "c2"}, 2), 2, "d", true},
		{"all have enough", tab, 1, "", false},
		{"higher target", tab, 3, "b", true},
		{"target 0", tab, 0, "", false},
		{"no masters", slots.New(), 1, "", false},
		{"nil table", nil, 1, "", false},
		{"master without replicas first", tab.AssignRange(100, 100, "z", nil, 1), 1, "z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := slots.NeedsReplica(tt.tab, tt.target)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NeedsReplica(%d) = %q, %v; want %q, %v", tt.target, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTable_ReplicaOf(t *testing.T) {
	tab := mustFromRanges(t,
		slots.Range{Start: 0, End: 9, Master: "a", Replicas: []string{"r", "s"}, Epoch: 1},
		slots.Range{Start: 10, End: 29, Master: "b", Replicas: []string{"s"}, Epoch: 1},
		slots.Range{Start: 30, End: 39, Master: "c", Replicas: []string{"t"}, Epoch: 1},
		slots.Range{Start: 40, End: 49, Master: "d", Replicas: []string{"t"}, Epoch: 1},
	)
	tests := []struct {
		node, want string
		ok         bool
	}{
		{"r", "a", true},
		{"s", "b", true}, // 20 slots of b beat 10 of a
		{"t", "c", true}, // tie: smaller id
		{"a", "", false}, // a master
		{"x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := tab.ReplicaOf(tt.node); got != tt.want || ok != tt.ok {
			t.Errorf("ReplicaOf(%q) = %q, %v; want %q, %v", tt.node, got, ok, tt.want, tt.ok)
		}
	}
}
