package linkem

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Config describes the emulated link. The zero value is a link that adds
// nothing.
type Config struct {
	// Delay is the one-way delay added to each direction. The round trip
	// of a connection grows by twice this. Zero adds none.
	Delay time.Duration

	// Rate limits each direction, in bytes per second. Zero means no
	// limit.
	Rate int64

	// Buffer is how many bytes each direction holds in flight before the
	// writer (or, inbound, the reading of the socket) is held back. Zero
	// means 4 MiB. It bounds throughput to Buffer/Delay.
	Buffer int
}

// DefaultBuffer is the per-direction buffer when Config.Buffer is zero.
const DefaultBuffer = 4 << 20

// Validate reports a field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Delay < 0:
		return fmt.Errorf("linkem: Delay %v must not be negative", c.Delay)
	case c.Rate < 0:
		return fmt.Errorf("linkem: Rate %d must not be negative", c.Rate)
	case c.Buffer < 0:
		return fmt.Errorf("linkem: Buffer %d must not be negative", c.Buffer)
	}
	return nil
}

// Zero reports whether c adds neither delay nor a rate limit.
func (c Config) Zero() bool { return c.Delay == 0 && c.Rate == 0 }

// chunkSize is the most bytes one chunk carries: with a rate limit, about
// 2 ms of it, so pacing stays smooth.
func (c Config) chunkSize() int {
	if c.Rate == 0 {
		return 64 << 10
	}
	return int(min(max(c.Rate/500, 4<<10), 64<<10))
}

// Errors that queue waits return; Conn maps them to net errors.
var (
	errStop    = errors.New("linkem: stopped")
	errTimeout = os.ErrDeadlineExceeded
)

// Listener wraps a net.Listener so that every accepted connection is a
// Conn with the listener's Config. Safe for concurrent use, like the
// listener it wraps.
type Listener struct {
	net.Listener
	cfg Config
}

var _ net.Listener = (*Listener)(nil)

// NewListener returns ln wrapped with cfg. It panics if cfg is invalid.
func NewListener(ln net.Listener, cfg Config) *Listener {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Listener{Listener: ln, cfg: cfg}
}

// Accept waits for the next connection and wraps it. With a zero Config
// the connection is returned as it is.
func (l *Listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil || l.cfg.Zero() {
		return nc, err
	}
	return Wrap(nc, l.cfg), nil
}

// pacer turns a write of n bytes at a time into the time it arrives.
type pacer struct {
	rate  int64 // bytes per second; 0: unlimited
	delay time.Duration
	free  time.Time // when the link has sent everything before
}

func (p *pacer) due(now time.Time, n int) time.Time {
	if p.rate > 0 {
		start := now
		if p.free.After(start) {
			start = p.free
		}
		p.free = start.Add(time.Duration(int64(n) * int64(time.Second) / p.rate))
		now = p.free
	}
	return now.Add(p.delay)
}

// Conn is a connection whose two directions go through an emulated link.
// Its methods are safe for concurrent use, as net.Conn requires; make it
// with Wrap.
type Conn struct {
	raw   net.Conn
	cfg   Config
	chunk int

	in, out *queue
	rd, wd  *deadline

	readMu  sync.Mutex // serializes Read
	writeMu sync.Mutex // serializes Write; guards outPace
	outPace pacer

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	wg        sync.WaitGroup

	errMu sync.Mutex
	txErr error // guarded by errMu; the first error writing raw
}

var _ net.Conn = (*Conn)(nil)

// Wrap starts emulating cfg on nc and returns the wrapped connection,
// which owns nc from then on. It starts two goroutines, which Close ends.
// It panics if cfg is invalid.
func Wrap(nc net.Conn, cfg Config) *Conn {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	c := &Conn{
		raw:     nc,
		cfg:     cfg,
		chunk:   cfg.chunkSize(),
		in:      newQueue(cfg.Buffer),
		out:     newQueue(cfg.Buffer),
		rd:      newDeadline(),
		wd:      newDeadline(),
		outPace: pacer{rate: cfg.Rate, delay: cfg.Delay},
		closed:  make(chan struct{}),
	}
	c.wg.Add(2)
	go c.receive()
	go c.send()
	return c
}

// receive reads the socket and queues what it reads, stamped with the
// time it may be read, then the error that ended the stream.
func (c *Conn) receive() {
	defer c.wg.Done()
	pace := pacer{rate: c.cfg.Rate, delay: c.cfg.Delay}
	buf := make([]byte, c.chunk)
	for {
		n, err := c.raw.Read(buf)
		now := time.Now()
		if n > 0 {
			b := make([]byte, n)
			copy(b, buf[:n])
			if c.in.push(chunk{b: b, due: pace.due(now, n)}, c.closed, nil) != nil {
				return
			}
		}
		if err != nil {
			_ = c.in.push(chunk{err: err, due: pace.due(now, 0)}, c.closed, nil)
			return
		}
	}
}

// send writes queued chunks to the socket when they are due. After Close
// it still sends what was queued, then closes the socket.
func (c *Conn) send() {
	defer c.wg.Done()
	defer c.raw.Close()
	var backing [][]byte // reused between writes
	for {
		h, err := c.out.head(c.closed, nil)
		if err != nil {
			return // closed and drained
		}
		sleepUntil(h.due, nil, nil)
		backing = c.out.takeDue(time.Now(), backing[:0])
		if !c.failed() {
			bufs := net.Buffers(backing)
			if _, err := bufs.WriteTo(c.raw); err != nil {
				c.fail(err)
				c.raw.Close() // the receiver ends too
			}
		}
		// After a failure chunks are dropped: the writer learns the
		// error from Write.
		clear(backing)
	}
}

func (c *Conn) fail(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.txErr == nil {
		c.txErr = err
	}
}

func (c *Conn) failed() bool { return c.writeErr() != nil }

func (c *Conn) writeErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.txErr
}

// opError dresses err as the net package would.
func (c *Conn) opError(op string, err error) error {
	switch err {
	case errStop:
		err = net.ErrClosed
	case nil:
		return nil
	}
	return &net.OpError{Op: op, Net: c.raw.LocalAddr().Network(), Source: c.raw.LocalAddr(), Addr: c.raw.RemoteAddr(), Err: err}
}

// Read reads bytes that have crossed the link: it waits until the first
// queued chunk is due, then returns it and any others already due.
func (c *Conn) Read(b []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	cancel := c.rd.wait()
	switch {
	case isClosed(c.closed):
		return 0, c.opError("read", errStop)
	case isClosed(cancel):
		return 0, c.opError("read", errTimeout)
	case len(b) == 0:
		return 0, nil
	}
	h, err := c.in.head(c.closed, cancel)
	if err != nil {
		return 0, c.opError("read", err)
	}
	if !sleepUntil(h.due, c.closed, cancel) {
		if isClosed(c.closed) {
			return 0, c.opError("read", errStop)
		}
		return 0, c.opError("read", errTimeout)
	}
	if h.err != nil {
		return 0, h.err // io.EOF as it is, so callers can compare
	}
	n := 0
	now := time.Now()
	for n < len(b) {
		h, ok := c.in.peek()
		if !ok || h.err != nil || h.due.After(now) {
			break
		}
		m := copy(b[n:], h.b)
		c.in.consume(m)
		n += m
	}
	return n, nil
}

// Write queues b for the link and returns once it is queued, as a socket
// buffer would. It blocks while the link holds Config.Buffer bytes.
func (c *Conn) Write(b []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	n := 0
	for len(b) > 0 {
		if isClosed(c.closed) {
			return n, c.opError("write", errStop)
		}
		if err := c.writeErr(); err != nil {
			return n, err
		}
		m := min(len(b), c.chunk)
		data := make([]byte, m)
		copy(data, b)
		ch := chunk{b: data, due: c.outPace.due(time.Now(), m)}
		if err := c.out.push(ch, c.closed, c.wd.wait()); err != nil {
			return n, c.opError("write", err)
		}
		n += m
		b = b[m:]
	}
	return n, nil
}

// lingerFor bounds how long Close lets queued bytes reach the wire.
const lingerFor = 2 * time.Second

// Close stops reads and writes at once, lets the bytes already written
// cross the link (for at most Delay plus a few seconds), closes the
// socket and returns when every goroutine of the connection has ended.
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		linger := lingerFor + c.cfg.Delay
		if c.cfg.Rate > 0 {
			linger += time.Duration(int64(c.cfg.Buffer) * int64(time.Second) / c.cfg.Rate)
		}
		_ = c.raw.SetWriteDeadline(time.Now().Add(linger))
		close(c.closed)
	})
	c.wg.Wait()
	if !first {
		return c.opError("close", errStop)
	}
	return nil
}

// LocalAddr returns the socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr returns the socket's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline bounds Read, as net.Conn documents.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// SetWriteDeadline bounds how long Write waits for room in the link.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wd.set(t)
	return nil
}
