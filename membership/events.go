package membership

import "sync"

// eventQueue holds the events not yet delivered, at most one per member:
// a newer event for a member replaces the pending one in place. push never
// blocks, so memberlist's goroutines never wait for the consumer.
type eventQueue struct {
	mu      sync.Mutex
	order   []string         // guarded by mu: members with a pending event, oldest first
	pending map[string]Event // guarded by mu
	signal  chan struct{}    // capacity 1: something was pushed
}

func newEventQueue() *eventQueue {
	return &eventQueue{pending: make(map[string]Event), signal: make(chan struct{}, 1)}
}

// push queues ev and reports whether it replaced a pending event.
func (q *eventQueue) push(ev Event) (coalesced bool) {
	q.mu.Lock()
	id := ev.Member.ID
	_, coalesced = q.pending[id]
	if !coalesced {
		q.order = append(q.order, id)
	}
	q.pending[id] = ev
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return coalesced
}

// pop removes and returns the oldest pending event.
func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return Event{}, false
	}
	id := q.order[0]
	q.order[0] = ""
	q.order = q.order[1:]
	ev := q.pending[id]
	delete(q.pending, id)
	return ev, true
}

// dispatchEvents moves events from the queue to the Events channel, and
// closes it at Shutdown.
func (m *Membership) dispatchEvents() {
	defer close(m.eventsCh)
	for {
		ev, ok := m.events.pop()
		if !ok {
			select {
			case <-m.events.signal:
				continue
			case <-m.shutdownCh:
				return
			}
		}
		select {
		case m.eventsCh <- ev:
		case <-m.shutdownCh:
			return
		}
	}
}
