package slots

import (
	"cmp"
	"fmt"
	"slices"
)

// Move is one step of a rebalancing plan ([Plan]) or a failover
// ([PromoteReplica]): the slots Start through End (inclusive) go from
// master From to master To. From is "" for slots that
// had no master. The zero value is not a valid move.
type Move struct {
	Start int    `json:"start" msgpack:"start"`
	End   int    `json:"end" msgpack:"end"`
	From  string `json:"from" msgpack:"from"`
	To    string `json:"to" msgpack:"to"`
}

// Len returns the number of slots m moves.
func (m Move) Len() int { return m.End - m.Start + 1 }

// Plan returns the moves that balance the slots of t over masters, the
// live masters, with as few slots moved as possible. The moves are sorted
// by Start and never overlap; nil means t is already balanced.
//
// Each master gets a quota of floor or ceil(NumSlots/len(masters)) slots;
// the ceil quotas go to the masters that own the most slots already (ties:
// smaller id first), which is what minimizes the number of moved slots.
// Then every slot that must change hands moves, and no other does:
//
//   - uncovered slots and the slots of masters not in masters (one that
//     left gracefully, say);
//   - from a master above its quota, just its excess.
//
// Which slots move is chosen to keep the table compact. An over-quota
// master gives away its shortest runs of slots first, then cuts the
// remainder from an end of a longer run, preferring an end next to a slot
// already given away. Each run of given slots goes first to the master
// owning the slot just before it, then just after it, while they are
// below quota, so it extends their range; what is left is dealt out in
// slot order to the masters below quota, the most under-quota first (ties:
// smaller id first). The total moved is the theoretical minimum: the
// uncovered slots, plus those of departed masters, plus the sum over live
// masters of max(0, owned-quota).
//
// Empty and duplicate ids in masters are ignored, and their order does
// not matter. Plan is deterministic, only reads t and is safe to call
// concurrently; applying its moves with [Apply] and planning again yields
// nil.
func Plan(t *Table, masters []string) []Move {
	t = orEmpty(t)
	live := liveMasters(masters)
	if len(live) == 0 {
		return nil
	}
	owner := slotOwners(t)
	have := make(map[string]int, len(live))
	for _, m := range owner {
		have[m]++
	}
	quota := quotas(live, have)
	give := make([]bool, NumSlots)
	for s, m := range owner {
		_, ok := quota[m]
		give[s] = !ok // uncovered ("" is never live) or not live
	}
	runs, order := runsByMaster(owner)
	for _, m := range order { // slot order lets neighbours' gifts meet
		if q, ok := quota[m]; ok && have[m] > q {
			markExcess(runs[m], have[m]-q, give)
		}
	}
	need := make(map[string]int)
	for _, m := range live {
		need[m] = quota[m] - have[m]
	}
	to := make([]string, NumSlots)
	dealToNeighbours(owner, give, need, to)
	dealOut(give, receivers(live, need), need, to)
	return movesOf(owner, to)
}

// liveMasters sorts ids and drops empty and duplicate ones.
func liveMasters(ids []string) []string {
	live := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == "" })
	slices.Sort(live)
	return slices.Compact(live)
}

// slotOwners returns the master of every slot.
func slotOwners(t *Table) []string {
	owner := make([]string, NumSlots)
	for s := range owner {
		owner[s] = t.ents[t.idx[s]].master
	}
	return owner
}

// quotas gives each live master floor(NumSlots/n) slots and one more to
// the NumSlots%n masters that own the most (ties: smaller id).
func quotas(live []string, have map[string]int) map[string]int {
	byHave := slices.Clone(live)
	slices.SortStableFunc(byHave, func(a, b string) int { return cmp.Compare(have[b], have[a]) })
	q, extra := NumSlots/len(live), NumSlots%len(live)
	quota := make(map[string]int, len(live))
	for i, m := range byHave {
		quota[m] = q
		if i < extra {
			quota[m]++
		}
	}
	return quota
}

// receivers lists the masters that still need slots, most first (ties:
// smaller id).
func receivers(live []string, need map[string]int) []string {
	var rs []string
	for _, m := range live {
		if need[m] > 0 {
			rs = append(rs, m)
		}
	}
	slices.SortStableFunc(rs, func(a, b string) int { return cmp.Compare(need[b], need[a]) })
	return rs
}

// run is a maximal span of consecutive slots with one master.
type run struct{ start, end int }

// runsByMaster returns the runs of every master, in slot order, and the
// masters in order of their lowest slot.
func runsByMaster(owner []string) (map[string][]run, []string) {
	runs := make(map[string][]run)
	var order []string
	for s := 0; s < NumSlots; s++ {
		m, r := owner[s], run{start: s, end: s}
		for r.end+1 < NumSlots && owner[r.end+1] == m {
			r.end++
		}
		if _, ok := runs[m]; !ok {
			order = append(order, m)
		}
		runs[m] = append(runs[m], r)
		s = r.end
	}
	return runs, order
}

// markExcess marks n slots of one master, whose runs are given, to give
// away. It gives whole runs, shortest first (ties: later run first), while
// they fit; the remainder is cut from an end of a longer run that touches
// a slot already given away, so that both pieces travel as one range, or
// else from the tail of the shortest longer run.
func markExcess(runs []run, n int, give []bool) {
	rs := slices.Clone(runs)
	slices.SortStableFunc(rs, func(a, b run) int {
		if c := cmp.Compare(a.end-a.start, b.end-b.start); c != 0 {
			return c
		}
		return cmp.Compare(b.start, a.start)
	})
	i := 0
	for ; i < len(rs) && rs[i].end-rs[i].start+1 <= n; i++ {
		mark(give, rs[i].start, rs[i].end)
		n -= rs[i].end - rs[i].start + 1
	}
	if n == 0 {
		return
	}
	for _, r := range rs[i:] { // each is longer than n
		switch {
		case touches(give, r.start-1):
			mark(give, r.start, r.start+n-1)
			return
		case touches(give, r.end+1):
			mark(give, r.end+1-n, r.end)
			return
		}
	}
	mark(give, rs[i].end+1-n, rs[i].end)
}

// mark sets give[start..end].
func mark(give []bool, start, end int) {
	for s := start; s <= end; s++ {
		give[s] = true
	}
}

// touches reports whether slot s exists and is given away.
func touches(give []bool, s int) bool { return s >= 0 && s < NumSlots && give[s] }

// dealToNeighbours gives each run of given slots, in slot order, to the
// master that owns the slot just before it, then to the one just after
// it, as far as they need slots, so those slots extend an existing range
// instead of starting a new one.
func dealToNeighbours(owner []string, give []bool, need map[string]int, to []string) {
	for s := 0; s < NumSlots; s++ {
		if !give[s] {
			continue
		}
		end := s
		for end+1 < NumSlots && give[end+1] {
			end++
		}
		if s > 0 {
			s = claim(s, end, 1, owner[s-1], need, give, to)
		}
		if end+1 < NumSlots && s <= end {
			claim(end, s, -1, owner[end+1], need, give, to)
		}
		s = end
	}
}

// claim gives slots from, from+dir, ... up to and including last to m
// while m needs them, and returns the first slot it did not give.
func claim(from, last, dir int, m string, need map[string]int, give []bool, to []string) int {
	s := from
	for ; need[m] > 0 && (last-s)*dir >= 0; s += dir {
		to[s], give[s] = m, false
		need[m]--
	}
	return s
}

// dealOut gives the slots still marked in give, in slot order, to recv in
// turn, each up to what it needs.
func dealOut(give []bool, recv []string, need map[string]int, to []string) {
	i := 0
	for s, g := range give {
		if !g {
			continue
		}
		for i < len(recv) && need[recv[i]] == 0 {
			i++
		}
		if i == len(recv) {
			panic(fmt.Sprintf("slots: Plan: slot %d left with no receiver", s)) // quotas sum to NumSlots
		}
		to[s] = recv[i]
		need[recv[i]]--
	}
}

// movesOf turns per-slot destinations into maximal moves.
func movesOf(owner, to []string) []Move {
	var moves []Move
	for s := 0; s < NumSlots; s++ {
		if to[s] == "" {
			continue
		}
		m := Move{Start: s, End: s, From: owner[s], To: to[s]}
		for m.End+1 < NumSlots && to[m.End+1] == m.To && owner[m.End+1] == m.From {
			m.End++
		}
		moves = append(moves, m)
		s = m.End
	}
	return moves
}

// Apply returns a copy of t in which every move has happened: the slots
// of each move belong to To, at epoch, with the replicas To already has
// on its lowest-numbered slot in t (none if To owns no slot yet; set them
// with [Table.SetReplicas]). Apply does not check From against t; apply a
// plan to the table it was made from, or plan again. Pass t.NextEpoch()
// so the change wins every merge.
//
// Apply only reads t and is safe to call concurrently. It panics if a
// move is outside [0, NumSlots), has Start > End or an empty To, or if
// epoch is 0: those are programming errors.
func Apply(t *Table, moves []Move, epoch uint64) *Table {
	t = orEmpty(t)
	b := builderFrom(t)
	reps := make(map[string][]string)
	for _, m := range moves {
		if err := checkBounds(Range{Start: m.Start, End: m.End}, -1); err != nil {
			panic(fmt.Sprintf("slots: Apply move %d-%d: %v", m.Start, m.End, err))
		}
		rs, ok := reps[m.To]
		if !ok {
			rs = t.replicasOf(m.To)
			reps[m.To] = rs
		}
		e := mustEntry(m.To, rs, epoch)
		b.fill(m.Start, m.End, b.intern(e))
	}
	return b.finish()
}

// replicasOf returns the replicas of the lowest-numbered slot of master.
func (t *Table) replicasOf(master string) []string {
	for s := range NumSlots {
		if e := t.at(s); e.master == master {
			return e.replicas
		}
	}
	return nil
}
