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

const gateClosed = int32(1) << 30

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
	for g.Load()&^gateClosed != 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
	return true
}

// open lets writes into slot again.
func (s *slotGates) open(slot int) {
	g := &s.g[slot]
	for {
		v := g.Load()
		if g.CompareAndSwap(v, v&^gateClosed) {
			return
		}
	}
}

// closed reports whether slot is closed to writes.
func (s *slotGates) closed(slot int) bool { return s.g[slot].Load()&gateClosed != 0 }
