package slots

import (
	"cmp"
	"slices"
	"strings"
)

// Merge returns the table that, slot by slot, holds the winner of a and
// b, and whether that differs from a. When nothing in b wins, Merge
// returns a itself (or a new empty table if a is nil) and false, without
// copying; gossip handlers can call it on every message.
//
// The winner of a slot is the owner with the higher epoch. Owners with
// equal epochs but different contents are ordered by master id, then by
// the sorted replica list, both compared as byte strings, and the larger
// wins; an uncovered slot loses to any owner. Because this is a total
// order and Merge takes the maximum per slot, Merge is commutative,
// associative and idempotent: nodes that have seen the same set of tables
// hold equal tables, whatever order the tables arrived in.
//
// Merge only reads a and b; it is safe to call concurrently.
func Merge(a, b *Table) (*Table, bool) {
	a, b = orEmpty(a), orEmpty(b)
	if !anyWins(b, a) {
		return a, false
	}
	bld := newBuilder()
	memoA, memoB := newMemo(len(a.ents)), newMemo(len(b.ents))
	lastA, lastB, lastID := -1, -1, uint16(0)
	for s := range NumSlots {
		ia, ib := int(a.idx[s]), int(b.idx[s])
		if ia != lastA || ib != lastB {
			if compareEntries(&b.ents[ib], &a.ents[ia]) > 0 {
				lastID = memoB.get(bld, b, ib)
			} else {
				lastID = memoA.get(bld, a, ia)
			}
			lastA, lastB = ia, ib
		}
		bld.t.idx[s] = lastID
	}
	return bld.finish(), true
}

// anyWins reports whether some slot of x beats the same slot of y.
func anyWins(x, y *Table) bool {
	lastX, lastY := -1, -1
	for s := range NumSlots {
		ix, iy := int(x.idx[s]), int(y.idx[s])
		if ix == lastX && iy == lastY {
			continue // runs of slots share entries; compare each pair once
		}
		if compareEntries(&x.ents[ix], &y.ents[iy]) > 0 {
			return true
		}
		lastX, lastY = ix, iy
	}
	return false
}

// memo maps an entry index of a source table to its index in a builder.
type memo []int32

func newMemo(n int) memo {
	m := make(memo, n)
	for i := range m {
		m[i] = -1
	}
	return m
}

// get returns the builder index of entry i of src, interning it once.
func (m memo) get(b *builder, src *Table, i int) uint16 {
	if m[i] < 0 {
		m[i] = int32(b.intern(src.ents[i]))
	}
	return uint16(m[i])
}

// compareEntries orders owners for the merge rule: by epoch, then master,
// then replicas.
func compareEntries(x, y *entry) int {
	if c := cmp.Compare(x.epoch, y.epoch); c != 0 {
		return c
	}
	if c := strings.Compare(x.master, y.master); c != 0 {
		return c
	}
	return slices.Compare(x.replicas, y.replicas)
}
