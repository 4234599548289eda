package store_test

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/store"
)

// randomKeys returns n random 16-byte keys (hex of 8 random bytes, so no
// NUL), seeded by seed.
func randomKeys(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 0x6c6b76))
	keys := make([]string, n)
	var b [8]byte
	for i := range keys {
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		keys[i] = hex.EncodeToString(b[:])
	}
	return keys
}

func benchOptions(mode store.SyncMode) *store.Options {
	o := store.DefaultOptions()
	o.Sync = mode
	o.Logger = hclog.NewNullLogger()
	return o
}

// BenchmarkStore_Put measures acknowledged puts of new random 16-byte keys
// into a store prefilled with 100k keys of the same value size (as in
// research/limits.md), from 1 or 50 concurrent writers. The store keeps
// growing by b.N keys per run. It reports throughput (ops/s), the latency
// of one Put as its caller sees it (p50, p99) and the mean number of puts
// per commit.
//
//	go test -run '^$' -bench 'BenchmarkStore_Put' -benchtime 3s ./store
func BenchmarkStore_Put(b *testing.B) {
	const prefilled = 100_000
	for _, mode := range []store.SyncMode{store.SyncAlways, store.SyncNone} {
		for _, writers := range []int{1, 50} {
			for _, size := range []int{100, 4096} {
				name := fmt.Sprintf("sync=%s/writers=%d/value=%s", mode, writers, sizeName(size))
				dir := filepath.Join(b.TempDir(), strings.NewReplacer("=", "-", "/", "_").Replace(name))
				var s *store.Store // opened and prefilled by the first run only
				b.Run(name, func(b *testing.B) {
					if s == nil {
						s = openPrefilled(b, dir, mode, prefilled, size)
					}
					benchPut(b, s, writers, size)
				})
				if s != nil {
					_ = s.Close()
				}
				_ = os.RemoveAll(dir) // up to 0.5 GB each
			}
		}
	}
}

func openPrefilled(b *testing.B, dir string, mode store.SyncMode, n, size int) *store.Store {
	s, err := store.Open(filepath.Join(dir, "bench.db"), benchOptions(mode))
	if err != nil {
		b.Fatal(err)
	}
	prefill(b, s, randomKeys(n, 1), size)
	return s
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

func benchPut(b *testing.B, s *store.Store, writers, size int) {
	keys := randomKeys(b.N, rand.Uint64())
	value := make([]byte, size)
	lat := make([][]time.Duration, writers)
	before := s.Stats()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				t0 := time.Now()
				if _, err := s.Put(ctx, keys[i], value, store.PermR|store.PermW); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportPut(b, s.Stats(), before, slices.Concat(lat...))
}

func reportPut(b *testing.B, after, before store.Stats, lat []time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	if commits := after.Commits - before.Commits; commits > 0 {
		b.ReportMetric(float64(after.Ops-before.Ops)/float64(commits), "ops/commit")
	}
}

// BenchmarkStore_Get measures reads of random keys from a store of 100k
// 100-byte values: one read transaction per Get (single, and from
// GOMAXPROCS goroutines), and 16 reads per View, copying each value out.
//
//	go test -run '^$' -bench 'BenchmarkStore_Get' -benchtime 3s ./store
func BenchmarkStore_Get(b *testing.B) {
	const n = 100_000
	s, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), benchOptions(store.SyncNone))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	keys := randomKeys(n, 1)
	prefill(b, s, keys, 100)

	b.Run("single", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, _, err := s.Get(keys[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var seed atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1)) * 104729
			for pb.Next() {
				if _, _, err := s.Get(keys[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("view16", func(b *testing.B) { benchView(b, s, keys, 16) })
}

// benchView reads batch keys per View, copying each value into one buffer,
// as a connection serving pipelined GETs would. b.N counts reads.
func benchView(b *testing.B, s *store.Store, keys []string, batch int) {
	buf := make([]byte, 0, 64<<10)
	i := 0
	for done := 0; done < b.N; done += batch {
		err := s.View(func(tx *store.ReadTx) error {
			buf = buf[:0]
			for range min(batch, b.N-done) {
				v, _, err := tx.Get(keys[i%len(keys)])
				if err != nil {
					return err
				}
				buf = append(buf, v...)
				i += 7919
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// prefill puts keys with size-byte values from 64 writers.
func prefill(b *testing.B, s *store.Store, keys []string, size int) {
	value := make([]byte, size)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(keys)); i = next.Add(1) - 1 {
				if _, err := s.Put(ctx, keys[i], value, store.PermR); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
