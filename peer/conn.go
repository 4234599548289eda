package peer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/store"
)

const (
	// maxGetBatch bounds the gets served in one read transaction.
	maxGetBatch  = 256
	readBufSize  = 32 << 10
	writeBufSize = 32 << 10
	// writeStall closes a connection whose client has not taken any bytes
	// for this long, so a client that never reads cannot pin the node's
	// memory forever.
	writeStall = 30 * time.Second
)

// reply is a response on its way to the writer, with what it holds.
type reply struct {
	resp       wire.Response
	op         wire.Op
	start      time.Time
	held       int64 // connection bytes to release once written
	bigFrame   int64 // node-wide large-frame bytes to release
	closeAfter bool  // close the connection after writing this
}

var replyPool = sync.Pool{New: func() any { return new(reply) }}

// conn serves one client connection with a reader and a writer goroutine.
type conn struct {
	p  *Peer
	nc net.Conn
	fr *wire.FrameReader

	ctx    context.Context // cancelled when the connection is torn down
	cancel context.CancelFunc

	out      chan *reply   // to the writer; never blocks: one slot per request
	slots    chan struct{} // requests in flight; a send acquires
	held     atomic.Int64  // request and response bytes held
	drained  chan struct{} // signalled when held bytes are released
	handlers sync.WaitGroup
	dead     chan struct{} // closed when the writer fails; nothing more is written
	deadOnce sync.Once

	w writeSide

	authed  bool     // reader only
	pending *reply   // reader only: the reply started for the request just read
	record  []byte   // reader only: a put's value with store.HeaderRoom in front, in an owned frame
	batch   []*reply // reader only: replies of a batch of gets, reused
}

func newConn(p *Peer, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(p.ctx)
	c := &conn{
		p:       p,
		nc:      nc,
		fr:      wire.NewFrameReader(nc, readBufSize, p.cfg.MaxFrame),
		ctx:     ctx,
		cancel:  cancel,
		out:     make(chan *reply, p.cfg.MaxInflight),
		slots:   make(chan struct{}, p.cfg.MaxInflight),
		drained: make(chan struct{}, 1),
		dead:    make(chan struct{}),
		authed:  p.cfg.Token == "",
	}
	c.w.bw = bufio.NewWriterSize(stallWriter{nc}, writeBufSize)
	c.w.enc = wire.NewEncoder()
	c.w.alive = true
	return c
}

// stopReading makes the reader return at its next read.
func (c *conn) stopReading() {
	_ = c.nc.SetReadDeadline(time.Now())
}

func (c *conn) markDead() {
	c.deadOnce.Do(func() { close(c.dead) })
}

// acquire waits for room for one more request: a free slot and held bytes
// under the cap. It returns false if the connection is going away.
func (c *conn) acquire() bool {
	for c.held.Load() >= c.p.cfg.MaxConnBytes {
		select {
		case <-c.drained:
		case <-c.dead:
			return false
		case <-c.p.shutdownCh:
			return false
		}
	}
	select {
	case c.slots <- struct{}{}:
		return true
	case <-c.dead:
		return false
	case <-c.p.shutdownCh:
		return false
	}
}

// tryAcquire takes a slot without waiting.
func (c *conn) tryAcquire() bool {
	if c.held.Load() >= c.p.cfg.MaxConnBytes {
		return false
	}
	select {
	case c.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (c *conn) release(r *reply) {
	<-c.slots
	if r.held != 0 {
		c.held.Add(-r.held)
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
	if r.bigFrame != 0 {
		c.p.bigFrames.Release(r.bigFrame)
	}
}

// send hands a reply to the writer. It never blocks: each request holds a
// slot, and out has room for one reply per slot.
func (c *conn) send(r *reply) {
	r.held += int64(len(r.resp.Value) + len(r.resp.Output))
	c.held.Add(int64(len(r.resp.Value) + len(r.resp.Output)))
	c.out <- r
}

// newReply starts the reply to req.
func newReply(req *wire.Request, start time.Time) *reply {
	r := replyPool.Get().(*reply)
	*r = reply{op: req.Op, start: start}
	r.resp.ID = req.ID
	return r
}

// readLoop reads and dispatches requests until the client goes away, a
// fatal protocol error, or shutdown. Then it waits for the requests it
// started and lets the writer finish.
func (c *conn) readLoop() {
	defer c.finish()
	if !c.authed {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.p.cfg.AuthTimeout))
	}
	dec := wire.NewDecoder()
	var req wire.Request
	for {
		if !c.acquire() {
			return
		}
		r, ok := c.readRequest(dec, &req)
		if !ok {
			return
		}
		if r != nil { // an error answered at once
			closeAfter := r.closeAfter
			c.reply(r)
			if closeAfter {
				return
			}
			continue
		}
		if !c.dispatch(dec, &req) {
			return
		}
	}
}

// readRequest reads and decodes the next request into req. It returns a
// reply when the request is answered by an error, and false when the
// connection is done (the slot is then already released or moot).
func (c *conn) readRequest(dec *wire.Decoder, req *wire.Request) (*reply, bool) {
	n, err := c.fr.PeekLen()
	var big int64
	if err == nil && c.fr.Large(n) {
		// Reserve node-wide memory before receiving a large frame.
		if err := c.p.bigFrames.Acquire(c.ctx, int64(n)); err != nil {
			return nil, false
		}
		big = int64(n)
	}
	start := time.Now()
	payload, borrowed, err := c.fr.Next()
	if err != nil {
		if big != 0 {
			c.p.bigFrames.Release(big)
		}
		return c.frameError(err)
	}
	c.p.metrics.bytesIn.Add(float64(n + wire.HeaderSize))
	err = dec.Request(payload, req)
	r := newReply(req, start)
	r.bigFrame = big
	c.record = nil
	if !borrowed {
		r.held = int64(n)
		c.held.Add(r.held)
		if off := dec.ValueOffset(); req.Op == wire.OpPut && off >= store.HeaderRoom && err == nil {
			// The frame is ours and the bytes before the value are
			// decoded: the record header goes there, saving a copy.
			c.record = payload[off-store.HeaderRoom : off+len(req.Value)]
		}
	}
	if err != nil {
		r.op = wire.OpInvalid
		r.resp.Status = wire.StatusBadRequest
		r.resp.Error = err.Error()
		r.closeAfter = !errors.Is(err, wire.ErrBadOp)
		return r, true
	}
	if !c.authed {
		return c.authenticate(req, r), true
	}
	c.pending = r
	return nil, true
}

// frameError answers a frame that cannot be read, if it can be answered.
func (c *conn) frameError(err error) (*reply, bool) {
	var status wire.Status
	switch {
	case errors.Is(err, wire.ErrFrameTooLarge):
		status = wire.StatusTooLarge
	case errors.Is(err, wire.ErrEmptyFrame):
		status = wire.StatusBadRequest
	default:
		if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
			c.p.logger.Debug("read failed", "remote", c.nc.RemoteAddr(), "error", err)
		}
		<-c.slots
		return nil, false
	}
	r := newReply(&wire.Request{}, time.Now())
	r.resp.Status = status
	r.resp.Error = err.Error()
	r.closeAfter = true
	return r, true
}

// authenticate checks the first request when the node has a token.
func (c *conn) authenticate(req *wire.Request, r *reply) *reply {
	if req.Op == wire.OpHello && req.Token == c.p.cfg.Token {
		c.authed = true
		_ = c.nc.SetReadDeadline(time.Time{})
		return c.p.hello(req, r)
	}
	r.resp.Status = wire.StatusUnauthorized
	r.resp.Error = "hello with a valid token required"
	r.closeAfter = true
	return r
}

// finish runs when the reader stops: wait for handlers, then let the
// writer drain and close.
func (c *conn) finish() {
	c.handlers.Wait()
	close(c.out)
}

// writeSide is the connection's output, shared by the reader (replies it
// answers inline) and the writer goroutine (replies of blocking requests).
type writeSide struct {
	mu    sync.Mutex
	bw    *bufio.Writer // guarded by mu
	enc   *wire.Encoder // guarded by mu
	alive bool          // guarded by mu: false once a write failed or the node closed
}

// emit writes one reply, flushing if asked (or if it closes the
// connection), then releases what the request held. It must not be called
// inside a store transaction: the write may block on the client.
func (c *conn) emit(r *reply, flush bool) {
	// Counted before the client can see the answer, so that metrics never
	// lag what a client has observed.
	c.p.metrics.observe(r)
	w := &c.w
	w.mu.Lock()
	if w.alive {
		err := w.enc.WriteResponse(w.bw, &r.resp)
		if err == nil {
			c.p.metrics.bytesOut.Add(float64(w.enc.LastSize()))
			if flush || r.closeAfter {
				err = w.bw.Flush()
			}
		}
		if err != nil || r.closeAfter {
			w.alive = false
			c.markDead()
			c.nc.Close()
		}
	}
	w.mu.Unlock()
	c.release(r)
	replyPool.Put(r)
}

// reply answers an inline request, flushing once no further request is
// waiting in the read buffer, so a pipelined burst goes out in one write.
func (c *conn) reply(r *reply) {
	c.emit(r, !c.fr.HasFrame())
}

// writeLoop writes the replies of blocking requests and closes the
// connection when the reader is done.
func (c *conn) writeLoop() {
	defer c.p.removeConn(c)
	defer c.cancel()
	defer c.nc.Close()
	for r := range c.out {
		flush := len(c.out) == 0
		if flush {
			// Let the handlers about to answer queue their replies, so
			// that one write carries them all.
			runtime.Gosched()
			flush = len(c.out) == 0
		}
		c.emit(r, flush)
	}
	c.w.mu.Lock()
	if c.w.alive {
		_ = c.w.bw.Flush()
	}
	c.w.mu.Unlock()
}

// stallWriter gives each write of at most 1 MiB its own deadline, so a
// large response to a slow client is fine while a client that stops
// reading is cut off.
type stallWriter struct{ nc net.Conn }

func (w stallWriter) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		chunk := b[:min(len(b), 1<<20)]
		_ = w.nc.SetWriteDeadline(time.Now().Add(writeStall))
		m, err := w.nc.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}
