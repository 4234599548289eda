package membership_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/membership"
)

// partition cuts the network between groups of nodes by their DropTo.
type partition struct {
	mu    sync.Mutex
	side  map[string]int // guarded by mu: gossip address -> side
	self  map[int]string // guarded by mu: node index -> its address
	group map[int]int    // guarded by mu: node index -> side
	cut   bool           // guarded by mu
}

func newPartition() *partition {
	return &partition{side: map[string]int{}, self: map[int]string{}, group: map[int]int{}}
}

// dropFor returns node i's DropTo.
func (p *partition) dropFor(i int) func(string) bool {
	return func(addr string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.cut {
			return false
		}
		to, ok := p.side[addr]
		return ok && to != p.group[i]
	}
}

// split puts nodes[i] on side sides[i] and cuts.
func (p *partition) split(nodes []*testNode, sides []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, n := range nodes {
		p.side[n.LocalAddr()] = sides[i]
		p.group[i] = sides[i]
	}
	p.cut = true
}

func (p *partition) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// startPartitionable starts four joined nodes whose traffic p can cut.
func startPartitionable(t *testing.T, p *partition, mod ...func(*membership.Config)) []*testNode {
	var nodes []*testNode
	for i := range 4 {
		var seeds []string
		if i > 0 {
			seeds = []string{nodes[0].LocalAddr()}
		}
		mods := append([]func(*membership.Config){func(c *membership.Config) { c.DropTo = p.dropFor(i) }}, mod...)
		nodes = append(nodes, startNode(t, i, seeds, mods...))
	}
	waitAlive(t, nodes, 4)
	return nodes
}

// A partition makes each side declare the other dead; once it heals, the
// rejoin loop merges the cluster again.
func TestMembership_Partition_heals(t *testing.T) {
	t.Parallel()
	p := newPartition()
	nodes := startPartitionable(t, p)
	p.split(nodes, []int{0, 0, 1, 1})
	waitAlive(t, nodes, 2)
	if st, _ := stateOf(nodes[0], "node-3"); st != membership.StateDead {
		t.Errorf("during the cut node-0 sees node-3 %v; want dead", st)
	}
	// Outlast memberlist's gossip to the dead, so that only the rejoin
	// loop can bring the sides together.
	time.Sleep(2 * membership.TestProfile().GossipToTheDeadTime)
	before := nodes[0].Stats().Rejoins + nodes[2].Stats().Rejoins
	healed := time.Now()
	p.heal()
	waitAlive(t, nodes, 4)
	t.Logf("merged %v after the cut ended", time.Since(healed).Round(time.Millisecond))
	after := nodes[0].Stats().Rejoins + nodes[2].Stats().Rejoins
	for _, n := range nodes[1:] {
		after += n.Stats().Rejoins
	}
	if after <= before {
		t.Errorf("rejoins %d -> %d; want the rejoin loop to have joined", before, after)
	}
}

// Without the rejoin loop a healed partition stays split: this is why the
// loop exists.
func TestMembership_Partition_staysSplitWithoutRejoin(t *testing.T) {
	t.Parallel()
	p := newPartition()
	nodes := startPartitionable(t, p, func(c *membership.Config) { c.RejoinInterval = -1 })
	p.split(nodes, []int{0, 0, 1, 1})
	waitAlive(t, nodes, 2)
	time.Sleep(2 * membership.TestProfile().GossipToTheDeadTime)
	p.heal()
	time.Sleep(time.Second) // 20 probe intervals, 200 gossip intervals
	for _, n := range nodes {
		if got := len(aliveIDs(n)); got != 2 {
			t.Errorf("%s sees %v; want its side only", n.NodeID(), aliveIDs(n))
		}
	}
}
