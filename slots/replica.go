package slots

import "slices"

// NeedsReplica returns the master that most needs another replica to
// reach replicasPerMaster, for a node joining with --role auto: among the
// masters of t with fewer replicas than that, the one with the fewest
// (ties: the smaller id). A master's replica count is the smallest number
// of replicas on any of its slots. ok is false when every master has
// enough, t has no master, or replicasPerMaster < 1.
//
// It only reads t and is safe to call concurrently.
func NeedsReplica(t *Table, replicasPerMaster int) (master string, ok bool) {
	if t == nil || replicasPerMaster < 1 {
		return "", false
	}
	count := make(map[string]int)
	for _, e := range t.ents {
		if e.master == "" {
			continue
		}
		if c, seen := count[e.master]; !seen || len(e.replicas) < c {
			count[e.master] = len(e.replicas)
		}
	}
	fewest := replicasPerMaster
	for _, m := range t.Masters() { // sorted, so ties go to the smaller id
		if count[m] < fewest {
			master, fewest, ok = m, count[m], true
		}
	}
	return master, ok
}

// ReplicaOf returns the master whose slots list node as a replica, the
// one with the most such slots if there are several (ties: the smaller
// id), for a replica to find whom to follow. ok is false if node
// replicates nothing.
//
// It only reads t and is safe to call concurrently.
func (t *Table) ReplicaOf(node string) (master string, ok bool) {
	if t == nil || node == "" {
		return "", false
	}
	slotsOf := make(map[string]int)
	for _, e := range t.ents {
		if slices.Contains(e.replicas, node) {
			slotsOf[e.master] += e.n
		}
	}
	best := 0
	for _, m := range t.Masters() {
		if slotsOf[m] > best {
			master, best, ok = m, slotsOf[m], true
		}
	}
	return master, ok
}
