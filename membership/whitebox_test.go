package membership

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestMeta_encode_roundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		meta  Meta
		flags byte
	}{
		{"empty", Meta{}, 0},
		{"full", Meta{ClientAddr: "10.0.0.1:7370", HTTPAddr: "10.0.0.1:7372", Role: "master", Version: "v0.1.0",
			Tags: map[string]string{"zone": "a", "": "empty key", "k": ""}}, 0},
		{"leaving", Meta{Role: "replica"}, flagLeaving},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeMeta(tc.meta, tc.flags)
			if err != nil {
				t.Fatalf("encodeMeta: %v", err)
			}
			got, flags, err := decodeMeta(b)
			if err != nil {
				t.Fatalf("decodeMeta: %v", err)
			}
			if !reflect.DeepEqual(got, tc.meta) || flags != tc.flags {
				t.Errorf("round trip = %+v, %d; want %+v, %d", got, flags, tc.meta, tc.flags)
			}
			again, _ := encodeMeta(got, flags)
			if !bytes.Equal(again, b) {
				t.Errorf("encoding is not deterministic: %x then %x", b, again)
			}
		})
	}
}

func TestMeta_encode_limit(t *testing.T) {
	m := Meta{ClientAddr: strings.Repeat("a", MetaMaxSize-4)} // format, tag, 2-byte length
	b, err := encodeMeta(m, flagLeaving)
	if err != nil || len(b) != memberlist.MetaMaxSize {
		t.Fatalf("encodeMeta(509 bytes + flags) = %d bytes, %v; want memberlist's 512, nil", len(b), err)
	}
	m.ClientAddr += "a"
	if _, err := encodeMeta(m, 0); !errors.Is(err, ErrMetaTooLarge) {
		t.Errorf("encodeMeta(510 bytes) = %v; want ErrMetaTooLarge", err)
	}
}

func TestMeta_decode_bad(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"format 0", []byte{0}},
		{"truncated length", []byte{metaFormat, metaRole}},
		{"length past end", []byte{metaFormat, metaRole, 5, 'a'}},
		{"huge length", []byte{metaFormat, metaRole, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"tag key past end", []byte{metaFormat, metaTag, 2, 9, 'k'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, _, err := decodeMeta(tc.in); err == nil {
				t.Errorf("decodeMeta(%x) = %+v, nil; want an error", tc.in, m)
			}
		})
	}
	// Unknown records are skipped: a newer node's meta still decodes.
	b, _ := encodeMeta(Meta{Role: "master"}, 0)
	b = append(b, 0x7f, 3, 'x', 'y', 'z')
	if m, _, err := decodeMeta(b); err != nil || m.Role != "master" {
		t.Errorf("decodeMeta(unknown record) = %+v, %v; want Role master", m, err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	b, _ := encodeMeta(Meta{ClientAddr: "a:1", Tags: map[string]string{"k": "v"}}, flagLeaving)
	f.Add(b)
	f.Add([]byte{metaFormat, metaTag, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, flags, err := decodeMeta(in)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		out, err := encodeMeta(m, flags)
		if err != nil {
			return // decoding accepts more than the limit (memberlist caps it)
		}
		m2, flags2, err := decodeMeta(out)
		if err != nil || !reflect.DeepEqual(m, m2) || flags != flags2 {
			t.Fatalf("re-decode = %+v, %d, %v; want %+v, %d", m2, flags2, err, m, flags)
		}
	})
}

func TestEnvelope_roundTrip(t *testing.T) {
	for _, e := range []envelope{
		{typ: msgUser, node: "node-1", payload: []byte("hello")},
		{typ: msgUser, node: "n"},
		{typ: msgState, seq: 1 << 62, node: "node-2", payload: []byte("state")},
		{typ: msgStateHint, seq: 9, node: "node-3"},
	} {
		b := appendEnvelope(nil, e)
		if len(b) > len(e.payload)+envelopeOverhead(e.node) {
			t.Errorf("%+v: %d bytes; overhead bound says at most %d", e, len(b), len(e.payload)+envelopeOverhead(e.node))
		}
		got, err := decodeEnvelope(b)
		if err != nil {
			t.Fatalf("decodeEnvelope(%x): %v", b, err)
		}
		if got.typ != e.typ || got.seq != e.seq || got.node != e.node || !bytes.Equal(got.payload, e.payload) {
			t.Errorf("round trip = %+v; want %+v", got, e)
		}
	}
}

func TestEnvelope_decode_bad(t *testing.T) {
	for _, in := range [][]byte{
		nil,
		{99},
		{msgUser},
		{msgUser, 5, 'a'},
		{msgState},
		{msgState, 1, 200, 1},             // node id longer than MaxNodeIDLen
		{msgStateHint, 1, 1, 'a', 'x'},    // a hint has no payload
		{msgUser, 0xff, 0xff, 0xff, 0xff}, // truncated varint
	} {
		if e, err := decodeEnvelope(in); err == nil {
			t.Errorf("decodeEnvelope(%x) = %+v; want an error", in, e)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(appendEnvelope(nil, envelope{typ: msgState, seq: 3, node: "node-1", payload: []byte("x")}))
	f.Add(appendEnvelope(nil, envelope{typ: msgUser, node: "node-1", payload: []byte("x")}))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := decodeEnvelope(in)
		if err != nil {
			return
		}
		if len(e.node) > MaxNodeIDLen {
			t.Fatalf("node id of %d bytes accepted", len(e.node))
		}
		// What decodes re-encodes to something that decodes the same
		// (varints may be non-minimal in the input, so not to the input).
		e2, err := decodeEnvelope(appendEnvelope(nil, e))
		if err != nil || e2.typ != e.typ || e2.seq != e.seq || e2.node != e.node || !bytes.Equal(e2.payload, e.payload) {
			t.Fatalf("re-decode = %+v, %v; want %+v", e2, err, e)
		}
	})
}

func TestEventQueue_coalesces(t *testing.T) {
	q := newEventQueue()
	ev := func(kind EventKind, id string) Event { return Event{Kind: kind, Member: Member{ID: id}} }
	pushes := []Event{ev(EventJoin, "a"), ev(EventJoin, "b"), ev(EventFail, "a"), ev(EventUpdate, "c"), ev(EventJoin, "a")}
	coalesced := 0
	for _, e := range pushes {
		if q.push(e) {
			coalesced++
		}
	}
	if coalesced != 2 {
		t.Errorf("coalesced %d; want 2", coalesced)
	}
	var got []string
	for {
		e, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, e.Kind.String()+":"+e.Member.ID)
	}
	// a keeps its place in line but carries its latest event.
	if strings.Join(got, " ") != "join:a join:b update:c" {
		t.Errorf("popped %v; want [join:a join:b update:c]", got)
	}
	// Popped members queue again.
	q.push(ev(EventLeave, "a"))
	if e, ok := q.pop(); !ok || e.Kind != EventLeave {
		t.Errorf("pop after re-push = %v, %v; want leave:a", e, ok)
	}
}

func TestNormalizeSeed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1:7371"},
		{"10.0.0.1:9000", "10.0.0.1:9000"},
		{"host.example", "host.example:7371"},
		{" host:1 ", "host:1"},
		{"::1", "[::1]:7371"},
		{"[::1]", "[::1]:7371"},
		{"[::1]:9", "[::1]:9"},
		{"", ""},
		{"host:0", ""},
		{"host:99999", ""},
		{"host:x", ""},
		{":7371", ""},
		{"a:b:c", ""},
	} {
		got, err := normalizeSeed(tc.in)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("normalizeSeed(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestProfile_DetectionTime(t *testing.T) {
	lan := LANProfile()
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{3, 2500 * time.Millisecond, 3200 * time.Millisecond},    // too few members to confirm: the minimum suspicion
		{5, 2500 * time.Millisecond, 7200 * time.Millisecond},    // 0.5 + 2 .. 1 + 6 + 0.2
		{100, 4500 * time.Millisecond, 13200 * time.Millisecond}, // log10(100) = 2 doubles the suspicion
	} {
		min, max := lan.DetectionTime(tc.n)
		if min != tc.min || max != tc.max {
			t.Errorf("LAN DetectionTime(%d) = %v, %v; want %v, %v", tc.n, min, max, tc.min, tc.max)
		}
	}
	if min, max := TestProfile().DetectionTime(4); min != 100*time.Millisecond || max != 155*time.Millisecond {
		t.Errorf("test DetectionTime(4) = %v, %v; want 100ms, 155ms", min, max)
	}
}
