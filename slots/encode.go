package slots

import (
	"encoding"
	"encoding/binary"
	"fmt"
)

// encodingVersion is the first byte of an encoded table.
const encodingVersion = 1

var (
	_ encoding.BinaryMarshaler   = (*Table)(nil)
	_ encoding.BinaryAppender    = (*Table)(nil)
	_ encoding.BinaryUnmarshaler = (*Table)(nil)
)

// The encoding, all integers unsigned varints:
//
//	version (1)
//	maxEpoch
//	nNames, then nNames × (len, bytes)   node ids, in order of first use
//	nOwners, then nOwners × owner:       distinct (master, replicas), in order of first use
//	    master                           index into the names
//	    nReplicas, then nReplicas × index into the names
//	nRanges, then nRanges × range, in slot order:
//	    (len-1)<<1 | gapFollows
//	    [gap]                            uncovered slots before the range, if gapFollows
//	    owner                            index into the owners
//	    maxEpoch - epoch
//
// Node ids and replica lists are written once, so a range costs 3 to 5
// bytes whatever its replication: a table of a thousand ranges is about
// 4 KB. Equal tables encode to equal bytes.

// MarshalBinary encodes the ranges of t compactly, for gossip. It never
// fails. It is safe to call concurrently.
func (t *Table) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// AppendBinary appends the encoding of [Table.MarshalBinary] to b. It
// never fails. It is safe to call concurrently.
func (t *Table) AppendBinary(b []byte) ([]byte, error) {
	t = orEmpty(t)
	sps := t.spans()
	names, owners, ownerOf := t.ownerTable(sps)
	maxEpoch := t.Epoch()
	b = append(b, encodingVersion)
	b = binary.AppendUvarint(b, maxEpoch)
	b = binary.AppendUvarint(b, uint64(len(names.list)))
	for _, n := range names.list {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	b = binary.AppendUvarint(b, uint64(len(owners)))
	for _, o := range owners {
		b = binary.AppendUvarint(b, names.index[o.master])
		b = binary.AppendUvarint(b, uint64(len(o.replicas)))
		for _, rep := range o.replicas {
			b = binary.AppendUvarint(b, names.index[rep])
		}
	}
	b = binary.AppendUvarint(b, uint64(len(sps)))
	next := 0
	for _, sp := range sps {
		head := uint64(sp.end-sp.start) << 1
		if sp.start > next {
			b = binary.AppendUvarint(b, head|1)
			b = binary.AppendUvarint(b, uint64(sp.start-next))
		} else {
			b = binary.AppendUvarint(b, head)
		}
		b = binary.AppendUvarint(b, uint64(ownerOf[sp.id]))
		b = binary.AppendUvarint(b, maxEpoch-t.ents[sp.id].epoch)
		next = sp.end + 1
	}
	return b, nil
}

// ownerTable numbers the node ids and the distinct (master, replicas) of
// t in order of first use in sps, and maps each entry to its owner.
func (t *Table) ownerTable(sps []span) (names indexer, owners []*entry, ownerOf []int) {
	var keys indexer
	ownerOf = make([]int, len(t.ents))
	seen := make([]bool, len(t.ents))
	for _, sp := range sps {
		if seen[sp.id] {
			continue
		}
		seen[sp.id] = true
		e := &t.ents[sp.id]
		names.add(e.master)
		for _, rep := range e.replicas {
			names.add(rep)
		}
		k, isNew := keys.add(entryKey(&entry{master: e.master, replicas: e.replicas}))
		if isNew {
			owners = append(owners, e)
		}
		ownerOf[sp.id] = int(k)
	}
	return names, owners, ownerOf
}

// indexer numbers strings in order of first use.
type indexer struct {
	list  []string
	index map[string]uint64
}

// add returns the number of s and whether s is new.
func (x *indexer) add(s string) (uint64, bool) {
	if i, ok := x.index[s]; ok {
		return i, false
	}
	if x.index == nil {
		x.index = make(map[string]uint64)
	}
	x.index[s] = uint64(len(x.list))
	x.list = append(x.list, s)
	return x.index[s], true
}

// UnmarshalBinary replaces t with the table encoded in data by
// [Table.MarshalBinary]. It trusts nothing in data: every count and index
// is checked against its limit and against the bytes left before anything
// is allocated, and owners are validated as [FromRanges] does. The error
// wraps [ErrMalformed] or [ErrInvalidRange]; on error t is unchanged.
//
// UnmarshalBinary is the one method that modifies a Table: call it only
// on a table no other goroutine can see yet, such as new(Table).
func (t *Table) UnmarshalBinary(data []byte) error {
	d := &decoder{b: data}
	if v := d.uvarint(encodingVersion, "version"); d.err == nil && v != encodingVersion {
		return fmt.Errorf("%w: version %d; want %d", ErrMalformed, v, encodingVersion)
	}
	maxEpoch := d.uvarint(1<<64-1, "max epoch")
	names := d.names()
	owners := d.owners(names)
	nt := d.ranges(owners, maxEpoch)
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	if d.err != nil {
		return d.err
	}
	*t = *nt
	return nil
}

// decoder reads varints from b, remembering the first error.
type decoder struct {
	b   []byte
	off int
	err error
}

// fail records a malformed-input error at the current offset.
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

// uvarint reads one varint no larger than limit.
func (d *decoder) uvarint(limit uint64, what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("%s: truncated or overflowing varint", what)
		return 0
	}
	if v > limit {
		d.fail("%s %d exceeds %d", what, v, limit)
		return 0
	}
	d.off += n
	return v
}

// left returns the number of unread bytes.
func (d *decoder) left() uint64 { return uint64(len(d.b) - d.off) }

// names reads the node id table. Each id takes at least 2 bytes, which
// bounds the count by the input size.
func (d *decoder) names() []string {
	n := d.uvarint(d.left()/2, "node id count")
	if d.err != nil {
		return nil
	}
	names := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for range n {
		l := d.uvarint(MaxNodeIDLen, "node id length")
		if l == 0 || l > d.left() {
			d.fail("node id length %d with %d bytes left", l, d.left())
		}
		if d.err != nil {
			return nil
		}
		name := string(d.b[d.off : d.off+int(l)])
		if seen[name] {
			d.fail("node id %q twice", name)
			return nil
		}
		seen[name] = true
		names = append(names, name)
		d.off += int(l)
	}
	return names
}

// owners reads and validates the owner table, returning entries without
// an epoch. Each owner takes at least 2 bytes.
func (d *decoder) owners(names []string) []entry {
	n := d.uvarint(d.left()/2, "owner count")
	if d.err == nil && n > 0 && len(names) == 0 {
		d.fail("%d owners but no node ids", n)
	}
	if d.err != nil {
		return nil
	}
	owners := make([]entry, 0, n)
	for i := range n {
		master := names[d.uvarint(uint64(len(names)-1), "master index")]
		nrep := d.uvarint(min(MaxReplicas, d.left()), "replica count")
		if d.err != nil {
			return nil
		}
		replicas := make([]string, 0, nrep)
		for range nrep {
			replicas = append(replicas, names[d.uvarint(uint64(len(names)-1), "replica index")])
		}
		e, err := newEntry(master, replicas, 1)
		if d.err == nil && err != nil {
			d.err = fmt.Errorf("%w: owner %d: %v", ErrInvalidRange, i, err)
		}
		e.epoch = 0
		owners = append(owners, e)
	}
	return owners
}

// ranges reads the range list into a new table. Ranges come in slot
// order by construction, so they cannot overlap. Each takes at least 3
// bytes.
func (d *decoder) ranges(owners []entry, maxEpoch uint64) *Table {
	n := d.uvarint(min(NumSlots, d.left()/3), "range count")
	if d.err == nil && n > 0 && len(owners) == 0 {
		d.fail("%d ranges but no owners", n)
	}
	if d.err != nil {
		return nil
	}
	b := newBuilder()
	ids := make(map[[2]uint64]uint16) // owner, epoch -> entry
	next := 0                         // first slot after the previous range
	for range n {
		head := d.uvarint(2*NumSlots-1, "range length")
		start := next
		if head&1 != 0 {
			start += int(d.uvarint(uint64(NumSlots-next), "gap"))
		}
		end := start + int(head>>1)
		if d.err == nil && end >= NumSlots {
			d.fail("range %d-%d ends past slot %d", start, end, NumSlots-1)
		}
		o := d.uvarint(uint64(len(owners)-1), "owner index")
		epoch := maxEpoch - d.uvarint(maxEpoch, "epoch delta")
		if d.err == nil && epoch == 0 {
			d.err = fmt.Errorf("%w: %d-%d: epoch 0 with master %q", ErrInvalidRange, start, end, owners[o].master)
		}
		if d.err != nil {
			return nil
		}
		id, ok := ids[[2]uint64{o, epoch}]
		if !ok {
			e := owners[o]
			e.epoch = epoch
			id = b.intern(e)
			ids[[2]uint64{o, epoch}] = id
		}
		b.fill(start, end, id)
		next = end + 1
	}
	return b.finish()
}
