package membership

import (
	"fmt"
	"time"
)

// MemberState is a member's state as this node sees it. The zero value is
// StateAlive.
//
// memberlist v0.7.0 does not expose its "suspect" state (its Node.State
// field is never written), so a suspected member stays StateAlive until it
// is declared dead.
type MemberState int

// Member states.
const (
	// StateAlive: the member answers probes (or is only suspected).
	StateAlive MemberState = iota
	// StateLeaving: the member announced, with Leave, that it is leaving.
	StateLeaving
	// StateDead: the failure detector declared the member dead (it
	// crashed, or it is on the other side of a partition).
	StateDead
	// StateLeft: the member left gracefully.
	StateLeft
)

// String returns "alive", "leaving", "dead" or "left".
func (s MemberState) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateLeaving:
		return "leaving"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("MemberState(%d)", int(s))
}

// Gone reports whether the member is no longer part of the cluster (dead
// or left).
func (s MemberState) Gone() bool { return s == StateDead || s == StateLeft }

// Member is a snapshot of one node as this node sees it. It is a plain
// value; the zero value is not a valid member.
type Member struct {
	// ID is the node id (memberlist's node name).
	ID string
	// Addr is the gossip address, ip:port.
	Addr string
	// Meta is the node's latest metadata. It is empty if the node's
	// metadata did not decode (logged at warn).
	Meta Meta
	// State is the member's state.
	State MemberState
	// Since is when this node saw the member enter State (or its latest
	// metadata update).
	Since time.Time
}

// EventKind says what happened to a member. The zero value is EventJoin.
type EventKind int

// Event kinds.
const (
	// EventJoin: a member is new, or came back after it was dead or left.
	EventJoin EventKind = iota
	// EventUpdate: a member's metadata or address changed (this includes
	// a member starting to leave: State becomes StateLeaving).
	EventUpdate
	// EventLeave: a member left gracefully.
	EventLeave
	// EventFail: a member was declared dead.
	EventFail
)

// String returns "join", "update", "leave" or "fail".
func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change in membership, delivered on Membership.Events. It is a
// plain value that the receiver owns.
type Event struct {
	Kind   EventKind
	Member Member // the member after the change
}
