package membership

import (
	"github.com/hashicorp/memberlist"
)

// conflictDelegate adapts memberlist.ConflictDelegate: two nodes claim one
// id from different addresses. memberlist keeps the one it knew; we say so
// loudly, since ids must be unique.
type conflictDelegate struct {
	m *Membership
}

var _ memberlist.ConflictDelegate = (*conflictDelegate)(nil)

// NotifyConflict implements memberlist.ConflictDelegate.
func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	d.m.logger.Warn("two nodes claim one node id; ignoring the newcomer",
		"node", existing.Name, "known_addr", existing.Address(), "other_addr", other.Address())
}
