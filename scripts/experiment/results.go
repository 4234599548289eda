package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// Workloads and layouts.
const (
	workSynthetic = "synthetic"
	workGobuild   = "gobuild"

	layoutColocated     = "colocated"
	layoutDisaggregated = "disaggregated"
)

// Figures a run belongs to: the layout comparison (4–7), placement (8),
// cache size (9) and pipelining depth (10).
const (
	figLayout    = "layout"
	figPlacement = "placement"
	figCache     = "cache"
	figPipeline  = "pipeline"
)

// spec is one configuration to measure.
type spec struct {
	Figure    string `json:"figure"`
	Workload  string `json:"workload"`
	Layout    string `json:"layout"`
	Nodes     int    `json:"nodes"`     // storage nodes; as many compute nodes when disaggregated
	Placement string `json:"placement"` // a client placement name, or "co-located"
	// CacheBytes is each executing node's cache; -1 means the layout's
	// default (256 MiB co-located, none on disaggregated compute nodes).
	CacheBytes int64 `json:"cache_bytes"`
	// Pipeline is executions in flight per node; 0 means the node's
	// capacity (executors + its pipeline).
	Pipeline int `json:"pipeline"`
}

// String names the configuration in logs.
func (s spec) String() string {
	out := fmt.Sprintf("%s/%s %s N=%d %s", s.Figure, s.Workload, s.Layout, s.Nodes, s.Placement)
	if s.CacheBytes >= 0 {
		out += " cache=" + sizeString(s.CacheBytes)
	}
	if s.Pipeline > 0 {
		out += fmt.Sprintf(" pipeline=%d", s.Pipeline)
	}
	return out
}

// run is one measured configuration.
type run struct {
	spec
	LabUp  time.Duration `json:"lab_up_ns"` // lkv lab up until formed
	Upload time.Duration `json:"upload_ns"` // storing the workload's inputs
	Plan   time.Duration `json:"plan_ns"`   // gobuild: go build -n and translation
	// Load is the 1-minute load average when the run began: other work on
	// the two cores skews every figure.
	Load float64 `json:"load"`
	// AgentCPU is the CPU time the agents used (storing, fetching,
	// serving, sandboxing), LambdaCPU that of the lambdas they ran.
	AgentCPU  time.Duration `json:"agent_cpu_ns,omitempty"`
	LambdaCPU time.Duration `json:"lambda_cpu_ns,omitempty"`
	// NetBytes is what the nodes sent over their links during the run
	// (zero on loopback). The reports' remote bytes count a fetch that
	// several executions shared once per execution; this counts it once.
	NetBytes int64               `json:"net_bytes,omitempty"`
	Error    string              `json:"error,omitempty"`
	Report   *client.GraphReport `json:"report,omitempty"`
}

// kvPerThunk is the mean fetch + store time of a finished thunk.
func (r *run) kvPerThunk() time.Duration {
	if r.Report == nil || r.Report.Done == 0 {
		return 0
	}
	return r.Report.Totals.KV / time.Duration(r.Report.Done)
}

// perThunk is the mean of one stat over the finished thunks.
func (r *run) perThunk(f func(*client.GraphStats) time.Duration) time.Duration {
	if r.Report == nil || r.Report.Done == 0 {
		return 0
	}
	return f(&r.Report.Totals) / time.Duration(r.Report.Done)
}

// ok reports whether the run finished every thunk.
func (r *run) ok() bool {
	return r.Error == "" && r.Report != nil && r.Report.Done == r.Report.Thunks
}

// results is everything one invocation measured, kept as JSON so that the
// tables and plots can be made again without rerunning.
type results struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Command   string    `json:"command"`
	Commit    string    `json:"commit"`
	Host      string    `json:"host"`
	Quick     bool      `json:"quick"`
	RTT       string    `json:"rtt"`
	Bandwidth string    `json:"bandwidth"`
	Executors int       `json:"executors"`
	Synthetic string    `json:"synthetic"` // the lkv graph gen flags
	// LocalGoBuild are wall times of a cold local go build -a -p 2 std.
	LocalGoBuild []time.Duration `json:"local_go_build_ns,omitempty"`
	Runs         []run           `json:"runs"`
}

func loadResults(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// save writes the results atomically, so a crash leaves the last copy.
func (r *results) save(path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// replace drops the runs with the same configuration as one of runs and
// adds runs, keeping the rest: a partial rerun updates only what it
// measured.
func (r *results) replace(runs []run) {
	var kept []run
	for _, x := range r.Runs {
		if !slices.ContainsFunc(runs, func(n run) bool { return n.spec == x.spec }) {
			kept = append(kept, x)
		}
	}
	r.Runs = append(kept, runs...)
}

// loadAvg is the 1-minute load average, or 0 if unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// find returns the runs of a figure that match the filter.
func (r *results) find(fig string, keep func(*run) bool) []*run {
	var out []*run
	for i := range r.Runs {
		x := &r.Runs[i]
		if x.Figure == fig && (keep == nil || keep(x)) {
			out = append(out, x)
		}
	}
	return out
}

// sizeString writes a byte count the way the flags take it.
func sizeString(n int64) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprint(n)
}
