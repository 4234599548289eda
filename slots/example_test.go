package slots_test

import (
	"fmt"

	"github.com/lambdakv/lambdakv/slots"
)

// A node that starts alone owns every slot; when two masters join, the
// coordinator plans the fewest moves, migrates each range, and flips
// ownership at a higher epoch. Other nodes merge the new table in.
func Example() {
	t := slots.New().AssignRange(0, slots.NumSlots-1, "node-a", nil, 1)

	moves := slots.Plan(t, []string{"node-a", "node-b", "node-c"})
	for _, m := range moves {
		fmt.Printf("move %d-%d %s -> %s\n", m.Start, m.End, m.From, m.To)
	}
	next := slots.Apply(t, moves, t.NextEpoch())
	for _, r := range next.Ranges() {
		fmt.Printf("%d-%d %s @%d\n", r.Start, r.End, r.Master, r.Epoch)
	}

	merged, changed := slots.Merge(t, next) // on a node that still had t
	master, _ := merged.Owner(int(slots.KeySlot("user:1000")))
	fmt.Println(changed, master)
	// Output:
	// move 5462-10922 node-a -> node-b
	// move 10923-16383 node-a -> node-c
	// 0-5461 node-a @1
	// 5462-10922 node-b @2
	// 10923-16383 node-c @2
	// true node-a
}
