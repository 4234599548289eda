package election

import (
	"fmt"
	"slices"
	"time"
)

// State is where an Elector is in the Bully state machine. The zero value
// is Follower.
type State uint8

// States.
const (
	// Follower is not electing. It follows Status.Coordinator, or, with
	// none known, waits up to Config.LeaderTimeout to hear of one before
	// it starts an election (if it has a majority).
	Follower State = iota
	// Electing has sent Election to every other live master and waits
	// up to Config.AnswerTimeout for an Answer from a higher one, counting
	// the votes (Acks) of the lower ones.
	Electing
	// Waiting has received an Answer and waits up to
	// Config.CoordinatorTimeout for a Coordinator message, else it
	// elects again.
	Waiting
	// Leader is the coordinator. It acts only while it also has a
	// majority and a lease; see Status.CanAct.
	Leader
	// Shutdown is the state after Shutdown.
	Shutdown
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Follower:
		return "follower"
	case Electing:
		return "electing"
	case Waiting:
		return "waiting"
	case Leader:
		return "leader"
	case Shutdown:
		return "shutdown"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Status is a snapshot of an Elector. It is a value: the Elector never
// changes a Status it has handed out. The zero value describes a node that
// knows nothing.
type Status struct {
	// ID is this node's id.
	ID string
	// State is the state-machine state.
	State State
	// Coordinator is the coordinator this node follows (its own ID when
	// State is Leader), or "" when it knows none.
	Coordinator string
	// Epoch is the epoch of Coordinator's claim, or of the last claim
	// seen when Coordinator is "". Decisions taken by the coordinator
	// carry this epoch.
	Epoch uint64
	// MaxEpoch is the highest epoch this node has seen in any message;
	// the next epoch it mints is MaxEpoch+1.
	MaxEpoch uint64
	// Live and Known are the masters (sorted, including this node) that
	// membership last reported as alive and as known at all.
	Live, Known []string
	// HasMajority reports whether Live holds a strict majority of Known:
	// the membership view.
	HasMajority bool
	// LeaseUntil is, for a Leader, when the acknowledgments of a strict
	// majority of Known (itself included) run out: each counts for
	// LeaderTimeout - HeartbeatInterval after it arrived, so the lease
	// ends before a follower that stopped hearing the Leader can elect
	// another. Zero when there is no lease.
	LeaseUntil time.Time
	// HeardAt is, for a Follower, when it last heard its coordinator
	// directly; zero when it has not since it began to follow it.
	HeardAt time.Time
}

// CanAct reports whether this node is the coordinator and may act on it,
// at the moment of the call: it is Leader, membership shows a strict
// majority of the masters it knows, and a strict majority has
// acknowledged its claim recently (LeaseUntil is in the future; a node
// that is the only master it knows needs no lease). A minority partition
// therefore never acts, except for a coordinator cut off from the others,
// until its lease runs out.
func (s Status) CanAct() bool {
	if s.State != Leader || !s.HasMajority {
		return false
	}
	return len(s.Known) <= 1 || time.Now().Before(s.LeaseUntil)
}

// clone returns s with its own copies of the slices.
func (s Status) clone() Status {
	s.Live = slices.Clone(s.Live)
	s.Known = slices.Clone(s.Known)
	return s
}
