package election

import (
	"encoding/binary"
	"fmt"
)

// Kind is the type of an election message. The values are on the wire:
// the enum is append-only, and a decoder refuses values it does not know.
type Kind uint8

// Message kinds. The zero Kind is invalid.
const (
	// KindElection starts an election: it asks every other live master
	// whether it is alive. A higher one replies with KindAnswer, a lower
	// one with KindAck (its vote).
	KindElection Kind = 1
	// KindAnswer tells an electing master that a higher one (or the
	// coordinator) is alive and will finish the election.
	KindAnswer Kind = 2
	// KindCoordinator claims, or relays a claim, that Coordinator leads at
	// Epoch. From is the sender; it equals Coordinator unless relayed.
	KindCoordinator Kind = 3
	// KindHeartbeat is a coordinator's periodic "still here" at its epoch.
	KindHeartbeat Kind = 4
	// KindAck is a lower master's vote for an electing higher one, or a
	// follower's acknowledgment of the claim it follows (Epoch is that
	// claim's epoch), which keeps the coordinator's lease.
	KindAck Kind = 5
)

// String returns the kind's name, or "Kind(n)" for an unknown value.
func (k Kind) String() string {
	switch k {
	case KindElection:
		return "election"
	case KindAnswer:
		return "answer"
	case KindCoordinator:
		return "coordinator"
	case KindHeartbeat:
		return "heartbeat"
	case KindAck:
		return "ack"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Wire limits.
const (
	// MaxIDLen is the longest node id, in bytes, that a message can carry
	// and that Config.ID may be.
	MaxIDLen = 255

	// MaxMessageLen bounds the encoded size of a Message in bytes, so a
	// transport can size its buffers; it fits one memberlist UDP packet.
	MaxMessageLen = 2 + binary.MaxVarintLen64 + 2*(2+MaxIDLen)

	messageVersion = 1
)

// Message is one election message. The zero value is invalid (no Kind).
// A Message is a plain value, safe to copy and share.
//
// Encoding (version 1), all integers unsigned varints in minimal form:
//
//	version=1 (1 byte) | kind (1 byte) | epoch | len(From) | From | len(Coordinator) | Coordinator
type Message struct {
	Kind Kind
	// From is the sender's node id. Receivers trust it the way they trust
	// the transport (memberlist user messages carry no sender).
	From string
	// Epoch is, for KindCoordinator and KindHeartbeat, the epoch of the
	// claim; for KindAck, the epoch acknowledged (a vote carries the
	// highest seen); for KindElection and KindAnswer, the highest epoch
	// the sender has seen, so a restarted node learns where the cluster is.
	Epoch uint64
	// Coordinator names the claimed coordinator; set only for
	// KindCoordinator (equal to From unless relayed) and KindHeartbeat
	// (always equal to From), empty otherwise.
	Coordinator string
}

// Validate reports whether m is well formed, wrapping ErrMessage.
func (m Message) Validate() error {
	switch {
	case m.Kind < KindElection || m.Kind > KindAck:
		return fmt.Errorf("%w: unknown kind %d", ErrMessage, m.Kind)
	case m.From == "" || len(m.From) > MaxIDLen:
		return fmt.Errorf("%w: From is %d bytes, want 1..%d", ErrMessage, len(m.From), MaxIDLen)
	case len(m.Coordinator) > MaxIDLen:
		return fmt.Errorf("%w: Coordinator is %d bytes, want at most %d", ErrMessage, len(m.Coordinator), MaxIDLen)
	}
	switch m.Kind {
	case KindElection, KindAnswer, KindAck:
		if m.Coordinator != "" {
			return fmt.Errorf("%w: %v carries a Coordinator", ErrMessage, m.Kind)
		}
	case KindCoordinator:
		if m.Coordinator == "" {
			return fmt.Errorf("%w: coordinator message without Coordinator", ErrMessage)
		}
	case KindHeartbeat:
		if m.Coordinator != m.From {
			return fmt.Errorf("%w: heartbeat Coordinator %q differs from From %q", ErrMessage, m.Coordinator, m.From)
		}
	}
	return nil
}

// AppendBinary appends the encoding of m to b (encoding.BinaryAppender).
// It fails, leaving b unchanged, if m is not valid.
func (m Message) AppendBinary(b []byte) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return b, err
	}
	b = append(b, messageVersion, byte(m.Kind))
	b = binary.AppendUvarint(b, m.Epoch)
	b = appendString(b, m.From)
	return appendString(b, m.Coordinator), nil
}

// MarshalBinary returns the encoding of m (encoding.BinaryMarshaler).
func (m Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 16+len(m.From)+len(m.Coordinator)))
}

// UnmarshalBinary decodes b into m (encoding.BinaryUnmarshaler). It accepts
// exactly the bytes MarshalBinary produces and nothing else: any other
// input, however hostile, returns an error wrapping ErrMessage and leaves m
// unchanged. It reads at most MaxMessageLen bytes' worth of fields and does
// not keep b.
func (m *Message) UnmarshalBinary(b []byte) error {
	if len(b) < 2 {
		return fmt.Errorf("%w: %d bytes, too short", ErrMessage, len(b))
	}
	if b[0] != messageVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrMessage, b[0], messageVersion)
	}
	d := decoder{b: b[2:]}
	out := Message{Kind: Kind(b[1])}
	out.Epoch = d.uvarint("epoch")
	out.From = d.string("From")
	out.Coordinator = d.string("Coordinator")
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrMessage, len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*m = out
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decoder reads fields in order and keeps the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.err = fmt.Errorf("%w: %s truncated", ErrMessage, field)
		return 0
	case n < 0:
		d.err = fmt.Errorf("%w: %s overflows 64 bits", ErrMessage, field)
		return 0
	case n > 1 && d.b[n-1] == 0:
		d.err = fmt.Errorf("%w: %s is not a minimal varint", ErrMessage, field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(field string) string {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return ""
	}
	if n > MaxIDLen || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: %s length %d exceeds limit or input", ErrMessage, field, n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
