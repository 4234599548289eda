package peer_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail/lambda"
)

// noopC is the trivial C lambda for benchmarks, on the single-header
// runtime.
const noopC = `#define LAMBDA_IMPLEMENTATION
#include "lambda.h"
ExecResponse lkv_handler(const ExecArgs *args) { (void)args; return lkv_response(); }
`

// BenchmarkExec runs a trivial lambda through the whole path (client,
// node, jail, response) and, side by side in the same run, a bare
// fork+exec+wait of the same binary with the same stdin over pipes and no
// sandbox. It reports the p50 latency of each; serial runs measure latency,
// parallel ones throughput.
//
//	go test -run XXX -bench BenchmarkExec -benchtime 2000x ./peer
func BenchmarkExec(b *testing.B) {
	bins := map[string]string{
		"go": buildGo(b, "peer/testdata/lambdas/noop"),
		"c":  buildC(b, "noop", noopC),
	}
	cfg := execConfig(b, 2)
	cfg.Logger = nil
	p := startPeer(b, cfg)
	c := dial(b, p)
	var stdin bytes.Buffer
	if err := lambda.EncodeArgs(&stdin, &lambda.Args{Args: []string{"x"}}); err != nil {
		b.Fatal(err)
	}
	for _, lang := range []string{"c", "go"} {
		upload(b, c, "noop-"+lang, bins[lang])
		b.Run(lang+"/jailed", func(b *testing.B) {
			benchLatency(b, 1, func() error {
				_, err := c.Exec(ctxT(b), "noop-"+lang, client.ExecOptions{Args: []string{"x"}})
				return err
			})
		})
		b.Run(lang+"/bare", func(b *testing.B) {
			benchLatency(b, 1, func() error { return runBare(bins[lang], stdin.Bytes()) })
		})
		b.Run(lang+"/jailed-parallel", func(b *testing.B) {
			benchLatency(b, 2, func() error {
				_, err := c.Exec(ctxT(b), "noop-"+lang, client.ExecOptions{Args: []string{"x"}})
				return err
			})
		})
	}
}

func runBare(bin string, stdin []byte) error {
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return err
	}
	if _, err := lambda.UnmarshalResponse(out.Bytes()); err != nil {
		return fmt.Errorf("bad response: %w", err)
	}
	return nil
}

// benchLatency runs f b.N times from `workers` goroutines and reports
// operations per second and the median latency.
func benchLatency(b *testing.B, workers int, f func() error) {
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				n := i
				i++
				next.Unlock()
				if n >= b.N {
					return
				}
				t0 := time.Now()
				if err := f(); err != nil {
					b.Error(err)
					return
				}
				lat[n] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "execs/s")
}
