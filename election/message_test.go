package election_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/election"
)

func TestMessage_MarshalBinary_roundTrip(t *testing.T) {
	long := strings.Repeat("x", election.MaxIDLen)
	for _, m := range []election.Message{
		{Kind: election.KindElection, From: "n1", Epoch: 0},
		{Kind: election.KindAnswer, From: "n2", Epoch: 7},
		{Kind: election.KindCoordinator, From: "n3", Epoch: 300, Coordinator: "n5"},
		{Kind: election.KindHeartbeat, From: long, Epoch: math.MaxUint64, Coordinator: long},
		{Kind: election.KindAck, From: "node-\x00-\xff", Epoch: 1},
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(%+v): %v", m, err)
		}
		if len(b) > election.MaxMessageLen {
			t.Errorf("%v: %d bytes; want at most MaxMessageLen %d", m.Kind, len(b), election.MaxMessageLen)
		}
		var got election.Message
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%x): %v", b, err)
		}
		if got != m {
			t.Errorf("round trip = %+v; want %+v", got, m)
		}
	}
}

// TestMessage_MarshalBinary_vector pins the wire format.
func TestMessage_MarshalBinary_vector(t *testing.T) {
	m := election.Message{Kind: election.KindCoordinator, From: "n1", Epoch: 300, Coordinator: "n5"}
	b, err := m.AppendBinary([]byte{0xEE}) // a transport's own type byte first
	if err != nil {
		t.Fatal(err)
	}
	const want = "ee" + "01" + "03" + "ac02" + "02" + "6e31" + "02" + "6e35"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("encoding = %s; want %s", got, want)
	}
}

func TestMessage_Validate(t *testing.T) {
	long := strings.Repeat("x", election.MaxIDLen+1)
	for _, tt := range []struct {
		name string
		m    election.Message
	}{
		{"zero", election.Message{}},
		{"unknown kind", election.Message{Kind: 6, From: "a"}},
		{"no from", election.Message{Kind: election.KindElection}},
		{"long from", election.Message{Kind: election.KindElection, From: long}},
		{"long coordinator", election.Message{Kind: election.KindCoordinator, From: "a", Coordinator: long}},
		{"election with coordinator", election.Message{Kind: election.KindElection, From: "a", Coordinator: "b"}},
		{"ack with coordinator", election.Message{Kind: election.KindAck, From: "a", Coordinator: "b"}},
		{"coordinator without coordinator", election.Message{Kind: election.KindCoordinator, From: "a"}},
		{"relayed heartbeat", election.Message{Kind: election.KindHeartbeat, From: "a", Coordinator: "b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.m.Validate(); !errors.Is(err, election.ErrMessage) {
				t.Errorf("Validate() = %v; want ErrMessage", err)
			}
			if b, err := tt.m.AppendBinary([]byte{1}); err == nil || !bytes.Equal(b, []byte{1}) {
				t.Errorf("AppendBinary = %x, %v; want the input unchanged and an error", b, err)
			}
		})
	}
}

func TestMessage_UnmarshalBinary_bad(t *testing.T) {
	for _, tt := range []struct {
		name, hex string
	}{
		{"empty", ""},
		{"one byte", "01"},
		{"bad version", "0201000000"},
		{"kind zero", "0100000000"},
		{"kind unknown", "0109000000"},
		{"no epoch", "0101"},
		{"epoch overflow", "0101ffffffffffffffffff7f00"},
		{"non-minimal epoch", "01018000" + "02" + "6e31" + "00"},
		{"no from", "010100"},
		{"empty from", "0101000000"},
		{"from past end", "01010005" + "6e31"},
		{"from too long", "010100ff02" + strings.Repeat("61", 256) + "00"},
		{"huge from length", "010100ffffffffffffffffff01"},
		{"no coordinator length", "0101000" + "2" + "6e31"},
		{"trailing byte", "010100026e310000"},
		{"election with coordinator", "010100026e3101" + "61"},
		{"heartbeat from other", "010400026e3102" + "6e35"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			m := election.Message{Kind: election.KindAck, From: "keep"}
			if err := m.UnmarshalBinary(b); !errors.Is(err, election.ErrMessage) {
				t.Errorf("UnmarshalBinary(%s) = %v; want ErrMessage", tt.hex, err)
			}
			if m.From != "keep" {
				t.Errorf("message changed to %+v on error", m)
			}
		})
	}
}

// FuzzMessage_UnmarshalBinary feeds hostile bytes to the decoder: it must
// not panic, and whatever it accepts must re-encode to the same bytes.
func FuzzMessage_UnmarshalBinary(f *testing.F) {
	for _, m := range []election.Message{
		{Kind: election.KindElection, From: "n1"},
		{Kind: election.KindCoordinator, From: "n3", Epoch: 300, Coordinator: "n5"},
		{Kind: election.KindHeartbeat, From: "n5", Epoch: math.MaxUint64, Coordinator: "n5"},
		{Kind: election.KindAck, From: "n2", Epoch: 1},
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0x80})
	f.Add([]byte{1, 3, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m election.Message
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, election.ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid message %+v: %v", m, err)
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(%+v): %v", m, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding = %x; want %x", out, b)
		}
	})
}

func TestKind_String(t *testing.T) {
	for k, want := range map[election.Kind]string{
		election.KindElection: "election", election.KindAnswer: "answer",
		election.KindCoordinator: "coordinator", election.KindHeartbeat: "heartbeat",
		election.KindAck: "ack", 0: "Kind(0)", 99: "Kind(99)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", uint8(k), got, want)
		}
	}
}
