package linkem

import (
	"sync"
	"time"
)

// chunk is a run of bytes due at one time, or, with err set, the end of
// the stream (err is returned once the bytes before it are read).
type chunk struct {
	b   []byte
	due time.Time
	err error
}

// queue is a FIFO of chunks bounded in bytes, for one producer and one
// consumer at a time. Safe for concurrent use; make it with newQueue.
type queue struct {
	mu     sync.Mutex
	chunks []chunk // guarded by mu; chunks[0] is the head
	bytes  int     // guarded by mu; bytes in chunks
	limit  int

	data chan struct{} // a chunk was appended (capacity 1)
	room chan struct{} // bytes were removed (capacity 1)
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, data: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// tryPush appends c if it fits; an empty queue takes any chunk, so one
// larger than the limit still passes.
func (q *queue) tryPush(c chunk) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bytes > 0 && q.bytes+len(c.b) > q.limit {
		return false
	}
	q.chunks = append(q.chunks, c)
	q.bytes += len(c.b)
	kick(q.data)
	return true
}

// push appends c, waiting for room. It returns errStop or errTimeout when
// stop or cancel is closed first.
func (q *queue) push(c chunk, stop, cancel <-chan struct{}) error {
	for !q.tryPush(c) {
		select {
		case <-q.room:
		case <-stop:
			return errStop
		case <-cancel:
			return errTimeout
		}
	}
	return nil
}

// head returns the first chunk, waiting for one.
func (q *queue) head(stop, cancel <-chan struct{}) (chunk, error) {
	for {
		q.mu.Lock()
		if len(q.chunks) > 0 {
			c := q.chunks[0]
			q.mu.Unlock()
			return c, nil
		}
		q.mu.Unlock()
		select {
		case <-q.data:
		case <-stop:
			return chunk{}, errStop
		case <-cancel:
			return chunk{}, errTimeout
		}
	}
}

// peek returns the first chunk without waiting.
func (q *queue) peek() (chunk, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.chunks) == 0 {
		return chunk{}, false
	}
	return q.chunks[0], true
}

// consume removes n bytes from the head chunk, and the chunk once empty.
func (q *queue) consume(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := &q.chunks[0]
	h.b = h.b[n:]
	q.bytes -= n
	if len(h.b) == 0 && h.err == nil {
		q.chunks[0] = chunk{}
		q.chunks = q.chunks[1:]
		if len(q.chunks) == 0 {
			q.chunks = nil // let the backing array go
		}
	}
	kick(q.room)
}

// takeDue removes the chunks at the head that are due at now, up to
// about 1 MiB, and appends their bytes to bufs.
func (q *queue) takeDue(now time.Time, bufs [][]byte) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, n := 0, 0
	for i < len(q.chunks) && !q.chunks[i].due.After(now) && n < 1<<20 {
		bufs = append(bufs, q.chunks[i].b)
		n += len(q.chunks[i].b)
		q.chunks[i] = chunk{}
		i++
	}
	q.chunks = q.chunks[i:]
	if len(q.chunks) == 0 {
		q.chunks = nil
	}
	q.bytes -= n
	kick(q.room)
	return bufs
}
