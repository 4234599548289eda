package peer

import (
	"sync/atomic"
	"time"

	"github.com/lambdakv/lambdakv/slots"
)

// slotGates track the writes in flight on each slot, so that a slot can be
// closed to new writes and drained before it is copied to another node.
// Each gate is one word: the count of writes in flight, and a high bit set
// while the slot is closed. The zero value has every slot open.
type slotGates struct {
	g [slots.NumSlots]atomic.Int32
}

// Gate bits above the count of writes in flight.
const (
	gateClosed = int32(1) << 30 // no new writes
	gateHeld   = int32(1) << 29 // copied away, waiting for the flip: no reads either
	gateMoving = int32(1) << 28 // a migration owns the slot
	gateFlags  = gateClosed | gateHeld | gateMoving
)

// enter admits a write to slot, or reports false if the slot is closed.
func (s *slotGates) enter(slot int) bool {
	g := &s.g[slot]
	for {
		v := g.Load()
		if v&gateClosed != 0 {
			return false
		}
		if g.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// exit ends a write entered with enter.
func (s *slotGates) exit(slot int) { s.g[slot].Add(-1) }

// close stops new writes to slot and waits, up to timeout, for those in
// flight. It reports whether the slot drained.
func (s *slotGates) close(slot int, timeout time.Duration) bool {
	g := &s.g[slot]
	for {
		v := g.Load()
		if g.CompareAndSwap(v, v|gateClosed) {
			break
		}
	}
	deadline := time.Now().Add(timeout)
	for g.Load()&^gateFlags != 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
	return true
}

// open lets writes and reads into slot again and ends its migration.
func (s *slotGates) open(slot int) {
	s.clear(slot, gateFlags)
}

// claim marks slot as owned by one migration; it reports false if another
// migration has it.
func (s *slotGates) claim(slot int) bool {
	g := &s.g[slot]
	for {
		v := g.Load()
		if v&gateMoving != 0 {
			return false
		}
		if g.CompareAndSwap(v, v|gateMoving) {
			return true
		}
	}
}

// hold marks a closed slot as copied away: reads get TRYAGAIN until the
// flip, since the new master may already take writes.
func (s *slotGates) hold(slot int) { s.set(slot, gateHeld) }

// held reports whether slot is copied away and waiting for its flip.
func (s *slotGates) held(slot int) bool { return s.g[slot].Load()&gateHeld != 0 }

func (s *slotGates) set(slot int, bits int32) {
	g := &s.g[slot]
	for {
		v := g.Load()
		if g.CompareAndSwap(v, v|bits) {
			return
		}
	}
}

func (s *slotGates) clear(slot int, bits int32) {
	g := &s.g[slot]
	for {
		v := g.Load()
		if g.CompareAndSwap(v, v&^bits) {
			return
		}
	}
}
