package linkem

import (
	"time"

	"golang.org/x/sys/unix"
)

// Waits shorter than coarse end with nanosleep and a spin rather than a
// Go timer, which overshoots by about a millisecond on Linux.
const (
	coarse = 2 * time.Millisecond
	// spin covers nanosleep's overshoot (the default timer slack is 50 µs).
	spin = 70 * time.Microsecond
)

// sleepUntil returns at t or soon after (a few µs), or earlier when stop
// or cancel is closed while more than coarse is left. It reports whether
// it slept until t.
func sleepUntil(t time.Time, stop, cancel <-chan struct{}) bool {
	if d := time.Until(t); d > coarse {
		timer := time.NewTimer(d - coarse)
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return false
		case <-cancel:
			timer.Stop()
			return false
		}
	}
	preciseSleepUntil(t)
	return true
}

// preciseSleepUntil blocks the calling thread until t.
func preciseSleepUntil(t time.Time) {
	if d := time.Until(t); d > spin {
		ts := unix.NsecToTimespec(int64(d - spin))
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
	}
	for time.Now().Before(t) {
	}
}
