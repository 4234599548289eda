package peer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/semaphore"

	"github.com/lambdakv/lambdakv/linkem"
	"github.com/lambdakv/lambdakv/store"
)

// Peer is one lambdakv node. Its methods are safe to call concurrently.
// The zero value is not usable; call New.
type Peer struct {
	cfg    *Config
	logger hclog.Logger

	id       string
	addr     string // advertised client address, host:port
	httpAddr string

	store *store.Store
	exec  *executor // nil when the node runs no lambdas
	cl    cluster
	out   movesOut // slots copied to other nodes, waiting for their flip
	repl  replication
	seeds []string // gossip addresses joined at start: Join, then the members last seen
	fo    failoverState

	coordinating atomic.Bool // a coordinator round is running
	leaving      atomic.Bool // Leave was called: hand the slots away
	metrics      *metrics

	ln      net.Listener
	httpLn  net.Listener
	httpSrv *http.Server

	bigFrames *semaphore.Weighted // bytes of large frames being received

	connsMu sync.Mutex
	conns   map[*conn]struct{} // guarded by connsMu

	// ctx is the parent of every request's context; cancelled when
	// Shutdown gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	// stopCtx ends when Shutdown begins; background work (slot moves)
	// runs under it.
	stopCtx    context.Context
	stopCancel context.CancelFunc

	wg           sync.WaitGroup
	shutdownLock sync.Mutex
	started      bool // guarded by shutdownLock
	shutdown     bool // guarded by shutdownLock
	shutdownCh   chan struct{}
	startTime    time.Time
}

// New validates cfg and returns a node that is not yet serving. It starts
// no goroutines and opens no files or sockets.
func New(cfg *Config) (*Peer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	stopCtx, stopCancel := context.WithCancel(ctx)
	p := &Peer{
		stopCtx:    stopCtx,
		stopCancel: stopCancel,
		cfg:        c,
		logger:     c.Logger,
		bigFrames:  semaphore.NewWeighted(c.MaxPendingBytes),
		conns:      make(map[*conn]struct{}),
		ctx:        ctx,
		cancel:     cancel,
		shutdownCh: make(chan struct{}),
	}
	p.repl.init()
	p.metrics = newMetrics(p)
	return p, nil
}

// goFunc runs f in a goroutine that Shutdown waits for.
func (p *Peer) goFunc(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// Start opens the store, starts the sandbox and binds the listeners, then
// serves. If a step fails, whatever already started is shut down.
func (p *Peer) Start(ctx context.Context) (err error) {
	p.shutdownLock.Lock()
	defer p.shutdownLock.Unlock()
	if p.started || p.shutdown {
		return errors.New("peer: already started")
	}
	p.started = true
	p.startTime = time.Now()
	defer func() {
		if err != nil {
			p.stopLocked(context.Background())
		}
	}()
	if err := os.MkdirAll(p.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if p.id, err = loadNodeID(p.cfg.DataDir, p.cfg.NodeID); err != nil {
		return err
	}
	p.logger = p.logger.With("node", p.id)
	storeOpts := *p.cfg.Store
	storeOpts.Logger = p.logger.Named("store")
	if p.store, err = store.Open(filepath.Join(p.cfg.DataDir, "lkv.db"), &storeOpts); err != nil {
		return err
	}
	if err := p.startExecutor(ctx); err != nil {
		return err
	}
	if err := p.listen(); err != nil {
		return err
	}
	// Bound, so it can serve: only now announce it to the cluster.
	if err := p.startCluster(ctx); err != nil {
		return err
	}
	p.goFunc(p.acceptLoop)
	if p.httpLn != nil {
		p.goFunc(p.serveHTTP)
	}
	p.logger.Info("serving", "addr", p.addr, "http", p.httpAddr, "gossip", p.GossipAddr(), "executors", p.cfg.Executors)
	return nil
}

// listen binds the client and HTTP listeners and records the addresses.
func (p *Peer) listen() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.BindAddr, strconv.Itoa(p.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on client port: %w", err)
	}
	p.addr = p.advertise(ln.Addr())
	if p.cfg.LinkDelay > 0 || p.cfg.LinkRate > 0 {
		// Under TLS, so the emulated link carries what the wire would.
		ln = linkem.NewListener(ln, linkem.Config{Delay: p.cfg.LinkDelay, Rate: p.cfg.LinkRate})
	}
	if p.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(p.cfg.TLSCertFile, p.cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	p.ln = ln
	if p.cfg.HTTPPort < 0 {
		return nil
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(p.cfg.BindAddr, strconv.Itoa(p.cfg.HTTPPort)))
	if err != nil {
		return fmt.Errorf("listen on HTTP port: %w", err)
	}
	p.httpLn = hl
	p.httpAddr = p.advertise(hl.Addr())
	p.httpSrv = p.newHTTPServer()
	return nil
}

// advertise turns a bound address into the one others should dial.
func (p *Peer) advertise(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	host := p.cfg.AdvertiseAddr
	if host == "" {
		host = p.cfg.BindAddr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// loadNodeID returns the configured id, or the one kept in dir, or a new
// one; whichever it returns is kept in dir for the next start.
func loadNodeID(dir, configured string) (string, error) {
	path := filepath.Join(dir, "node-id")
	id := configured
	if id == "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			id = strings.TrimSpace(string(b))
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("read node id: %w", err)
		}
	}
	if id == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = "node-" + hex.EncodeToString(b[:])
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}

// ID returns the node id. It is set by Start.
func (p *Peer) ID() string { return p.id }

// Addr returns the client address others should dial, host:port. It is
// set by Start.
func (p *Peer) Addr() string { return p.addr }

// HTTPAddr returns the HTTP address, or "" when HTTP is disabled.
func (p *Peer) HTTPAddr() string { return p.httpAddr }

// GossipAddr returns the address other nodes join through, or "" when
// gossip is disabled.
func (p *Peer) GossipAddr() string {
	if p.cl.ml == nil {
		return ""
	}
	return p.cl.ml.LocalAddr()
}

// DataDir returns the node's data directory.
func (p *Peer) DataDir() string { return p.cfg.DataDir }

// Stopped reports whether Shutdown has begun.
func (p *Peer) Stopped() bool {
	select {
	case <-p.shutdownCh:
		return true
	default:
		return false
	}
}

// ShutdownCh is closed when Shutdown begins.
func (p *Peer) ShutdownCh() <-chan struct{} { return p.shutdownCh }

// Leave hands this node's slots to the other masters, with their data,
// then announces that it leaves the cluster. It waits for the handover
// until ctx ends; a node that is the last master keeps its slots. After
// Leave, call Shutdown.
func (p *Peer) Leave(ctx context.Context) error {
	if p.cl.ml == nil {
		return nil
	}
	p.logger.Info("leaving: handing slots over")
	p.leaving.Store(true)
	meta := p.meta()
	meta.Tags["leaving"] = "1"
	if err := p.cl.ml.UpdateMeta(ctx, meta); err != nil {
		p.logger.Warn("could not announce leaving", "error", err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for p.cl.table.Load().SlotsOf(p.id) > 0 && len(p.activeMasters()) > 0 {
		select {
		case <-tick.C:
			p.dropMovedSlots()
		case <-ctx.Done():
			p.logger.Warn("leaving before every slot was handed over", "slots", p.cl.table.Load().SlotsOf(p.id))
			return p.cl.ml.Leave(context.Background())
		}
	}
	return p.cl.ml.Leave(ctx)
}

// Shutdown stops serving: it closes the listeners, stops reading requests,
// lets requests in flight finish until ctx ends (or ShutdownTimeout, if ctx
// has no deadline), then cancels the rest, waits for every goroutine and
// closes the store. It is idempotent.
func (p *Peer) Shutdown(ctx context.Context) error {
	p.shutdownLock.Lock()
	defer p.shutdownLock.Unlock()
	return p.stopLocked(ctx)
}

func (p *Peer) stopLocked(ctx context.Context) error {
	if p.shutdown {
		return nil
	}
	p.shutdown = true
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.ShutdownTimeout)
		defer cancel()
	}
	close(p.shutdownCh)
	p.stopCancel()
	p.cl.sendMu.Lock()
	p.cl.senders = nil // no sender goroutine starts once Shutdown waits for them
	p.cl.sendMu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	if p.httpSrv != nil {
		_ = p.httpSrv.Close()
	}
	if p.httpLn != nil {
		p.httpLn.Close()
	}
	p.stopConns()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		p.logger.Warn("shutdown: cancelling requests still in flight")
		p.cancel()
		p.killConns()
		<-done
	}
	p.cancel()
	errs = append(errs, p.stopCluster(context.Background()))
	if p.exec != nil {
		errs = append(errs, p.exec.shutdown(context.Background()))
	}
	if p.store != nil {
		errs = append(errs, p.store.Close())
	}
	p.logger.Info("stopped")
	return errors.Join(errs...)
}

// stopConns makes every connection stop reading; each finishes the
// requests it has and then closes.
func (p *Peer) stopConns() {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	for c := range p.conns {
		c.stopReading()
	}
}

// killConns closes every connection at once.
func (p *Peer) killConns() {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	for c := range p.conns {
		c.nc.Close()
	}
}

func (p *Peer) acceptLoop() {
	var delay time.Duration
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.shutdownCh:
				return
			default:
			}
			// Out of file descriptors and similar: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.logger.Warn("accept failed", "error", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-p.shutdownCh:
				return
			}
		}
		delay = 0
		p.serveConn(nc)
	}
}

// serveConn registers nc and starts its goroutines, or closes it when the
// node is at its connection limit or shutting down.
func (p *Peer) serveConn(nc net.Conn) {
	p.connsMu.Lock()
	full := len(p.conns) >= p.cfg.MaxConns
	var c *conn
	if !full {
		select {
		case <-p.shutdownCh:
			full = true
		default:
			c = newConn(p, nc)
			p.conns[c] = struct{}{}
		}
	}
	p.connsMu.Unlock()
	if full {
		p.metrics.connsRefused.Inc()
		nc.Close()
		return
	}
	p.metrics.conns.Inc()
	p.metrics.connsTotal.Inc()
	p.goFunc(c.readLoop)
	p.goFunc(c.writeLoop)
}

func (p *Peer) removeConn(c *conn) {
	p.connsMu.Lock()
	delete(p.conns, c)
	p.connsMu.Unlock()
	p.metrics.conns.Dec()
}
