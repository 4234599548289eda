package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// Graph is a job described as thunks: executions whose inputs are keys and
// whose outputs are keys. A thunk that reads a key another thunk writes
// runs after it; the rest may run in any order and in parallel. Its JSON
// form is the file `lkv graph run` reads (docs/graphs.md).
type Graph struct {
	Thunks []Thunk `json:"thunks"`
}

// Thunk is one execution of a graph.
type Thunk struct {
	// ID names the thunk in progress reports and summaries; unique in the
	// graph.
	ID string `json:"id"`
	// Lambda is the key of the executable to run.
	Lambda string `json:"lambda"`
	// Args and Env as in [ExecOptions]; Env is for raw mode only.
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	// Raw runs an unmodified binary (argv, stdout, exit status) instead of
	// the lambda runtime.
	Raw bool `json:"raw,omitempty"`
	// Deps are the keys the thunk reads.
	Deps []GraphDep `json:"deps,omitempty"`
	// Outputs are, in raw mode, files stored as keys after the thunk
	// exits. Runtime-mode thunks name the keys they put in Puts instead,
	// so that the graph knows who writes what.
	Outputs []GraphOutput `json:"outputs,omitempty"`
	Puts    []string      `json:"puts,omitempty"`
	// Timeout is the wall-clock limit of one attempt; zero means the
	// node's default.
	Timeout Duration `json:"timeout,omitempty"`
	// Limits overrides the node's sandbox limits for this thunk.
	Limits *ExecLimits `json:"limits,omitempty"`
}

// GraphDep is a key a thunk reads, inline or (AsFile) as a file named
// Name (default: the key) in its working directory.
type GraphDep struct {
	Key    string `json:"key"`
	AsFile bool   `json:"as_file,omitempty"`
	Name   string `json:"name,omitempty"`
}

// GraphOutput is a file a raw-mode thunk leaves, stored as Key with Perm
// ("r", "rx", "rw"; default "r": immutable, so a retry is harmless).
type GraphOutput struct {
	File string `json:"file"`
	Key  string `json:"key"`
	Perm string `json:"perm,omitempty"`
}

// Duration is a time.Duration that reads and writes as a Go duration
// string ("30s") in JSON.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration: want a string such as \"30s\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
