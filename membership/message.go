package membership

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Messages between nodes of this package travel in memberlist user
// messages (SendTo) and user broadcasts (Broadcast), each starting with a
// type byte. The enum is append-only.
const (
	msgUser      byte = 1 // from, payload: SendTo
	msgState     byte = 2 // seq, origin, payload: Broadcast of a state
	msgStateHint byte = 3 // seq, origin: a state too large to gossip; pull it
)

// stateFormat prefixes the State in push/pull exchanges.
const stateFormat byte = 1

// MaxMessageSize is the largest msg SendTo accepts: memberlist refuses user
// messages over 20 MiB, and the envelope takes a little.
const MaxMessageSize = 20<<20 - 256

var errBadMessage = errors.New("malformed message")

// envelope is a decoded message.
type envelope struct {
	typ     byte
	seq     uint64 // msgState, msgStateHint
	node    string // sender (msgUser) or origin (msgState, msgStateHint)
	payload []byte // msgUser, msgState; aliases the input
}

// appendEnvelope encodes e.
func appendEnvelope(b []byte, e envelope) []byte {
	b = append(b, e.typ)
	if e.typ != msgUser {
		b = binary.AppendUvarint(b, e.seq)
	}
	b = binary.AppendUvarint(b, uint64(len(e.node)))
	b = append(b, e.node...)
	return append(b, e.payload...)
}

// envelopeOverhead is the most bytes appendEnvelope adds to a payload.
func envelopeOverhead(node string) int {
	return 1 + binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(node)
}

// decodeEnvelope decodes b; the payload aliases b.
func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) == 0 {
		return e, errBadMessage
	}
	e.typ, b = b[0], b[1:]
	switch e.typ {
	case msgUser:
	case msgState, msgStateHint:
		seq, k := binary.Uvarint(b)
		if k <= 0 {
			return e, errBadMessage
		}
		e.seq, b = seq, b[k:]
	default:
		return e, fmt.Errorf("%w: type %d", errBadMessage, e.typ)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > MaxNodeIDLen || n > uint64(len(b)-k) {
		return e, errBadMessage
	}
	e.node, b = string(b[k:k+int(n)]), b[k+int(n):]
	if e.typ == msgStateHint && len(b) > 0 {
		return e, errBadMessage
	}
	e.payload = b
	return e, nil
}

// SendTo sends msg to the alive member with the given id over TCP. It
// returns once the message is written, or an error; the receiver's
// Config.OnMessage gets it with this node's id. It blocks for up to
// Profile.TCPTimeout. msg may be up to MaxMessageSize bytes. This is the
// transport for the election's messages.
func (m *Membership) SendTo(node string, msg []byte) error {
	ml, err := m.running()
	if errors.Is(err, ErrLeft) {
		ml, err = m.ml.Load(), nil // a leaving node may still talk
	}
	if err != nil {
		return err
	}
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("send to %s: %w: %d bytes, limit %d", node, ErrTooLarge, len(msg), MaxMessageSize)
	}
	to, ok := m.nodeFor(node)
	if !ok {
		return fmt.Errorf("send to %s: %w", node, ErrUnknownNode)
	}
	b := appendEnvelope(make([]byte, 0, len(msg)+envelopeOverhead(m.cfg.NodeID)),
		envelope{typ: msgUser, node: m.cfg.NodeID, payload: msg})
	if err := ml.SendReliable(to, b); err != nil {
		return fmt.Errorf("send to %s: %w", node, err)
	}
	return nil
}

// nodeFor returns the memberlist address of an alive member.
func (m *Membership) nodeFor(id string) (*memberlist.Node, bool) {
	m.mu.Lock()
	mem, ok := m.members[id]
	var addr string
	if ok && !mem.State.Gone() {
		addr = mem.Addr
	}
	m.mu.Unlock()
	if addr == "" {
		return nil, false
	}
	n, err := parseNodeAddr(id, addr)
	return n, err == nil
}
