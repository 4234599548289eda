package slots

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

const (
	// MaxReplicas is the most replicas one slot may list.
	MaxReplicas = 16

	// MaxNodeIDLen is the longest node id a table accepts, in bytes.
	MaxNodeIDLen = 255
)

// Range is an inclusive run of slots, Start through End, with one master,
// its replicas and the epoch at which that ownership was decided. The
// zero value is not a valid range: a range needs a master and an epoch of
// at least 1.
//
// A Range is a plain value; the [Table] methods that return ranges return
// fresh copies, Replicas included, that the caller may modify.
type Range struct {
	Start    int      `json:"start" msgpack:"start"`
	End      int      `json:"end" msgpack:"end"`
	Master   string   `json:"master" msgpack:"master"`
	Replicas []string `json:"replicas,omitempty" msgpack:"replicas,omitempty"`
	Epoch    uint64   `json:"epoch" msgpack:"epoch"`
}

// Len returns the number of slots in r.
func (r Range) Len() int { return r.End - r.Start + 1 }

// entry is what a table says about one slot. Entries are shared between
// tables and never modified once a table is built; the replicas slice is
// sorted, free of duplicates, never holds the master, and nil when empty.
// The zero entry is an uncovered slot.
type entry struct {
	master   string
	replicas []string
	epoch    uint64
	n        int // slots of the owning table that use this entry
}

// Table is the slot table: for each of the [NumSlots] slots, a master
// node id, the replica ids and the epoch of that decision. A slot without
// a master is uncovered and has epoch 0 and no replicas.
//
// A Table is immutable: methods that change it ([Table.Assign], [Merge],
// [Apply], ...) return a new table and leave the old one untouched, so a
// *Table may be shared and read from any number of goroutines without
// locking. The one exception is [Table.UnmarshalBinary], which fills its
// receiver and must only be called on a table nobody else holds yet.
//
// The zero value, and a nil *Table for every read method, is an empty
// table: every slot uncovered, epoch 0.
type Table struct {
	ents  []entry          // ents[0] is the uncovered entry; contents are unique
	idx   [NumSlots]uint16 // slot -> index into ents
	epoch uint64           // max epoch over ents
}

// New returns an empty table: every slot uncovered, epoch 0.
func New() *Table { return &Table{ents: []entry{{n: NumSlots}}} }

// orEmpty returns t, or a new empty table when t is nil or the zero value.
func orEmpty(t *Table) *Table {
	if t == nil || len(t.ents) == 0 {
		return New()
	}
	return t
}

// at returns the entry of slot s, which must be in range.
func (t *Table) at(s int) *entry {
	if t == nil || len(t.ents) == 0 {
		return &entry{}
	}
	return &t.ents[t.idx[s]]
}

// Owner returns the master of slot and the epoch at which it was assigned.
// It returns "" and 0 for an uncovered slot or a slot outside
// [0, NumSlots).
func (t *Table) Owner(slot int) (master string, epoch uint64) {
	if slot < 0 || slot >= NumSlots {
		return "", 0
	}
	e := t.at(slot)
	return e.master, e.epoch
}

// Replicas returns a copy of the replica ids of slot, sorted, or nil if it
// has none, is uncovered or is outside [0, NumSlots).
func (t *Table) Replicas(slot int) []string {
	if slot < 0 || slot >= NumSlots {
		return nil
	}
	return slices.Clone(t.at(slot).replicas)
}

// Epoch returns the highest epoch of any slot, 0 for an empty table.
func (t *Table) Epoch() uint64 {
	if t == nil {
		return 0
	}
	return t.epoch
}

// NextEpoch returns Epoch()+1, the epoch a coordinator gives its next
// decision so that the decision wins every merge.
func (t *Table) NextEpoch() uint64 { return t.Epoch() + 1 }

// Covered returns the number of slots that have a master.
func (t *Table) Covered() int {
	if t == nil || len(t.ents) == 0 {
		return 0
	}
	return NumSlots - t.ents[0].n
}

// SlotsOf returns the number of slots whose master is node. Slots that
// node only replicates do not count.
func (t *Table) SlotsOf(node string) int {
	if t == nil || node == "" {
		return 0
	}
	n := 0
	for i := range t.ents {
		if t.ents[i].master == node {
			n += t.ents[i].n
		}
	}
	return n
}

// Masters returns the ids of the nodes that are master of at least one
// slot, sorted.
func (t *Table) Masters() []string {
	if t == nil {
		return nil
	}
	var ms []string
	for _, e := range t.ents {
		if e.master != "" {
			ms = append(ms, e.master)
		}
	}
	slices.Sort(ms)
	return slices.Compact(ms)
}

// Ranges returns the maximal runs of consecutive covered slots that share
// master, replicas and epoch, in slot order. Uncovered slots appear in no
// range. FromRanges(t.Ranges()) is equal to t.
func (t *Table) Ranges() []Range {
	sps := t.spans()
	if sps == nil {
		return nil
	}
	out := make([]Range, len(sps))
	for i, sp := range sps {
		out[i] = t.ents[sp.id].rangeOf(sp.start, sp.end)
	}
	return out
}

// span is a maximal run of covered slots that share entry id.
type span struct {
	start, end int
	id         uint16
}

// spans returns the spans of t in slot order.
func (t *Table) spans() []span {
	if t == nil || len(t.ents) == 0 {
		return nil
	}
	var out []span
	for s := 0; s < NumSlots; {
		sp := span{start: s, end: s, id: t.idx[s]}
		for sp.end+1 < NumSlots && t.idx[sp.end+1] == sp.id {
			sp.end++
		}
		if sp.id != 0 {
			out = append(out, sp)
		}
		s = sp.end + 1
	}
	return out
}

// rangeOf returns e as a Range over start..end with its own replicas slice.
func (e *entry) rangeOf(start, end int) Range {
	return Range{Start: start, End: end, Master: e.master, Replicas: slices.Clone(e.replicas), Epoch: e.epoch}
}

// Equal reports whether t and u say the same about every slot. A nil
// table equals an empty one.
func (t *Table) Equal(u *Table) bool {
	t, u = orEmpty(t), orEmpty(u)
	if t.epoch != u.epoch || len(t.ents) != len(u.ents) {
		return false // entries are unique, so equal tables have as many
	}
	m := make([]int32, len(t.ents)) // t's entry -> u's entry + 1
	for s := range NumSlots {
		it, iu := t.idx[s], u.idx[s]
		switch m[it] {
		case 0:
			if compareEntries(&t.ents[it], &u.ents[iu]) != 0 {
				return false
			}
			m[it] = int32(iu) + 1
		case int32(iu) + 1:
		default:
			return false
		}
	}
	return true
}

// String returns the ranges of t, one "start-end master [replicas] @epoch"
// per range separated by "; ", for logs and test failures.
func (t *Table) String() string {
	var sb strings.Builder
	for i, r := range t.Ranges() {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "%d-%d %s %v @%d", r.Start, r.End, r.Master, r.Replicas, r.Epoch)
	}
	return sb.String()
}

// FromRanges builds a table from ranges given in any order. Slots that no
// range covers are uncovered. Each range must lie within [0, NumSlots),
// must not overlap another, and must have a master of 1 to [MaxNodeIDLen]
// bytes, an epoch of at least 1, and at most [MaxReplicas] replicas, none
// empty and none equal to the master; replicas are sorted and duplicates
// dropped. The error wraps [ErrInvalidRange] and names the range.
func FromRanges(rs []Range) (*Table, error) {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b Range) int { return a.Start - b.Start })
	b := newBuilder()
	prevEnd := -1
	for _, r := range sorted {
		e, err := newEntry(r.Master, r.Replicas, r.Epoch)
		if err == nil {
			err = checkBounds(r, prevEnd)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %d-%d: %v", ErrInvalidRange, r.Start, r.End, err)
		}
		b.fill(r.Start, r.End, b.intern(e))
		prevEnd = r.End
	}
	return b.finish(), nil
}

// checkBounds reports whether r lies in the slot space after prevEnd.
func checkBounds(r Range, prevEnd int) error {
	switch {
	case r.Start < 0 || r.End >= NumSlots:
		return fmt.Errorf("outside 0-%d", NumSlots-1)
	case r.Start > r.End:
		return fmt.Errorf("starts after it ends")
	case r.Start <= prevEnd:
		return fmt.Errorf("overlaps a range ending at %d", prevEnd)
	}
	return nil
}

// newEntry validates and normalizes an owner.
func newEntry(master string, replicas []string, epoch uint64) (entry, error) {
	if err := checkID(master); err != nil {
		return entry{}, fmt.Errorf("master: %v", err)
	}
	if epoch == 0 {
		return entry{}, fmt.Errorf("epoch 0 with master %q", master)
	}
	if len(replicas) > MaxReplicas {
		return entry{}, fmt.Errorf("%d replicas; want at most %d", len(replicas), MaxReplicas)
	}
	rs := slices.Clone(replicas)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	for _, r := range rs {
		if err := checkID(r); err != nil {
			return entry{}, fmt.Errorf("replica: %v", err)
		}
		if r == master {
			return entry{}, fmt.Errorf("master %q listed as its own replica", master)
		}
	}
	if len(rs) == 0 {
		rs = nil
	}
	return entry{master: master, replicas: slices.Clip(rs), epoch: epoch}, nil
}

// mustEntry is newEntry for callers where bad input is a programming error.
func mustEntry(master string, replicas []string, epoch uint64) entry {
	e, err := newEntry(master, replicas, epoch)
	if err != nil {
		panic("slots: " + err.Error())
	}
	return e
}

// checkID reports whether id is a usable node id.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("empty node id")
	}
	if len(id) > MaxNodeIDLen {
		return fmt.Errorf("node id of %d bytes; want at most %d", len(id), MaxNodeIDLen)
	}
	return nil
}

// Assign returns a copy of t in which every slot in slots has the given
// master, replicas and epoch. A new decision should carry t.NextEpoch():
// a lower epoch is stored as given but loses a merge against any table
// that still holds the old owner at a higher epoch.
//
// Assign panics if a slot is outside [0, NumSlots), master is empty or
// longer than [MaxNodeIDLen], epoch is 0, or replicas would be rejected by
// [FromRanges]; those are programming errors.
func (t *Table) Assign(slots []int, master string, replicas []string, epoch uint64) *Table {
	e := mustEntry(master, replicas, epoch)
	b := builderFrom(t)
	id := b.intern(e)
	for _, s := range slots {
		if s < 0 || s >= NumSlots {
			panic(fmt.Sprintf("slots: Assign slot %d outside 0-%d", s, NumSlots-1))
		}
		b.t.idx[s] = id
	}
	return b.finish()
}

// AssignRange is [Table.Assign] for the slots start through end
// inclusive. It panics if start > end or either is outside [0, NumSlots).
func (t *Table) AssignRange(start, end int, master string, replicas []string, epoch uint64) *Table {
	if err := checkBounds(Range{Start: start, End: end}, -1); err != nil {
		panic(fmt.Sprintf("slots: AssignRange %d-%d: %v", start, end, err))
	}
	e := mustEntry(master, replicas, epoch)
	b := builderFrom(t)
	b.fill(start, end, b.intern(e))
	return b.finish()
}

// SetReplicas returns a copy of t in which every slot whose master is
// master has exactly the given replicas, at epoch. It returns t itself if
// master owns no slot. It panics on the inputs [Table.Assign] panics on.
func (t *Table) SetReplicas(master string, replicas []string, epoch uint64) *Table {
	e := mustEntry(master, replicas, epoch)
	if t.SlotsOf(master) == 0 {
		return t
	}
	b := builderFrom(t)
	id := b.intern(e)
	for s := range NumSlots {
		if b.t.ents[b.t.idx[s]].master == master {
			b.t.idx[s] = id
		}
	}
	return b.finish()
}

// builder assembles a new table. Interning keeps entries unique, which
// Ranges and Equal rely on.
type builder struct {
	t    *Table
	keys map[string]uint16 // entryKey -> index in t.ents
}

// newBuilder starts from an empty table.
func newBuilder() *builder {
	return &builder{t: New(), keys: map[string]uint16{entryKey(&entry{}): 0}}
}

// builderFrom starts from a copy of t.
func builderFrom(t *Table) *builder {
	t = orEmpty(t)
	b := &builder{t: &Table{ents: slices.Clone(t.ents), idx: t.idx}, keys: make(map[string]uint16, len(t.ents))}
	for i := range t.ents {
		b.keys[entryKey(&t.ents[i])] = uint16(i)
	}
	return b
}

// intern returns the index of an entry equal to e, adding e if needed.
func (b *builder) intern(e entry) uint16 {
	k := entryKey(&e)
	if id, ok := b.keys[k]; ok {
		return id
	}
	if len(b.t.ents) > 1<<16-1 {
		panic("slots: more than 65535 distinct slot owners") // cannot happen: finish keeps at most NumSlots+1
	}
	id := uint16(len(b.t.ents))
	e.n = 0
	b.t.ents = append(b.t.ents, e)
	b.keys[k] = id
	return id
}

// fill points slots start..end at entry id.
func (b *builder) fill(start, end int, id uint16) {
	for s := start; s <= end; s++ {
		b.t.idx[s] = id
	}
}

// finish counts slots per entry, drops unused entries and returns the
// table. The builder must not be used afterwards.
func (b *builder) finish() *Table {
	t := b.t
	counts := make([]int, len(t.ents))
	for _, id := range t.idx {
		counts[id]++
	}
	remap := make([]uint16, len(t.ents))
	ents := make([]entry, 0, len(t.ents))
	t.epoch = 0
	for i, e := range t.ents {
		if i != 0 && counts[i] == 0 {
			continue
		}
		remap[i] = uint16(len(ents))
		e.n = counts[i]
		ents = append(ents, e)
		t.epoch = max(t.epoch, e.epoch)
	}
	if len(ents) != len(t.ents) {
		for s, id := range t.idx {
			t.idx[s] = remap[id]
		}
	}
	t.ents = slices.Clip(ents)
	b.t = nil
	return t
}

// entryKey identifies the contents of e (not its count).
func entryKey(e *entry) string {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16+len(e.master)), e.epoch)
	k = binary.AppendUvarint(k, uint64(len(e.master)))
	k = append(k, e.master...)
	for _, r := range e.replicas {
		k = binary.AppendUvarint(k, uint64(len(r)))
		k = append(k, r...)
	}
	return string(k)
}
