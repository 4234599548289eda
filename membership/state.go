package membership

// State is replicated state that this package carries without looking
// into it: the peer's slot table. It travels two ways:
//
//   - push/pull: every Profile.PushPullInterval, and on every join, two
//     nodes exchange their whole LocalState over TCP and each merges the
//     other's. This is anti-entropy: it converges every node eventually and
//     brings a new node up to date on its first join.
//   - Broadcast: a node that changed its state calls Membership.Broadcast
//     with its new state, which spreads by gossip in a few
//     GossipIntervals and reaches each node's MergeRemoteState once.
//
// Both methods may be called concurrently from memberlist's goroutines and
// must not block for long (they delay gossip). MergeRemoteState must be
// idempotent and commutative, like a merge by epoch: it gets old, repeated
// and reordered copies, its own state echoed back, and states from nodes
// that have since changed theirs. buf is the callee's to keep.
type State interface {
	// LocalState returns this node's whole state for a push/pull.
	// memberlist caps a push/pull at 20 MiB.
	LocalState() []byte
	// MergeRemoteState merges a state produced by another node's
	// LocalState or passed to its Broadcast.
	MergeRemoteState(buf []byte)
}
