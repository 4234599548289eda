package client

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Placement chooses the node that runs an execution. Implementations must
// be safe for concurrent use. The built-in ones are WorkStealing,
// MostObjects, MostBytes and LargestObject; PlacementByName returns them by
// the names the CLI uses.
type Placement interface {
	// Place returns the index in c.Nodes of the node to use. Nodes is
	// never empty; it holds the nodes that have free executor capacity,
	// or every executing node when none has.
	Place(c *PlacementContext) int
}

// PlacementFunc adapts a function to Placement.
type PlacementFunc func(*PlacementContext) int

// Place calls f.
func (f PlacementFunc) Place(c *PlacementContext) int { return f(c) }

// PlacementContext is what a Placement decides from.
type PlacementContext struct {
	Nodes []NodeLoad
	Deps  []DepInfo
}

// NodeLoad describes a candidate node.
type NodeLoad struct {
	ID       string
	Addr     string
	InFlight int // executions this client has running there
	Capacity int // executors + pipeline the node reported; 0 if unknown
}

// DepInfo describes a dependency of the execution.
type DepInfo struct {
	Key     string
	Size    int64    // bytes, or -1 if the client has not seen the key's size
	Holders []string // ids of the nodes that hold it: its owner, and nodes that recently fetched it
}

// holds reports whether node id holds d.
func (d *DepInfo) holds(id string) bool { return slices.Contains(d.Holders, id) }

// WorkStealing runs each execution on the first node, in the order of the
// topology, that has free capacity, ignoring where data lives.
var WorkStealing Placement = PlacementFunc(func(c *PlacementContext) int {
	best := 0
	for i, n := range c.Nodes {
		if n.InFlight < c.Nodes[best].InFlight {
			best = i
		}
	}
	return best
})

// MostObjects picks the node that holds the most dependencies by count.
var MostObjects Placement = PlacementFunc(func(c *PlacementContext) int {
	return argmax(c, func(n NodeLoad) float64 {
		var k float64
		for i := range c.Deps {
			if c.Deps[i].holds(n.ID) {
				k++
			}
		}
		return k
	})
})

// MostBytes picks the node that holds the most dependency bytes. A
// dependency of unknown size counts as one byte.
var MostBytes Placement = PlacementFunc(func(c *PlacementContext) int {
	return argmax(c, func(n NodeLoad) float64 {
		var b float64
		for i := range c.Deps {
			if c.Deps[i].holds(n.ID) {
				b += float64(max(c.Deps[i].Size, 1))
			}
		}
		return b
	})
})

// LargestObject picks the node that holds the largest dependency.
var LargestObject Placement = PlacementFunc(func(c *PlacementContext) int {
	largest := -1
	for i := range c.Deps {
		if largest < 0 || c.Deps[i].Size > c.Deps[largest].Size {
			largest = i
		}
	}
	return argmax(c, func(n NodeLoad) float64 {
		if largest >= 0 && c.Deps[largest].holds(n.ID) {
			return 1
		}
		return 0
	})
})

// argmax returns the node with the highest score; ties go to the least
// loaded node, then to the first.
func argmax(c *PlacementContext, score func(NodeLoad) float64) int {
	best, bestScore := 0, score(c.Nodes[0])
	for i := 1; i < len(c.Nodes); i++ {
		s := score(c.Nodes[i])
		if s > bestScore || (s == bestScore && c.Nodes[i].InFlight < c.Nodes[best].InFlight) {
			best, bestScore = i, s
		}
	}
	return best
}

// PlacementByName returns the built-in placement called name:
// "work-stealing", "most-objects", "most-bytes" or "largest-object".
func PlacementByName(name string) (Placement, error) {
	switch name {
	case "work-stealing":
		return WorkStealing, nil
	case "most-objects":
		return MostObjects, nil
	case "most-bytes":
		return MostBytes, nil
	case "largest-object":
		return LargestObject, nil
	}
	return nil, fmt.Errorf("unknown placement %q: want work-stealing, most-objects, most-bytes or largest-object", name)
}

// knowledge is what the client has learned about objects and nodes: sizes
// of keys it has seen, which nodes recently fetched which keys, and how
// many executions it has running on each node.
type knowledge struct {
	mu       sync.Mutex
	sizes    map[string]int64                // guarded by mu
	fetched  map[string]map[string]time.Time // key → node id → when; guarded by mu
	inflight map[string]int                  // node address → executions; guarded by mu
	// replicas counts the replicas of a dep's slot as holding it: the
	// client lets replicas answer (Config.ReadFromReplicas). Set once.
	replicas bool
}

// knowledgeLimit bounds the keys remembered; past it, an arbitrary half is
// forgotten.
const knowledgeLimit = 1 << 16

// fetchedTTL is how long a node that fetched a dependency counts as
// holding it (in its cache).
const fetchedTTL = 5 * time.Minute

func newKnowledge() *knowledge {
	return &knowledge{sizes: make(map[string]int64), fetched: make(map[string]map[string]time.Time), inflight: make(map[string]int)}
}

func (k *knowledge) setSize(key string, size int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.sizes) >= knowledgeLimit {
		forgetHalf(k.sizes)
	}
	k.sizes[key] = size
}

func (k *knowledge) ranAt(node string, deps []Dep) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.fetched) >= knowledgeLimit {
		forgetHalf(k.fetched)
	}
	now := time.Now()
	for _, d := range deps {
		m := k.fetched[d.Key]
		if m == nil {
			m = make(map[string]time.Time)
			k.fetched[d.Key] = m
		}
		m[node] = now
	}
}

func (k *knowledge) addInflight(addr string, n int) {
	k.mu.Lock()
	k.inflight[addr] += n
	k.mu.Unlock()
}

func forgetHalf[V any](m map[string]V) {
	n := len(m) / 2
	for key := range m {
		if n == 0 {
			return
		}
		delete(m, key)
		n--
	}
}

// context builds the placement context for deps from the route table.
func (k *knowledge) context(rt *routeTable, keyOwner func(string) string, deps []Dep) *PlacementContext {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := &PlacementContext{}
	now := time.Now()
	for _, d := range deps {
		info := DepInfo{Key: d.Key, Size: -1}
		if s, ok := k.sizes[d.Key]; ok {
			info.Size = s
		}
		if o := keyOwner(d.Key); o != "" {
			info.Holders = append(info.Holders, o)
		}
		if k.replicas {
			for _, id := range rt.replicaIDs(d.Key) {
				if !slices.Contains(info.Holders, id) {
					info.Holders = append(info.Holders, id)
				}
			}
		}
		for node, t := range k.fetched[d.Key] {
			if now.Sub(t) < fetchedTTL && !slices.Contains(info.Holders, node) {
				info.Holders = append(info.Holders, node)
			}
		}
		c.Deps = append(c.Deps, info)
	}
	var all []NodeLoad
	for _, n := range rt.top.Nodes {
		if n.Executors <= 0 || (n.State != "" && n.State != "alive") {
			continue // stores only, or not reachable
		}
		all = append(all, NodeLoad{ID: n.ID, Addr: n.Addr, InFlight: k.inflight[n.Addr], Capacity: n.Executors + n.Pipeline})
	}
	for _, n := range all {
		if n.Capacity == 0 || n.InFlight < n.Capacity {
			c.Nodes = append(c.Nodes, n)
		}
	}
	if len(c.Nodes) == 0 {
		c.Nodes = all
	}
	return c
}
