package election

import "fmt"

// EventType says what an Event reports.
type EventType uint8

// Event types.
const (
	// EventBecameCoordinator: this node claimed leadership at Event.Epoch
	// (again, at a higher epoch, when it learns of a newer claim than its
	// own).
	EventBecameCoordinator EventType = iota + 1
	// EventSteppedDown: this node stopped being the coordinator because a
	// claim that outranks its own arrived (Event.Coordinator, if known).
	EventSteppedDown
	// EventCoordinatorChanged: this node now follows another coordinator,
	// or the same one at a new epoch.
	EventCoordinatorChanged
	// EventCoordinatorLost: the coordinator this node followed is dead per
	// membership or has been silent for Config.LeaderTimeout.
	EventCoordinatorLost
	// EventMajorityLost: this node no longer sees a strict majority of
	// the masters it knows; if it is Leader, it can no longer act.
	EventMajorityLost
	// EventMajorityRegained: this node sees a strict majority again.
	EventMajorityRegained
	// EventActing: CanAct turned true; this node may act as coordinator.
	EventActing
	// EventNotActing: CanAct turned false (stepped down, majority lost,
	// lease lapsed, or shut down). The run loop notices a lapsed lease at
	// its next heartbeat, up to HeartbeatInterval late; CanAct itself is
	// exact.
	EventNotActing
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case EventBecameCoordinator:
		return "became-coordinator"
	case EventSteppedDown:
		return "stepped-down"
	case EventCoordinatorChanged:
		return "coordinator-changed"
	case EventCoordinatorLost:
		return "coordinator-lost"
	case EventMajorityLost:
		return "majority-lost"
	case EventMajorityRegained:
		return "majority-regained"
	case EventActing:
		return "acting"
	case EventNotActing:
		return "not-acting"
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is a change an Elector reports on its Events channel. Events are
// hints, delivered in order but possibly with gaps (see Elector.Events);
// Status is the truth.
type Event struct {
	Type EventType
	// Coordinator and Epoch are the coordinator this node follows after
	// the event and its epoch ("" if none).
	Coordinator string
	Epoch       uint64
	// HasMajority is Status.HasMajority after the event.
	HasMajority bool
}
