//go:build linux && amd64

package jail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchLambdas are the trivial lambdas the benchmarks compare.
func benchLambdas(b *testing.B) []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"C-raw", cProgram(b, "bench/true_raw.c", "-nostdlib")},
		{"C-glibc", cProgram(b, "bench/true_glibc.c")},
		{"Go", goProgram(b, "bench/gotrue")},
	}
}

var benchStdin = bytes.Repeat([]byte("x"), 1024)

// BenchmarkJail_Run runs a trivial lambda in the jail, one at a time,
// with 1 KiB on stdin. p50-ns is the median, execs/s the rate.
func BenchmarkJail_Run(b *testing.B) {
	j := newTestJail(b, nil)
	for _, l := range benchLambdas(b) {
		b.Run(l.name, func(b *testing.B) {
			bin := load(b, j, l.name, l.data)
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				res, err := j.Run(context.Background(), bin, &Spec{Stdin: benchStdin})
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("Run: %v %+v", err, res)
				}
				ds = append(ds, time.Since(t0))
			}
			report(b, ds)
		})
	}
}

// BenchmarkBare_ForkExec runs the same binaries with a plain
// fork+exec+wait with the same pipes and no sandbox: the baseline.
func BenchmarkBare_ForkExec(b *testing.B) {
	dir := b.TempDir()
	for _, l := range benchLambdas(b) {
		b.Run(l.name, func(b *testing.B) {
			path := filepath.Join(dir, l.name)
			if err := os.WriteFile(path, l.data, 0o755); err != nil {
				b.Fatal(err)
			}
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				if err := bareRun(path, benchStdin); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			report(b, ds)
		})
	}
}

// BenchmarkJail_RunParallel measures throughput with GOMAXPROCS runs at
// a time (execs/s over the whole machine).
func BenchmarkJail_RunParallel(b *testing.B) {
	j := newTestJail(b, nil)
	for _, l := range benchLambdas(b) {
		b.Run(l.name, func(b *testing.B) {
			bin := load(b, j, l.name, l.data)
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := j.Run(context.Background(), bin, &Spec{Stdin: benchStdin})
					if err != nil || res.ExitCode != 0 {
						b.Errorf("Run: %v %+v", err, res)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "execs/s")
		})
	}
}

// BenchmarkJail_TrappedSyscall measures the supervisor's cost for one
// syscall that the filter traps and the supervisor allows
// (prctl(PR_GET_TIMERSLACK)): a lambda making 2000 such calls against the
// same lambda making none; trap-ns is the difference per call.
func BenchmarkJail_TrappedSyscall(b *testing.B) {
	for _, spread := range []bool{false, true} {
		b.Run(fmt.Sprintf("spread=%v", spread), func(b *testing.B) {
			j := newTestJail(b, func(c *Config) { c.SpreadCPUs = spread })
			bin := load(b, j, "trapped", cProgram(b, "bench/trapped.c"))
			const n = 2000
			var base time.Duration
			for _, calls := range []int{0, n} {
				b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
					ds := make([]time.Duration, 0, b.N)
					for b.Loop() {
						t0 := time.Now()
						res, err := j.Run(context.Background(), bin, &Spec{Args: []string{fmt.Sprint(calls)}})
						if err != nil || res.ExitCode != 0 {
							b.Fatalf("Run: %v %+v", err, res)
						}
						ds = append(ds, time.Since(t0))
					}
					report(b, ds)
					if calls == 0 {
						base = percentile(ds, 0.5)
					} else if base > 0 {
						b.ReportMetric(float64((percentile(ds, 0.5)-base).Nanoseconds())/n, "trap-ns")
					}
				})
			}
		})
	}
}

// report adds the median and the rate to the benchmark's output.
func report(b *testing.B, ds []time.Duration) {
	p50 := percentile(ds, 0.5)
	b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(percentile(ds, 0.99).Nanoseconds()), "p99-ns")
	if p50 > 0 {
		b.ReportMetric(float64(time.Second)/float64(p50), "execs/s")
	}
}

// bareRun is fork+exec+wait of path with stdin, stdout and stderr pipes.
func bareRun(path string, stdin []byte) error {
	var p [3][2]int
	for i := range p {
		if err := unix.Pipe2(p[i][:], unix.O_CLOEXEC); err != nil {
			return err
		}
	}
	attr := &syscall.ProcAttr{Files: []uintptr{uintptr(p[0][0]), uintptr(p[1][1]), uintptr(p[2][1])}}
	pid, err := syscall.ForkExec(path, []string{"lambda"}, attr)
	unix.Close(p[0][0])
	unix.Close(p[1][1])
	unix.Close(p[2][1])
	if err != nil {
		return err
	}
	unix.Write(p[0][1], stdin)
	unix.Close(p[0][1])
	buf := make([]byte, 4096)
	for {
		if n, _ := unix.Read(p[1][0], buf); n <= 0 {
			break
		}
	}
	unix.Close(p[1][0])
	unix.Close(p[2][0])
	var ws unix.WaitStatus
	_, err = unix.Wait4(pid, &ws, 0, nil)
	if err == nil && ws.ExitStatus() != 0 {
		err = fmt.Errorf("exit %v", ws)
	}
	return err
}

// BenchmarkJail_VsBare alternates a jailed run and a bare fork+exec of the
// same binary in one loop, so that both see the same machine load, and
// reports both medians and their ratio (the targets: at most 1.5 for Go,
// 2 for C).
func BenchmarkJail_VsBare(b *testing.B) {
	j := newTestJail(b, nil)
	dir := b.TempDir()
	for _, l := range benchLambdas(b) {
		b.Run(l.name, func(b *testing.B) {
			bin := load(b, j, l.name, l.data)
			path := filepath.Join(dir, l.name)
			if err := os.WriteFile(path, l.data, 0o755); err != nil {
				b.Fatal(err)
			}
			var jail, bare []time.Duration
			for b.Loop() {
				t0 := time.Now()
				res, err := j.Run(context.Background(), bin, &Spec{Stdin: benchStdin})
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("Run: %v %+v", err, res)
				}
				t1 := time.Now()
				if err := bareRun(path, benchStdin); err != nil {
					b.Fatal(err)
				}
				jail, bare = append(jail, t1.Sub(t0)), append(bare, time.Since(t1))
			}
			pj, pb := percentile(jail, 0.5), percentile(bare, 0.5)
			b.ReportMetric(float64(pj.Nanoseconds()), "jail-p50-ns")
			b.ReportMetric(float64(pb.Nanoseconds()), "bare-p50-ns")
			b.ReportMetric(float64(pj)/float64(pb), "ratio")
		})
	}
}
