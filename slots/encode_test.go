package slots_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
)

func marshal(t testing.TB, tab *slots.Table) []byte {
	t.Helper()
	b, err := tab.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	return b
}

func TestTable_MarshalBinary_roundTrip(t *testing.T) {
	r := newRand(41)
	tables := []*slots.Table{nil, slots.New(), balanced(nodeIDs(3)), grownTable(20)}
	for range 100 {
		tables = append(tables, randomTable(r, nodeIDs(1+r.IntN(6)), 1+r.Uint64N(1000), 40))
	}
	big := slots.New().AssignRange(0, 0, "a", nil, 1<<64-1).AssignRange(slots.NumSlots-1, slots.NumSlots-1, "b", nodeIDs(slots.MaxReplicas), 1)
	tables = append(tables, big)
	for i, tab := range tables {
		b := marshal(t, tab)
		got := new(slots.Table)
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("table %d: UnmarshalBinary: %v", i, err)
		}
		if !got.Equal(tab) {
			t.Fatalf("table %d: round trip = %v; want %v", i, got, tab)
		}
		if again := marshal(t, got); !bytes.Equal(again, b) {
			t.Fatalf("table %d: second encoding differs from the first", i)
		}
	}
}

func TestTable_MarshalBinary_appends(t *testing.T) {
	tab := balanced(nodeIDs(2))
	b, err := tab.AppendBinary([]byte("prefix"))
	if err != nil || !bytes.HasPrefix(b, []byte("prefix")) || !bytes.Equal(b[6:], marshal(t, tab)) {
		t.Errorf("AppendBinary(prefix) = %q, %v; want prefix + MarshalBinary()", b, err)
	}
}

// uv encodes varints, to write hostile inputs by hand.
func uv(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestTable_UnmarshalBinary_hostile(t *testing.T) {
	// A valid table: version 1, max epoch 2, names "a" "b", owners a and
	// b-with-replica-a, ranges 0-9 a @2 and (gap 5) 15-15 b @1.
	valid := cat(uv(1, 2), uv(2, 1), []byte("a"), uv(1), []byte("b"), uv(2, 0, 0, 1, 1, 0), uv(2, 9<<1, 0, 0, 0<<1|1, 5, 1, 1))
	if err := new(slots.Table).UnmarshalBinary(valid); err != nil {
		t.Fatalf("hand-made valid input: %v", err)
	}
	long := bytes.Repeat([]byte("x"), slots.MaxNodeIDLen+1)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, slots.ErrMalformed},
		{"version 0", uv(0), slots.ErrMalformed},
		{"version 2", uv(2), slots.ErrMalformed},
		{"truncated", valid[:len(valid)-1], slots.ErrMalformed},
		{"trailing byte", append(bytes.Clone(valid), 0), slots.ErrMalformed},
		{"overflowing varint", cat(uv(1), bytes.Repeat([]byte{0xff}, 11)), slots.ErrMalformed},
		{"name count beyond input", cat(uv(1, 1, 1<<40)), slots.ErrMalformed},
		{"empty name", cat(uv(1, 1, 1, 0)), slots.ErrMalformed},
		{"name too long", cat(uv(1, 1, 1, uint64(len(long))), long), slots.ErrMalformed},
		{"name past end", cat(uv(1, 1, 1, 5), []byte("ab")), slots.ErrMalformed},
		{"duplicate name", cat(uv(1, 1, 2, 1), []byte("a"), uv(1), []byte("a"), uv(0, 0)), slots.ErrMalformed},
		{"owner count beyond input", cat(uv(1, 1, 1, 1), []byte("a"), uv(1<<30)), slots.ErrMalformed},
		{"owners without names", cat(uv(1, 1, 0, 1, 0, 0, 0)), slots.ErrMalformed},
		{"master index out of range", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 1, 0, 0)), slots.ErrMalformed},
		{"replica index out of range", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 1, 7, 0)), slots.ErrMalformed},
		{"too many replicas", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, slots.MaxReplicas+1), bytes.Repeat(uv(0), slots.MaxReplicas+1), uv(0)), slots.ErrMalformed},
		{"range count beyond input", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1<<20)), slots.ErrMalformed},
		{"ranges without owners", cat(uv(1, 1, 0, 0, 1, 0, 0, 0)), slots.ErrMalformed},
		{"owner index out of range", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1, 0, 1, 0)), slots.ErrMalformed},
		{"range past last slot", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1, slots.NumSlots<<1, 0, 0)), slots.ErrMalformed},
		{"gap past last slot", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1, 1, slots.NumSlots, 0, 0)), slots.ErrMalformed},
		{"epoch delta above max", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1, 0, 0, 2)), slots.ErrMalformed},
		{"epoch 0", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1, 0, 0, 1)), slots.ErrInvalidRange},
		{"master as replica", cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 1, 0, 1, 0, 0, 0)), slots.ErrInvalidRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := slots.New().AssignRange(0, 0, "keep", nil, 9)
			err := tab.UnmarshalBinary(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("UnmarshalBinary(% x) = %v; want %v", tt.in, err, tt.want)
			}
			if m, _ := tab.Owner(0); m != "keep" {
				t.Errorf("table changed by a failed UnmarshalBinary: Owner(0) = %q; want keep", m)
			}
		})
	}
}

// TestTable_MarshalBinary_size logs (go test -v -run size ./slots) and
// bounds the encoded size that membership has to gossip. memberlist sends
// push/pull state over TCP, so these fit there; a UDP broadcast
// (UDPBufferSize 1400 by default) fits only the smaller tables.
func TestTable_MarshalBinary_size(t *testing.T) {
	for _, tt := range []struct {
		masters       int
		maxAtOnce     int // one plan from a single master to all of them
		maxGrown      int // one join at a time
		maxReplicated int // grown, then one replica per master
	}{
		{3, 60, 60, 100},
		{10, 200, 300, 500},
		{50, 1000, 3500, 4500},
		{100, 2000, 11000, 12000},
	} {
		ids := nodeIDs(tt.masters)
		first := slots.New().AssignRange(0, slots.NumSlots-1, ids[0], nil, 1)
		atOnce := slots.Apply(first, slots.Plan(first, ids), 2)
		grown := grownTable(tt.masters)
		replicated := grown
		for i, m := range ids {
			replicated = replicated.SetReplicas(m, []string{fmt.Sprintf("replica-%02d", i)}, grown.NextEpoch()+uint64(i))
		}
		for _, c := range []struct {
			name string
			tab  *slots.Table
			max  int
		}{{"at once", atOnce, tt.maxAtOnce}, {"grown", grown, tt.maxGrown}, {"grown+replicas", replicated, tt.maxReplicated}} {
			n := len(marshal(t, c.tab))
			t.Logf("%3d masters, %-14s %4d ranges, %6d bytes encoded", tt.masters, c.name+":", len(c.tab.Ranges()), n)
			if n > c.max {
				t.Errorf("%d masters %s: %d bytes; want at most %d", tt.masters, c.name, n, c.max)
			}
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(marshal(f, slots.New()))
	f.Add(marshal(f, balanced(nodeIDs(3))))
	f.Add(marshal(f, grownTable(6)))
	f.Add(marshal(f, randomTable(newRand(51), nodeIDs(4), 5, 10)))
	f.Add(cat(uv(1, 1, 1, 1), []byte("a"), uv(1, 0, 0, 1<<20)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tab slots.Table
		if err := tab.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, slots.ErrMalformed) && !errors.Is(err, slots.ErrInvalidRange) {
				t.Fatalf("UnmarshalBinary error %v wraps neither sentinel", err)
			}
			return
		}
		b := marshal(t, &tab)
		var back slots.Table
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatalf("decoding a re-encoded table: %v", err)
		}
		if !back.Equal(&tab) {
			t.Fatalf("re-encoded table decodes to %v; want %v", &back, &tab)
		}
		if back.Covered() > slots.NumSlots || len(back.Ranges()) > slots.NumSlots {
			t.Fatalf("decoded table covers %d slots in %d ranges", back.Covered(), len(back.Ranges()))
		}
	})
}

func BenchmarkMarshal(b *testing.B) {
	for _, n := range []int{10, 100} {
		tab := grownTable(n)
		enc := marshal(b, tab)
		b.Run(fmt.Sprintf("encode/grown%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			buf := make([]byte, 0, len(enc))
			for b.Loop() {
				buf, _ = tab.AppendBinary(buf[:0])
			}
		})
		b.Run(fmt.Sprintf("decode/grown%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				var t slots.Table
				if err := t.UnmarshalBinary(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
