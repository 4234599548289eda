//go:build linux && amd64

package jail

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRun_spreadLongRuns checks CPU pinning: a run with the default CPU
// limit is confined to one CPU, a run that asks for more may use every
// CPU the node may use.
func TestRun_spreadLongRuns(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() < 2 {
		t.Skip("needs at least two CPUs")
	}
	j := newTestJail(t, func(c *Config) { c.Max.CPU = 2 * DefaultCPU })
	b := load(t, j, "cpus", cProgram(t, "benign/cpus.c"))
	for _, tt := range []struct {
		name string
		cpu  time.Duration
		want int
	}{
		{"default limit", 0, 1},
		{"long run", 2 * DefaultCPU, set.Count()},
	} {
		spec := &Spec{Limits: Limits{CPU: tt.cpu}}
		res, err := j.Run(context.Background(), b, spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, _ := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
		if got != tt.want {
			t.Errorf("%s: runs on %d CPUs; want %d", tt.name, got, tt.want)
		}
	}
}
