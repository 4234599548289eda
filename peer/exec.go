package peer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/jail/lambda"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// Limits on what one execution may ask the node to store.
const (
	maxExecPuts     = 10000
	maxExecPutBytes = 1 << 30
	maxExecDeps     = 10000
)

// executor runs lambdas: at most `executors` at a time, with up to
// `pipeline` more admitted and preparing their dependencies meanwhile.
type executor struct {
	jail  *jail.Jail
	admit chan struct{} // running + waiting; a send admits, BUSY when full
	run   chan struct{} // running; a send takes an executor
}

func (p *Peer) startExecutor(ctx context.Context) error {
	if p.cfg.Executors == 0 {
		return nil
	}
	jc := *p.cfg.Jail
	if jc.Logger == nil {
		jc.Logger = p.logger.Named("jail")
	}
	if jc.StateDir == "" {
		jc.StateDir = path.Join(p.cfg.DataDir, "jail")
	}
	j, err := jail.New(&jc)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := j.Start(ctx); err != nil {
		return fmt.Errorf("start sandbox: %w", err)
	}
	p.exec = &executor{
		jail:  j,
		admit: make(chan struct{}, p.cfg.Executors+p.cfg.Pipeline),
		run:   make(chan struct{}, p.cfg.Executors),
	}
	return nil
}

func (e *executor) shutdown(ctx context.Context) error {
	return e.jail.Shutdown(ctx)
}

// prepared is an execution whose binary and dependencies are in hand.
type prepared struct {
	bin    *jail.Binary
	spec   jail.Spec
	outs   []wire.Output // raw mode: files to store
	inline map[string][]byte
	stats  wire.ExecStats
}

// execute runs the lambda req names and stores what it writes.
func (p *Peer) execute(ctx context.Context, req *wire.Request, r *reply) {
	if err := p.executeErr(ctx, req, r); err != nil {
		setError(r, err)
		var ke *jail.KillError
		if errors.As(err, &ke) {
			p.metrics.execKills.WithLabelValues(killLabel(ke.Reason)).Inc()
		}
	}
}

func (p *Peer) executeErr(ctx context.Context, req *wire.Request, r *reply) error {
	if p.exec == nil {
		return errorf(wire.StatusUnavailable, "this node runs no lambdas (executors 0)")
	}
	if err := validateExec(req); err != nil {
		return err
	}
	select {
	case p.exec.admit <- struct{}{}:
	default:
		return errorf(wire.StatusBusy, "executor queue full")
	}
	defer func() { <-p.exec.admit }()
	p.metrics.execQueue.Inc()
	queued := true
	defer func() {
		if queued {
			p.metrics.execQueue.Dec()
		}
	}()
	fetchStart := time.Now()
	pr, err := p.prepare(ctx, req)
	if err != nil {
		return err
	}
	waitStart := time.Now()
	pr.stats.FetchMicros = waitStart.Sub(fetchStart).Microseconds()
	select {
	case p.exec.run <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.metrics.execQueue.Dec()
	queued = false
	start := time.Now()
	pr.stats.QueueMicros = start.Sub(waitStart).Microseconds()
	res, err := p.exec.jail.Run(ctx, pr.bin, &pr.spec)
	<-p.exec.run
	pr.stats.RunMicros = time.Since(start).Microseconds()
	var ke *jail.KillError
	if err != nil && !errors.As(err, &ke) && ctx.Err() == nil {
		p.logger.Error("sandbox run failed", "lambda", req.Key, "error", err)
	}
	p.metrics.execBusy.Add(time.Since(start).Seconds())
	p.metrics.execDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return execError(err)
	}
	return p.finishExec(ctx, req, pr, res, r)
}

// execError maps a sandbox error to what the client sees.
func execError(err error) error {
	var ke *jail.KillError
	switch {
	case errors.As(err, &ke):
		return errorf(wire.StatusExecFailed, "%s", ke.Reason)
	case errors.Is(err, jail.ErrNotExecutable):
		return errorf(wire.StatusNotExecutable, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	// Anything else is the sandbox's own trouble; its message may name the
	// node's paths, so the client gets a summary and the log the detail.
	return errorf(wire.StatusExecFailed, "sandbox error (see the node's log)")
}

// killLabel reduces a kill reason to a metric label ("timeout 30s" →
// "timeout").
func killLabel(reason string) string {
	reason = strings.TrimPrefix(reason, "sandbox: ")
	if i := strings.IndexAny(reason, " :"); i > 0 && !strings.HasSuffix(reason, "limit") {
		return reason[:i]
	}
	return reason
}

// validateExec checks an execute request before any work is done.
func validateExec(req *wire.Request) error {
	if err := store.ValidateKey(req.Key); err != nil {
		return err
	}
	if len(req.Deps) > maxExecDeps {
		return errorf(wire.StatusBadRequest, "%d deps; at most %d", len(req.Deps), maxExecDeps)
	}
	var files []string
	for _, d := range req.Deps {
		if err := store.ValidateKey(d.Key); err != nil {
			return fmt.Errorf("dep %q: %w", d.Key, err)
		}
		if d.AsFile {
			if err := validateFileName(depName(d)); err != nil {
				return fmt.Errorf("dep %q: %w", d.Key, err)
			}
			files = append(files, depName(d))
		}
	}
	if err := checkFileClash(files); err != nil {
		return err
	}
	if len(req.Outputs) > 0 && !req.Raw {
		return errorf(wire.StatusBadRequest, "outputs are for raw mode; a runtime-mode lambda returns puts")
	}
	if err := validateEnv(req); err != nil {
		return err
	}
	for _, o := range req.Outputs {
		if err := validateFileName(o.File); err != nil {
			return fmt.Errorf("output %q: %w", o.File, err)
		}
		if err := store.ValidateKey(o.Key); err != nil {
			return fmt.Errorf("output %q: %w", o.File, err)
		}
		if err := store.Perm(outputPerm(o)).Validate(); err != nil {
			return fmt.Errorf("output %q: %w", o.File, err)
		}
	}
	return nil
}

// WorkDirArg, in a raw-mode lambda's args or environment, stands for the
// absolute path of its working directory.
const WorkDirArg = "@CWD@"

// lambdaEnv are the environment variables a raw-mode lambda may be given:
// those that select what a toolchain generates or how many threads it
// uses. Nothing of the node's own environment is ever passed.
var lambdaEnv = map[string]bool{
	"GOOS": true, "GOARCH": true, "GOAMD64": true, "GOARM": true, "GOARM64": true, "GO386": true,
	"GOMIPS": true, "GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true,
	"GOEXPERIMENT": true, "GOFIPS140": true, "GOMAXPROCS": true, "GOGC": true, "GOMEMLIMIT": true,
	"GODEBUG": true, "GOROOT": true, "TZ": true, "LANG": true, "LC_ALL": true, "SOURCE_DATE_EPOCH": true,
}

// maxEnv bounds a raw-mode lambda's environment.
const maxEnv = 64

func validateEnv(req *wire.Request) error {
	if len(req.Env) == 0 {
		return nil
	}
	if !req.Raw {
		return errorf(wire.StatusBadRequest, "env is for raw mode; a runtime-mode lambda gets its args on stdin")
	}
	if len(req.Env) > maxEnv {
		return errorf(wire.StatusBadRequest, "%d env entries; at most %d", len(req.Env), maxEnv)
	}
	seen := make(map[string]bool, len(req.Env))
	for _, kv := range req.Env {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || strings.ContainsRune(kv, 0):
			return errorf(wire.StatusBadRequest, "env entry %q is not NAME=value", kv)
		case !lambdaEnv[name]:
			return errorf(wire.StatusBadRequest, "env %s is not allowed (see docs/lambdas.md)", name)
		case seen[name]:
			return errorf(wire.StatusBadRequest, "env %s given twice", name)
		}
		seen[name] = true
	}
	return nil
}

func depName(d wire.Dep) string {
	if d.Name != "" {
		return d.Name
	}
	return d.Key
}

func outputPerm(o wire.Output) uint8 {
	if o.Perm == 0 {
		return uint8(store.PermR)
	}
	return o.Perm
}

// validateFileName accepts clean relative paths that stay inside the
// working directory.
func validateFileName(name string) error {
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return errorf(wire.StatusBadRequest, "bad file name %q", name)
	case strings.HasPrefix(name, "/"):
		return errorf(wire.StatusBadRequest, "file name %q is absolute", name)
	case path.Clean(name) != name || name == "." || name == ".." || strings.HasPrefix(name, "../"):
		return errorf(wire.StatusBadRequest, "file name %q is not a clean relative path", name)
	}
	return nil
}

// checkFileClash refuses file names that collide: the same name twice, or
// a name that another one needs as a directory ("a" and "a/b").
func checkFileClash(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return errorf(wire.StatusBadRequest, "file name %q given twice", n)
		}
		seen[n] = true
	}
	for _, n := range names {
		for dir := path.Dir(n); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return errorf(wire.StatusBadRequest, "file name %q is also a directory of %q", dir, n)
			}
		}
	}
	return nil
}

// prepare fetches the lambda and its dependencies and builds the spec.
// Values this node masters come from the store in one read transaction;
// the others from the cache of immutable values or, in parallel, from
// their masters.
func (p *Peer) prepare(ctx context.Context, req *wire.Request) (*prepared, error) {
	pr := &prepared{}
	keys := make([]string, 0, len(req.Deps)+1)
	keys = append(keys, req.Key)
	for _, d := range req.Deps {
		keys = append(keys, d.Key)
	}
	vals, err := p.fetch(ctx, keys, req.ReplicaOK, true)
	if err != nil {
		return nil, err
	}
	bin := vals[0]
	if !bin.perm.Executable() {
		return nil, errorf(wire.StatusNotExecutable, "key %q is not executable (perm %s)", req.Key, bin.perm)
	}
	if bin.cached {
		if b, ok := p.exec.jail.CachedBinary(bin.id); ok {
			pr.bin = b
		} else {
			// Evicted from the sandbox's cache since: read it after all.
			again, err := p.fetch(ctx, keys[:1], req.ReplicaOK, false)
			if err != nil {
				return nil, err
			}
			bin = again[0]
		}
	}
	if pr.bin == nil {
		if pr.bin, err = p.loadBinary(bin.id, bin.value); err != nil {
			return nil, err
		}
	}
	pr.inline = make(map[string][]byte)
	for _, f := range vals {
		switch f.source {
		case fromLocal:
			pr.stats.BytesLocal += int64(len(f.value))
		case fromCache:
			pr.stats.BytesCache += int64(len(f.value))
		default:
			pr.stats.BytesRemote += int64(len(f.value))
		}
	}
	rewritten := make(map[string]bool, len(req.Outputs))
	for _, o := range req.Outputs {
		rewritten[o.File] = true
	}
	for i, d := range req.Deps {
		v := vals[i+1].value
		if d.AsFile {
			// A file that is also an output is the tool's to rewrite in
			// place (an archiver appending to its input).
			name := depName(d)
			pr.spec.Files = append(pr.spec.Files, jail.File{Name: name, Data: v, Writable: rewritten[name]})
		} else {
			pr.inline[d.Key] = v
		}
	}
	if err := p.buildSpec(req, pr); err != nil {
		return nil, err
	}
	return pr, nil
}

// fetched is a value an execution needs, with its permissions and an id
// that changes whenever the value does (for the sandbox's binary cache).
type fetched struct {
	value  []byte
	perm   store.Perm
	id     string
	source int // fromLocal, fromCache or fromRemote
	// cached: value was not read because the sandbox already holds the
	// binary with this id.
	cached bool
}

// Where a fetched value came from.
const (
	fromLocal = iota
	fromCache
	fromRemote
)

// fetch gets keys for an execution, in order; a missing one is NOT_FOUND
// naming it ("lambda" for the first, "dep" for the rest).
func (p *Peer) fetch(ctx context.Context, keys []string, replicaOK, skipCachedBinary bool) ([]fetched, error) {
	out := make([]fetched, len(keys))
	var remote []int
	err := p.store.View(func(tx *store.ReadTx) error {
		// The table is read inside the snapshot: a slot dropped after a
		// move must not read as a missing key.
		t := p.cl.table.Load()
		for i, k := range keys {
			slot := int(slots.KeySlot(k))
			owner, _ := t.Owner(slot)
			if owner != p.id && !(replicaOK && p.replicaServes(t, slot)) {
				remote = append(remote, i)
				continue
			}
			v, perm, off, err := tx.Info(k)
			if errors.Is(err, store.ErrNotFound) && owner != p.id {
				// A replica that has not applied the key yet: ask its master.
				remote = append(remote, i)
				continue
			}
			if err != nil {
				return fetchError(i, k, err)
			}
			id := k + "@" + strconv.FormatUint(off, 10)
			if i == 0 && skipCachedBinary && p.binaryCached(id) {
				// The sandbox holds this very binary: no need to copy
				// it (a compiler is tens of MB) for every run.
				out[i] = fetched{perm: perm, id: id, cached: true}
				continue
			}
			out[i] = fetched{value: bytes.Clone(v), perm: perm, id: id}
			p.metrics.depBytes.WithLabelValues("local").Add(float64(len(v)))
		}
		return nil
	})
	if err != nil || len(remote) == 0 {
		return out, err
	}
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for _, i := range remote {
		wg.Go(func() { out[i], errs[i] = p.fetchRemote(ctx, keys[i]) })
	}
	wg.Wait()
	for _, i := range remote {
		if errs[i] != nil {
			return nil, fetchError(i, keys[i], errs[i])
		}
	}
	return out, nil
}

func fetchError(i int, key string, err error) error {
	what := "dep"
	if i == 0 {
		what = "lambda"
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, client.ErrNotFound) {
		return errorf(wire.StatusNotFound, "%s %q", what, key)
	}
	return fmt.Errorf("%s %q: %w", what, key, err)
}

// fetchRemote gets a value mastered elsewhere: from the cache if it is
// there, else from its master, caching it if it is immutable. Mutable
// values are never cached.
func (p *Peer) fetchRemote(ctx context.Context, key string) (fetched, error) {
	if v, perm, id, ok := p.cl.cache.GetTagged(key); ok {
		p.metrics.depBytes.WithLabelValues("cache").Add(float64(len(v)))
		return fetched{value: v, perm: perm, id: id, source: fromCache}, nil
	}
	// Executions that need the same value at the same time share one
	// fetch (a toolchain that every thunk of a build reads). The shared
	// fetch must not end with the first caller's request.
	ch := p.cl.fetches.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(p.stopCtx, 2*time.Minute)
		defer cancel()
		return p.fetchOne(fctx, key)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return fetched{}, r.Err
		}
		return r.Val.(fetched), nil
	case <-ctx.Done():
		return fetched{}, ctx.Err()
	}
}

// fetchOne fetches key from its master, caching it if it is immutable.
func (p *Peer) fetchOne(ctx context.Context, key string) (fetched, error) {
	// An eviction that arrives while this fetch is under way may be about
	// the value it brings: then it is used once but not cached.
	since := p.cl.cache.Removals()
	pc, err := p.peerClient(ctx)
	if err != nil {
		return fetched{}, err
	}
	it, err := pc.GetItem(ctx, key)
	if err != nil {
		return fetched{}, err
	}
	perm := store.Perm(it.Perm)
	id := contentID(key, it.Value)
	if !perm.Writable() {
		p.cl.cache.AddTagged(key, it.Value, perm, id, since, true)
	}
	p.metrics.depBytes.WithLabelValues("remote").Add(float64(len(it.Value)))
	return fetched{value: it.Value, perm: perm, id: id, source: fromRemote}, nil
}

// contentID names a value fetched from another node by its content, so
// the sandbox never runs a stale binary after a key was replaced.
func contentID(key string, v []byte) string {
	sum := sha256.Sum256(v)
	return key + "#" + hex.EncodeToString(sum[:12])
}

// binaryCached reports whether the sandbox holds the binary named id.
func (p *Peer) binaryCached(id string) bool {
	_, ok := p.exec.jail.CachedBinary(id)
	return ok
}

func (p *Peer) loadBinary(id string, data []byte) (*jail.Binary, error) {
	if b, ok := p.exec.jail.CachedBinary(id); ok {
		return b, nil
	}
	b, err := p.exec.jail.LoadBinary(id, data)
	if err != nil {
		return nil, execError(err)
	}
	return b, nil
}

// buildSpec fills in argv, stdin and outputs for the mode asked for.
func (p *Peer) buildSpec(req *wire.Request, pr *prepared) error {
	pr.spec.Args = req.Args
	pr.spec.Limits.Wall = req.Timeout
	if l := req.Limits; l != nil {
		pr.spec.Limits.CPU = time.Duration(l.CPUMillis) * time.Millisecond
		pr.spec.Limits.Memory = l.Memory
		pr.spec.Limits.Procs = l.Procs
		pr.spec.Limits.FileSize = l.FileSize
		pr.spec.Limits.OpenFiles = l.OpenFiles
		pr.spec.Limits.Stdout = l.Stdout
	}
	if req.Raw {
		pr.spec.Argv0 = req.Key
		pr.spec.Env = req.Env
		pr.spec.WorkDirArg = WorkDirArg
		for _, o := range req.Outputs {
			pr.spec.Outputs = append(pr.spec.Outputs, o.File)
		}
		pr.outs = req.Outputs
		if len(pr.inline) > 0 {
			return errorf(wire.StatusBadRequest, "raw mode has no stdin: pass deps as files")
		}
		return nil
	}
	args := &lambda.Args{Args: req.Args, Values: pr.inline, Files: make(map[string]string)}
	for _, d := range req.Deps {
		if d.AsFile {
			args.Files[d.Key] = depName(d)
		}
	}
	var buf bytes.Buffer
	if err := lambda.EncodeArgs(&buf, args); err != nil {
		return fmt.Errorf("encode ExecArgs: %w", err)
	}
	pr.spec.Stdin = buf.Bytes()
	return nil
}

// finishExec turns the lambda's result into puts and the response, and
// stores the puts before answering.
func (p *Peer) finishExec(ctx context.Context, req *wire.Request, pr *prepared, res *jail.Result, r *reply) error {
	var puts []lambda.Put
	if req.Raw {
		r.resp.ReturnCode = res.ExitCode
		r.resp.Output = nonNil(res.Stdout)
		if len(res.Stderr) > 0 {
			r.resp.Stderr = res.Stderr
		}
		for _, o := range pr.outs {
			data, ok := res.Outputs[o.File]
			if !ok {
				return errorf(wire.StatusExecFailed, "output %q: the lambda did not leave it (exit status %d%s)", o.File, res.ExitCode, stderrTail(res.Stderr))
			}
			puts = append(puts, lambda.Put{Key: o.Key, Value: data, Perm: lambda.Perm(outputPerm(o))})
		}
	} else {
		resp, err := lambda.UnmarshalResponse(res.Stdout)
		if err != nil {
			return errorf(wire.StatusExecFailed, "bad response: %v", err)
		}
		r.resp.ReturnCode = resp.ReturnCode
		r.resp.Output = nonNil(resp.Output)
		puts = resp.Puts
	}
	storeStart := time.Now()
	if err := p.storePuts(ctx, puts); err != nil {
		return err
	}
	pr.stats.StoreMicros = time.Since(storeStart).Microseconds()
	r.resp.Exec = &pr.stats
	r.resp.Puts = make([]string, len(puts))
	for i, pt := range puts {
		r.resp.Puts[i] = pt.Key
	}
	r.resp.ExecNode = p.id
	return nil
}

// stderrTail quotes the end of a lambda's stderr for an error message.
func stderrTail(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return fmt.Sprintf("; stderr: %q", b)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// storePuts checks the lambda's puts against the limits and stores them
// on the masters of their slots. Those this node masters go in one
// transaction, all or nothing; the others go to their masters. A put is
// refused as a whole only where it is stored: across nodes, a failed
// execution may leave the puts of other nodes stored (at-least-once).
func (p *Peer) storePuts(ctx context.Context, puts []lambda.Put) error {
	if len(puts) > maxExecPuts {
		return errorf(wire.StatusExecFailed, "%d puts; at most %d", len(puts), maxExecPuts)
	}
	var total int64
	var local []store.Item
	var remote []lambda.Put
	var gated []int
	defer func() {
		for _, s := range gated {
			p.cl.gates.exit(s)
		}
	}()
	t := p.cl.table.Load()
	for _, pt := range puts {
		total += int64(len(pt.Value))
		slot := int(slots.KeySlot(pt.Key))
		if owner, _ := t.Owner(slot); owner != p.id {
			remote = append(remote, pt)
			continue
		}
		if !p.cl.gates.enter(slot) {
			return errorf(wire.StatusTryAgain, "slot %d is moving to another node", slot)
		}
		gated = append(gated, slot)
		if owner, _ := p.cl.table.Load().Owner(slot); owner != p.id || p.cl.gates.held(slot) {
			return errorf(wire.StatusTryAgain, "slot %d moved while the lambda ran", slot)
		}
		if err := p.writable(); err != nil {
			return err
		}
		local = append(local, store.Item{Key: pt.Key, Value: pt.Value, Perm: store.Perm(pt.Perm)})
	}
	if total > maxExecPutBytes {
		return errorf(wire.StatusExecFailed, "puts total %d bytes; at most %d", total, maxExecPutBytes)
	}
	if _, err := p.store.PutMany(ctx, local); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrClosed) {
			return err
		}
		// A lambda whose puts break the rules has failed; nothing is stored.
		return errorf(wire.StatusExecFailed, "puts refused, none stored: %v", err)
	}
	return p.putRemote(ctx, remote)
}

// putRemote stores puts on the other nodes that master them.
func (p *Peer) putRemote(ctx context.Context, puts []lambda.Put) error {
	if len(puts) == 0 {
		return nil
	}
	pc, err := p.peerClient(ctx)
	if err != nil {
		return err
	}
	futs := make([]*client.Future[uint64], len(puts))
	for i, pt := range puts {
		futs[i] = pc.PutAsync(ctx, pt.Key, pt.Value, client.WithPerm(client.Perm(pt.Perm)))
	}
	for i, f := range futs {
		if _, err := f.Wait(); err != nil {
			var se *client.StatusError
			if errors.As(err, &se) && (se.Status == wire.StatusReadOnly || se.Status == wire.StatusBadRequest) {
				return errorf(wire.StatusExecFailed, "put %q refused: %v", puts[i].Key, err)
			}
			return fmt.Errorf("put %q: %w", puts[i].Key, err)
		}
	}
	return nil
}
