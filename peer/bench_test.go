package peer_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/store"
)

// BenchmarkPeer_Get measures gets through the client against one node,
// with 50 connections each keeping `pipeline` requests in flight.
func BenchmarkPeer_Get(b *testing.B) {
	for _, pipeline := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", pipeline), func(b *testing.B) {
			benchOps(b, pipeline, false)
		})
	}
}

// BenchmarkPeer_Put is the same for 100-byte puts with sync=always.
func BenchmarkPeer_Put(b *testing.B) {
	for _, pipeline := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", pipeline), func(b *testing.B) {
			benchOps(b, pipeline, true)
		})
	}
}

func benchOps(b *testing.B, pipeline int, put bool) {
	cfg := testConfig(b)
	cfg.Store.Sync = store.SyncAlways
	cfg.Logger = nil
	p := startPeer(b, cfg)
	const clients, keys = 50, 1000
	value := make([]byte, 100)
	seed := dial(b, p)
	for i := range keys {
		if err := seed.Put(ctxT(b), fmt.Sprintf("key:%d", i), value); err != nil {
			b.Fatal(err)
		}
	}
	cs := make([]*client.Client, clients)
	for i := range cs {
		cs[i] = dial(b, p)
	}
	ctx := ctxT(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/clients + 1
	for ci, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i += pipeline {
				var gets []*client.Future[[]byte]
				var puts []*client.Future[uint64]
				for j := range pipeline {
					k := fmt.Sprintf("key:%d", (ci*per+i+j)%keys)
					if put {
						puts = append(puts, c.PutAsync(ctx, k, value))
					} else {
						gets = append(gets, c.GetAsync(ctx, k))
					}
				}
				for _, f := range gets {
					if _, err := f.Wait(); err != nil {
						b.Error(err)
					}
				}
				for _, f := range puts {
					if _, err := f.Wait(); err != nil {
						b.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*clients)/b.Elapsed().Seconds(), "ops/s")
}
