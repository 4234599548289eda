package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
)

// Bench defaults. Executions are processes, so exec runs fewer of them
// with fewer clients unless told otherwise.
const (
	benchClients      = 50
	benchRequests     = 100000
	benchExecClients  = 4
	benchExecRequests = 10000
	benchPrefillDepth = 64 // puts in flight per client while pre-filling
)

// benchFlags are lkv bench's options.
type benchFlags struct {
	clients   int
	pipeline  int
	valueSize int
	requests  int
	keyspace  int
	asJSON    bool
	lambda    string
	// minReplicas makes each put wait for that many replicas.
	minReplicas int
}

// benchResult is one op's figures; its JSON is one line of --json.
type benchResult struct {
	Op        string  `json:"op"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	P999      float64 `json:"p999_ms"`
	Errors    int     `json:"errors"`
	Requests  int     `json:"requests"`
	Clients   int     `json:"clients"`
	Pipeline  int     `json:"pipeline"`
	ValueSize int     `json:"value_size,omitempty"`
	Keyspace  int     `json:"keyspace,omitempty"`
	Busy      int     `json:"busy_retries,omitempty"`
	Seconds   float64 `json:"seconds"`

	firstErr error
}

func (a *app) benchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [get|put|exec]... [flags]",
		Short: "Measure throughput and latency, in the manner of redis-benchmark",
		Long: `Measure requests per second and p50/p99/p999 latency of get, put or exec
(default: get and put), in the manner of redis-benchmark.

Each of --clients clients has its own connection and keeps --pipeline
requests in flight; keys are random in a keyspace of --keyspace keys
("key:000000000042"). get first fills the whole keyspace. Latency runs from
sending a request to seeing its answer. exec runs --lambda, or by default a
trivial lambda (about 250 bytes, read stdin, answer, exit) that it uploads
as "` + benchLambdaKey + `"; it defaults to 4 clients and 10000 requests and
retries answers of BUSY (counted as busy_retries).

One line per op, or with --json one JSON object per op with the fields op,
ops_per_sec, p50_ms, p99_ms, p999_ms, errors (and requests, clients,
pipeline, value_size, keyspace, seconds).`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, op := range args {
				if op != "get" && op != "put" && op != "exec" {
					return &usageError{err: fmt.Errorf("bench: unknown op %q (want get, put or exec)", op), cmd: cmd}
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"get", "put"}
			}
			return a.runBench(cmd, args, f)
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&f.clients, "clients", "c", benchClients, "parallel clients, each with its own connection (exec: 4)")
	fs.IntVarP(&f.pipeline, "pipeline", "P", 1, "requests each client keeps in flight")
	fs.IntVarP(&f.valueSize, "value-size", "d", 100, "bytes per value")
	fs.IntVarP(&f.requests, "requests", "n", benchRequests, "requests in all, per op (exec: 10000)")
	fs.IntVarP(&f.keyspace, "keyspace", "r", 100000, "number of distinct random keys")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per op")
	fs.IntVar(&f.minReplicas, "min-replicas", 0, "put: wait until this many replicas applied each write")
	fs.StringVar(&f.lambda, "lambda", "", "key of the lambda exec runs (default: a trivial one it uploads)")
	return cmd
}

func (f *benchFlags) validate() error {
	switch {
	case f.clients < 1:
		return fmt.Errorf("--clients %d: want at least 1", f.clients)
	case f.pipeline < 1:
		return fmt.Errorf("--pipeline %d: want at least 1", f.pipeline)
	case f.valueSize < 0:
		return fmt.Errorf("--value-size %d: must not be negative", f.valueSize)
	case f.requests < 1:
		return fmt.Errorf("--requests %d: want at least 1", f.requests)
	case f.keyspace < 1:
		return fmt.Errorf("--keyspace %d: want at least 1", f.keyspace)
	case f.minReplicas < 0:
		return fmt.Errorf("--min-replicas %d: must not be negative", f.minReplicas)
	}
	return nil
}

func (a *app) runBench(cmd *cobra.Command, ops []string, f benchFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	// The generator shares the machine with the node: collect its
	// short-lived garbage less often.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	ctx := cmd.Context()
	value := []byte(strings.Repeat("x", f.valueSize))
	var pool []*client.Client
	defer func() {
		for _, c := range pool {
			c.Close()
		}
	}()
	prefilled := false
	for _, op := range ops {
		of := f
		if op == "exec" {
			if !cmd.Flags().Changed("clients") {
				of.clients = benchExecClients
			}
			if !cmd.Flags().Changed("requests") {
				of.requests = benchExecRequests
			}
		}
		var err error
		if pool, err = a.growPool(ctx, pool, of.clients); err != nil {
			return err
		}
		res, err := a.benchOne(ctx, op, pool[:of.clients], &of, value, &prefilled)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.printBench(res, f.asJSON); err != nil {
			return err
		}
	}
	return nil
}

// benchOne prepares and measures one op. get fills the keyspace first,
// once per run; exec uploads its lambda.
func (a *app) benchOne(ctx context.Context, op string, clients []*client.Client, f *benchFlags, value []byte, prefilled *bool) (*benchResult, error) {
	var res *benchResult
	switch op {
	case "get":
		if !*prefilled {
			if err := prefill(ctx, clients, f.keyspace, value); err != nil {
				return nil, fmt.Errorf("bench: fill the keyspace: %w", err)
			}
			*prefilled = true
		}
		res = benchOp(ctx, clients, f, func(b *client.Batch, _ *client.Client, key string) *client.Future[[]byte] {
			return b.Get(key)
		})
	case "put":
		res = benchOp(ctx, clients, f, func(b *client.Batch, _ *client.Client, key string) *client.Future[uint64] {
			return b.Put(key, value, client.WithMinReplicas(f.minReplicas))
		})
	case "exec":
		key, err := a.benchLambda(ctx, clients[0], f.lambda)
		if err != nil {
			return nil, err
		}
		res = benchOp(ctx, clients, f, func(_ *client.Batch, c *client.Client, _ string) *client.Future[*client.ExecResult] {
			return c.ExecAsync(ctx, key, client.ExecOptions{})
		})
		res.ValueSize, res.Keyspace = 0, 0
	}
	res.Op = op
	return res, nil
}

// growPool dials clients until pool has n, each with its own connection.
func (a *app) growPool(ctx context.Context, pool []*client.Client, n int) ([]*client.Client, error) {
	cfg, err := a.global.clientConfig()
	if err != nil {
		return pool, err
	}
	for len(pool) < n {
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if a.global.timeout > 0 {
			dctx, cancel = context.WithTimeout(ctx, a.global.timeout)
		}
		c, err := client.Dial(dctx, cfg)
		cancel()
		if err != nil {
			return pool, err
		}
		pool = append(pool, c)
	}
	return pool, nil
}

// benchLambda returns the key of the lambda to run, uploading the trivial
// one when name is blank.
func (a *app) benchLambda(ctx context.Context, c *client.Client, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	// The same bytes and perm every time, so repeating the put succeeds.
	err := c.Put(ctx, benchLambdaKey, noopLambda(), client.WithPerm(client.PermRX))
	if err != nil {
		return "", fmt.Errorf("bench: upload the trivial lambda: %w", &keyError{key: benchLambdaKey, err: err})
	}
	return benchLambdaKey, nil
}

// prefill stores every key of the keyspace, pipelined on all clients.
func prefill(ctx context.Context, clients []*client.Client, keyspace int, value []byte) error {
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for w, c := range clients {
		wg.Go(func() {
			errs[w] = prefillWorker(ctx, c, w, len(clients), keyspace, value)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prefillWorker puts keys w, w+stride, ... with up to benchPrefillDepth in
// flight.
func prefillWorker(ctx context.Context, c *client.Client, w, stride, keyspace int, value []byte) error {
	var ring [benchPrefillDepth]*client.Future[uint64]
	var kb keyBuf
	sent, done := 0, 0
	next := w
	for {
		for sent-done < len(ring) && next < keyspace {
			ring[sent%len(ring)] = c.PutAsync(ctx, kb.key(next), value)
			sent++
			next += stride
		}
		if done == sent {
			return nil
		}
		if _, err := ring[done%len(ring)].Wait(); err != nil {
			return err
		}
		ring[done%len(ring)] = nil
		done++
	}
}

// keyBuf formats benchmark keys like redis-benchmark's "key:000000000042".
type keyBuf [16]byte

func (b *keyBuf) key(n int) string {
	copy(b[:], "key:")
	for i := len(b) - 1; i >= 4; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// benchOp runs f.requests requests spread over the clients, each client in
// one goroutine keeping f.pipeline in flight, and measures them. Latency
// samples go into one preallocated slice, sorted at the end.
func benchOp[T any](ctx context.Context, clients []*client.Client, f *benchFlags, issue issueFunc[T]) *benchResult {
	lat := make([]time.Duration, f.requests)
	stats := make([]workerStats, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	off := 0
	for w, c := range clients {
		share := f.requests / len(clients)
		if w < f.requests%len(clients) {
			share++
		}
		samples := lat[off : off+share]
		off += share
		wg.Go(func() {
			stats[w] = benchWorker(ctx, c, samples, f.pipeline, f.keyspace, uint64(w), issue)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &benchResult{
		OpsPerSec: round(float64(f.requests)/elapsed.Seconds(), 2),
		Requests:  f.requests, Clients: len(clients), Pipeline: f.pipeline,
		ValueSize: f.valueSize, Keyspace: f.keyspace, Seconds: round(elapsed.Seconds(), 3),
	}
	for _, s := range stats {
		res.Errors += s.errors
		res.Busy += s.busy
		if res.firstErr == nil {
			res.firstErr = s.firstErr
		}
	}
	slices.Sort(lat)
	res.P50, res.P99, res.P999 = percentileMs(lat, 0.50), percentileMs(lat, 0.99), percentileMs(lat, 0.999)
	return res
}

// workerStats are one worker's counts.
type workerStats struct {
	errors   int
	busy     int
	firstErr error
}

// maxBusyRetries bounds how often one request is resent after BUSY.
const maxBusyRetries = 10000

// issueFunc adds one request to b (or, for ops a Batch does not carry,
// starts it on c at once) and returns its future.
type issueFunc[T any] func(b *client.Batch, c *client.Client, key string) *client.Future[T]

// benchWorker sends len(lat) requests on c in rounds, as redis-benchmark
// -P does: depth requests written together, then every answer awaited,
// then the next round. Each request's latency runs from its round's send
// to its answer.
func benchWorker[T any](ctx context.Context, c *client.Client, lat []time.Duration, depth, keyspace int, seed uint64, issue issueFunc[T]) workerStats {
	var st workerStats
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	var kb keyBuf
	b := c.Batch(ctx)
	round := make([]*client.Future[T], 0, depth)
	for done := 0; done < len(lat); {
		n := min(depth, len(lat)-done)
		round = round[:0]
		start := time.Now()
		for range n {
			round = append(round, issue(b, c, kb.key(rng.IntN(keyspace))))
		}
		b.Send()
		for _, f := range round {
			_, err := f.Wait()
			for retries := 0; errors.Is(err, client.ErrBusy) && retries < maxBusyRetries && ctx.Err() == nil; retries++ {
				// The node's execution queue is full: back off a little
				// and resend, keeping the round's start time.
				st.busy++
				time.Sleep(200 * time.Microsecond)
				_, err = issue(nil, c, kb.key(rng.IntN(keyspace))).Wait()
			}
			lat[done] = time.Since(start)
			done++
			if err != nil {
				st.errors++
				if st.firstErr == nil {
					st.firstErr = err
				}
			}
		}
	}
	return st
}

// percentileMs returns the nearest-rank q-quantile of sorted, in ms.
func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return round(float64(sorted[i])/float64(time.Millisecond), 3)
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// printBench prints one op's line (or JSON object), and the first error
// on stderr when there were errors.
func (a *app) printBench(r *benchResult, asJSON bool) error {
	if r.firstErr != nil {
		fmt.Fprintf(a.stderr, "lkv bench: %s: %d errors; the first: %s\n", r.Op, r.Errors, oneLine(describe(r.firstErr)))
	}
	if asJSON {
		return writeJSONLine(a.stdout, r)
	}
	_, err := fmt.Fprintf(a.stdout, "%s: %.2f requests per second, p50=%.3f msec p99=%.3f msec p999=%.3f msec (errors: %d)\n",
		strings.ToUpper(r.Op), r.OpsPerSec, r.P50, r.P99, r.P999, r.Errors)
	return err
}
