package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// call is one request on a connection and, once done is closed, its
// response.
type call struct {
	req  *wire.Request
	resp wire.Response
	err  error // a connection error; the node's status is in resp
	sent bool  // handed to the socket (set under the conn's mu)
	// onDone, if set, runs once the call is answered or failed.
	onDone func()
	done   chan struct{}
}

// errConn marks errors of the connection rather than answers of the node.
type connError struct {
	addr string
	err  error
}

func (e *connError) Error() string { return fmt.Sprintf("connection to %s: %v", e.addr, e.err) }
func (e *connError) Unwrap() error { return e.err }

// nodeConn is one pipelined connection to a node, shared by every request
// routed there. It has a writer and a reader goroutine, both stopped by
// close.
type nodeConn struct {
	addr string
	nc   net.Conn

	closed chan struct{}
	wg     sync.WaitGroup // the reader

	// Callers write their own requests under wmu. A writer flushes only
	// when nobody else is waiting for wmu, so concurrent callers share
	// writes and the last one out flushes for all.
	wmu     sync.Mutex
	bw      *bufio.Writer // guarded by wmu
	enc     *wire.Encoder // guarded by wmu
	waiting atomic.Int32  // callers blocked on wmu

	mu      sync.Mutex
	pending map[uint64]*call // guarded by mu
	nextID  uint64           // guarded by mu
	err     error            // guarded by mu: set once the connection broke
}

// dialNode connects to addr and says hello.
func dialNode(ctx context.Context, cfg *Config, addr string) (*nodeConn, error) {
	d := net.Dialer{Timeout: cfg.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &connError{addr: addr, err: err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if cfg.TLS != nil {
		tcfg := cfg.TLS.Clone()
		if tcfg.ServerName == "" {
			tcfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &connError{addr: addr, err: err}
		}
		nc = tc
	}
	c := &nodeConn{
		addr:    addr,
		nc:      nc,
		closed:  make(chan struct{}),
		pending: make(map[uint64]*call),
		bw:      bufio.NewWriterSize(nc, 32<<10),
		enc:     wire.NewEncoder(),
	}
	c.wg.Add(1)
	go c.readLoop(cfg.MaxFrame)
	hello := &wire.Request{Op: wire.OpHello, Proto: wire.ProtocolVersion, Token: cfg.Token, Client: cfg.Name}
	cl := c.start(ctx, hello)
	if err := cl.wait(ctx); err != nil {
		c.close()
		return nil, err
	}
	if err := errorOf(&cl.resp, addr); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// start sends req and returns its call.
func (c *nodeConn) start(ctx context.Context, req *wire.Request) *call {
	cl := &call{req: req, done: make(chan struct{})}
	c.startCalls(ctx, cl)
	return cl
}

// startCalls registers calls, whose req and done are set, and writes them
// with one flush. It blocks only while the socket does not take the bytes.
func (c *nodeConn) startCalls(ctx context.Context, calls ...*call) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		for _, cl := range calls {
			cl.err = err
			close(cl.done)
			if cl.onDone != nil {
				cl.onDone()
			}
		}
		return
	}
	for _, cl := range calls {
		c.nextID++
		cl.req.ID = c.nextID
		cl.sent = true
		c.pending[cl.req.ID] = cl
	}
	c.mu.Unlock()
	if err := c.write(ctx, calls); err != nil {
		c.fail(err)
	}
}

// write encodes calls and flushes unless another caller is about to write.
func (c *nodeConn) write(ctx context.Context, calls []*call) error {
	c.waiting.Add(1)
	c.wmu.Lock()
	c.waiting.Add(-1)
	defer c.wmu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		_ = c.nc.SetWriteDeadline(d)
	} else {
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
	for _, cl := range calls {
		if err := c.enc.WriteRequest(c.bw, cl.req); err != nil {
			return err
		}
	}
	if c.waiting.Load() == 0 {
		return c.bw.Flush()
	}
	return nil
}

// wait blocks until the call is answered, its connection breaks, or ctx
// ends.
func (cl *call) wait(ctx context.Context) error {
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish completes the pending call id, if it is still pending.
func (c *nodeConn) finish(id uint64, resp *wire.Response, err error) {
	c.mu.Lock()
	cl, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if !ok {
		return
	}
	if resp != nil {
		cl.resp = *resp
	}
	cl.err = err
	close(cl.done)
	if cl.onDone != nil {
		cl.onDone()
	}
}

// broken reports whether the connection can no longer be used.
func (c *nodeConn) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// fail marks the connection broken and fails every pending call.
func (c *nodeConn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = &connError{addr: c.addr, err: err}
	pending := c.pending
	c.pending = make(map[uint64]*call)
	c.mu.Unlock()
	close(c.closed)
	c.nc.Close()
	for _, cl := range pending {
		cl.err = c.err
		close(cl.done)
		if cl.onDone != nil {
			cl.onDone()
		}
	}
}

// close shuts the connection and waits for its goroutines.
func (c *nodeConn) close() {
	c.fail(net.ErrClosed)
	c.wg.Wait()
}

func (c *nodeConn) readLoop(maxFrame int) {
	defer c.wg.Done()
	fr := wire.NewFrameReader(c.nc, 32<<10, maxFrame)
	dec := wire.NewDecoder()
	var resp wire.Response
	for {
		payload, borrowed, err := fr.Next()
		if err == nil {
			err = dec.Response(payload, &resp)
		}
		if err != nil {
			c.fail(err)
			return
		}
		if borrowed {
			// The frame lives in the read buffer; the caller keeps these.
			resp.Value = cloneNonNil(resp.Value)
			resp.Output = cloneNonNil(resp.Output)
			resp.Stderr = cloneNonNil(resp.Stderr)
			for i := range resp.Entries {
				resp.Entries[i].Value = cloneNonNil(resp.Entries[i].Value)
			}
			for i := range resp.Records {
				resp.Records[i].Value = cloneNonNil(resp.Records[i].Value)
			}
		}
		if resp.ID == 0 && resp.Status != wire.StatusOK {
			// The node refused the connection itself (e.g. a frame too large).
			c.fail(errors.New(resp.Status.String() + ": " + resp.Error))
			return
		}
		c.finish(resp.ID, &resp, nil)
	}
}

func cloneNonNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
