package client

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GraphProgress is a snapshot of a running graph, as GraphOptions.Progress
// receives it: a value, safe to keep. Total = Done + Running + Queued +
// Waiting.
type GraphProgress struct {
	Total   int // thunks in the graph
	Done    int // finished
	Running int // sent to a node, not answered yet
	Queued  int // ready (their inputs exist), waiting for a free slot on a node
	Waiting int // waiting for other thunks to write their inputs
	Retries int // failed attempts so far, each retried
	Elapsed time.Duration
}

// GraphStats adds up where executions spent their time, as the nodes
// measured it, and where their dependencies' bytes came from. Durations
// are written to JSON in nanoseconds.
type GraphStats struct {
	Queue time.Duration `json:"queue_ns"` // waiting for an executor on the node
	Fetch time.Duration `json:"fetch_ns"` // fetching dependencies
	Run   time.Duration `json:"run_ns"`   // the lambda's process, start to exit
	Store time.Duration `json:"store_ns"` // storing its outputs
	// KV is Fetch + Store: the time spent moving state in and out of the
	// store.
	KV          time.Duration `json:"kv_ns"`
	BytesLocal  int64         `json:"bytes_local"`  // deps read from the node's own store
	BytesCache  int64         `json:"bytes_cache"`  // deps read from its cache
	BytesRemote int64         `json:"bytes_remote"` // deps fetched from other nodes
}

// Sum fills Totals and, per node, Nodes from PerThunk. Nodes already
// listed keep their other fields (MaxInFlight, Failures); the others are
// added. Nodes ends sorted by id.
func (rep *GraphReport) Sum() {
	rep.Totals = GraphStats{}
	byID := make(map[string]*NodeReport, len(rep.Nodes))
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		n.Thunks, n.GraphStats = 0, GraphStats{}
		byID[n.ID] = n
	}
	var added []*NodeReport
	for _, t := range rep.PerThunk {
		rep.Totals.add(t.GraphStats)
		n, ok := byID[t.Node]
		if !ok {
			n = &NodeReport{ID: t.Node}
			byID[t.Node] = n
			added = append(added, n)
		}
		n.Thunks++
		n.add(t.GraphStats)
	}
	for _, n := range added {
		rep.Nodes = append(rep.Nodes, *n)
	}
	slices.SortFunc(rep.Nodes, func(a, b NodeReport) int { return strings.Compare(a.ID, b.ID) })
}

func (s *GraphStats) add(o GraphStats) {
	s.Queue += o.Queue
	s.Fetch += o.Fetch
	s.Run += o.Run
	s.Store += o.Store
	s.KV += o.KV
	s.BytesLocal += o.BytesLocal
	s.BytesCache += o.BytesCache
	s.BytesRemote += o.BytesRemote
}

func statsOf(e *ExecStats) GraphStats {
	if e == nil {
		return GraphStats{}
	}
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	s := GraphStats{
		Queue: us(e.QueueMicros), Fetch: us(e.FetchMicros), Run: us(e.RunMicros), Store: us(e.StoreMicros),
		BytesLocal: e.BytesLocal, BytesCache: e.BytesCache, BytesRemote: e.BytesRemote,
	}
	s.KV = s.Fetch + s.Store
	return s
}

// ThunkReport is what became of one thunk. Its stats are those of the
// attempt that succeeded.
type ThunkReport struct {
	ID       string `json:"id"`
	Node     string `json:"node,omitempty"` // id of the node that ran it
	Attempts int    `json:"attempts"`       // executions sent, the successful one included
	// Start and End are when the client sent the successful attempt and
	// got its answer, since the run began.
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
	GraphStats
	// Errors are the failed attempts' errors, oldest first.
	Errors []string `json:"errors,omitempty"`
}

// NodeReport is one node's share of a run.
type NodeReport struct {
	ID          string `json:"id"`
	Thunks      int    `json:"thunks"`        // thunks it ran to completion
	Failures    int    `json:"failures"`      // attempts that failed there
	MaxInFlight int    `json:"max_in_flight"` // most executions of the run at once
	GraphStats
}

// GraphReport is the summary of a run, RunGraph's to fill and the
// caller's to keep. On error it covers what finished.
type GraphReport struct {
	Wall     time.Duration `json:"wall_ns"`  // from the start of RunGraph to its end
	Thunks   int           `json:"thunks"`   // in the graph
	Done     int           `json:"done"`     // finished
	Attempts int           `json:"attempts"` // executions sent
	Retries  int           `json:"retries"`  // failed attempts that were retried
	Totals   GraphStats    `json:"totals"`   // over the finished thunks
	Nodes    []NodeReport  `json:"nodes"`    // every node the run used, by id
	// PerThunk lists the finished thunks in the order they finished.
	PerThunk []ThunkReport `json:"per_thunk"`
}

// ThunkError is a thunk that made the run fail: its lambda returned a
// non-zero code (Err is nil), or every attempt failed (Err is the last
// error).
type ThunkError struct {
	ID         string
	Node       string // id of the node of the last attempt
	Attempts   int
	ReturnCode int
	Tail       string // the end of the lambda's stderr (raw mode) or output
	Err        error
}

// Error names the thunk, the node and what went wrong.
func (e *ThunkError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("thunk %q: %d attempts failed, the last on %s: %v", e.ID, e.Attempts, e.Node, e.Err)
	}
	msg := fmt.Sprintf("thunk %q on %s: return code %d", e.ID, e.Node, e.ReturnCode)
	if e.Tail != "" {
		msg += ": " + e.Tail
	}
	return msg
}

// Unwrap returns the last attempt's error.
func (e *ThunkError) Unwrap() error { return e.Err }

// tailOf returns the last bytes of b, at most n, on one line.
func tailOf(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	return strings.NewReplacer("\r", "", "\n", "; ").Replace(s)
}

// leftNoOutput matches the node's answer to a raw-mode lambda that exited
// without leaving a declared output (peer/exec.go).
var leftNoOutput = regexp.MustCompile(`the lambda did not leave it \(exit status (-?\d+)(?:; stderr: ("(?:[^"\\]|\\.)*"))?\)`)

// exitStatusOf recognises a raw-mode lambda that ran and exited non-zero
// without writing its outputs, which the node answers as EXEC_FAILED: it
// is the lambda's failure, not the node's, and fails the run like a
// non-zero return code.
func exitStatusOf(err error) (code int, stderr string, ok bool) {
	var se *StatusError
	if !errors.As(err, &se) || !errors.Is(err, ErrExecFailed) {
		return 0, "", false
	}
	m := leftNoOutput.FindStringSubmatch(se.Message)
	if m == nil {
		return 0, "", false
	}
	code, err = strconv.Atoi(m[1])
	if err != nil || code == 0 {
		return 0, "", false
	}
	if m[2] != "" {
		stderr, _ = strconv.Unquote(m[2])
	}
	return code, stderr, true
}

// retryable reports whether another attempt may cure err. The rest are
// about the graph or the data and would fail again.
func retryable(err error) bool {
	for _, e := range []error{ErrNotFound, ErrNotExecutable, ErrBadRequest, ErrReadOnly, ErrUnauthorized, ErrTooLarge, ErrClosed, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}
