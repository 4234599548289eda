package linkem

import (
	"sync"
	"time"
)

// deadline is a settable point in time as a channel that is closed when
// it passes, in the manner of net.Pipe's deadlines. Safe for concurrent
// use; the zero value is not usable, call newDeadline.
type deadline struct {
	mu     sync.Mutex    // guards timer and cancel
	timer  *time.Timer   // fires at the deadline; nil when none is set
	cancel chan struct{} // closed when the deadline has passed
}

func newDeadline() *deadline {
	return &deadline{cancel: make(chan struct{})}
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for it to close cancel
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel that is closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
