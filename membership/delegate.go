package membership

import (
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// delegate adapts memberlist.Delegate: node metadata, received messages,
// our broadcasts, and the State in push/pull.
type delegate struct {
	m *Membership
}

var _ memberlist.Delegate = (*delegate)(nil)

// NodeMeta implements memberlist.Delegate. encodeMeta already enforced the
// limit.
func (d *delegate) NodeMeta(limit int) []byte {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	if len(d.m.metaBytes) > limit {
		return nil // unreachable: encodeMeta checks MetaMaxSize
	}
	return append([]byte(nil), d.m.metaBytes...)
}

// NotifyMsg implements memberlist.Delegate. It runs on memberlist's packet
// or stream goroutine; buf is reused after it returns.
func (d *delegate) NotifyMsg(buf []byte) {
	if d.m.shut.Load() {
		return // a stream still being read after Shutdown
	}
	e, err := decodeEnvelope(buf)
	if err != nil {
		d.m.stats.messagesDropped.Add(1)
		d.m.logger.Debug("dropping a malformed message", "error", err)
		return
	}
	switch e.typ {
	case msgUser:
		if f := d.m.cfg.OnMessage; f != nil {
			f(e.node, append([]byte(nil), e.payload...))
		}
	case msgState, msgStateHint:
		d.m.receiveState(e, buf)
	}
}

// GetBroadcasts implements memberlist.Delegate.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState implements memberlist.Delegate.
func (d *delegate) LocalState(join bool) []byte {
	s := d.m.cfg.State
	if s == nil {
		return nil
	}
	return append([]byte{stateFormat}, s.LocalState()...)
}

// MergeRemoteState implements memberlist.Delegate. A node without a State,
// or with another format, sends something else; it is ignored.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	s := d.m.cfg.State
	if s == nil || len(buf) < 2 || buf[0] != stateFormat {
		return
	}
	s.MergeRemoteState(append([]byte(nil), buf[1:]...))
}

// parseNodeAddr builds the memberlist address of a member.
func parseNodeAddr(id, addr string) (*memberlist.Node, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	return &memberlist.Node{Name: id, Addr: net.ParseIP(host), Port: uint16(p)}, nil
}
