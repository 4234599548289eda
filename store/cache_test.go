package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lambdakv/lambdakv/store"
)

func wantCached(t *testing.T, c *store.Cache, key, value string, perm store.Perm) {
	t.Helper()
	v, p, ok := c.Get(key)
	if !ok || string(v) != value || p != perm {
		t.Errorf("Get(%q) = %q, %v, %t; want %q, %v, true", key, v, p, ok, value, perm)
	}
}

func wantMissing(t *testing.T, c *store.Cache, key string) {
	t.Helper()
	if v, _, ok := c.Get(key); ok {
		t.Errorf("Get(%q) = %q, hit; want a miss", key, v)
	}
}

func TestCache_Add_byteBound(t *testing.T) {
	c := store.NewCache(100)
	// Each entry costs len(key)+len(value) = 1+29 = 30 bytes.
	for _, k := range []string{"a", "b", "c"} {
		c.Add(k, []byte(strings.Repeat(k, 29)), r)
	}
	if st := c.Stats(); st.Items != 3 || st.Bytes != 90 {
		t.Fatalf("Stats Items=%d Bytes=%d; want 3, 90", st.Items, st.Bytes)
	}
	wantCached(t, c, "a", strings.Repeat("a", 29), r) // a is now the most recent
	c.Add("d", []byte(strings.Repeat("d", 29)), rx)   // 120 > 100: evict b
	wantMissing(t, c, "b")
	wantCached(t, c, "a", strings.Repeat("a", 29), r)
	wantCached(t, c, "c", strings.Repeat("c", 29), r)
	wantCached(t, c, "d", strings.Repeat("d", 29), rx)
	st := c.Stats()
	if st.Items != 3 || st.Bytes != 90 || st.Evictions != 1 || st.MaxBytes != 100 {
		t.Errorf("Stats = %+v; want Items=3 Bytes=90 Evictions=1 MaxBytes=100", st)
	}
	// One entry of 99 bytes evicts everything else.
	c.Add("e", make([]byte, 98), r)
	if st := c.Stats(); st.Items != 1 || st.Bytes != 99 || st.Evictions != 4 {
		t.Errorf("Stats = %+v; want Items=1 Bytes=99 Evictions=4", st)
	}
}

func TestCache_Add_ignored(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value []byte
		perm  store.Perm
	}{
		{"mutable", "k", []byte("v"), rw},
		{"mutable exec", "k", []byte("v"), rwx},
		{"larger than the cache", "k", make([]byte, 100), r},
		{"key tips it over", "kk", make([]byte, 99), r},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := store.NewCache(100)
			c.Add("keep", []byte("x"), r)
			c.Add(tt.key, []byte("stale"), r)
			c.Add(tt.key, tt.value, tt.perm) // also drops the stale entry
			wantMissing(t, c, tt.key)
			wantCached(t, c, "keep", "x", r)
			if st := c.Stats(); st.Items != 1 || st.Bytes != 5 || st.Evictions != 0 {
				t.Errorf("Stats = %+v; want Items=1 Bytes=5 Evictions=0", st)
			}
		})
	}
}

func TestCache_Add_replace(t *testing.T) {
	c := store.NewCache(100)
	c.Add("k", []byte("short"), r)
	c.Add("k", []byte("a longer value"), rx)
	wantCached(t, c, "k", "a longer value", rx)
	if st := c.Stats(); st.Items != 1 || st.Bytes != 15 || st.Evictions != 0 {
		t.Errorf("Stats = %+v; want Items=1 Bytes=15 Evictions=0", st)
	}
}

func TestCache_Remove(t *testing.T) {
	c := store.NewCache(100)
	c.Add("k", []byte("v"), r)
	c.Remove("k")
	c.Remove("never")
	wantMissing(t, c, "k")
	if st := c.Stats(); st.Items != 0 || st.Bytes != 0 || st.Evictions != 0 {
		t.Errorf("Stats = %+v; want empty with no evictions", st)
	}
}

func TestCache_Stats_hitsMisses(t *testing.T) {
	c := store.NewCache(100)
	c.Add("k", []byte("v"), r)
	c.Get("k")
	c.Get("k")
	c.Get("x")
	if st := c.Stats(); st.Hits != 2 || st.Misses != 1 {
		t.Errorf("Hits=%d Misses=%d; want 2, 1", st.Hits, st.Misses)
	}
}

func TestCache_disabled(t *testing.T) {
	for _, max := range []int64{0, -1} {
		c := store.NewCache(max)
		c.Add("k", []byte("v"), r)
		c.Remove("k")
		wantMissing(t, c, "k")
		if st := c.Stats(); st.Items != 0 || st.Bytes != 0 || st.MaxBytes != 0 || st.Misses != 1 {
			t.Errorf("NewCache(%d) Stats = %+v; want empty, MaxBytes=0, Misses=1", max, st)
		}
	}
}

func TestCache_concurrent(t *testing.T) {
	const max = 10_000
	c := store.NewCache(max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				key := fmt.Sprintf("k%d", (g*7919+i)%300)
				switch i % 4 {
				case 0:
					c.Add(key, []byte(strings.Repeat("v", i%200)), r)
				case 1:
					c.Remove(key)
				default:
					if v, p, ok := c.Get(key); ok && (p != r || strings.Trim(string(v), "v") != "") {
						t.Errorf("Get(%s) = %q, %v; want a value of v's, r--", key, v, p)
					}
				}
				if st := c.Stats(); st.Bytes > max || st.Bytes < 0 || st.Items < 0 {
					t.Errorf("Stats = %+v; want 0 <= Bytes <= %d", st, max)
					return
				}
			}
		})
	}
	wg.Wait()
	// Bytes must equal the cost of what is actually held.
	st := c.Stats()
	var items int
	var bytes int64
	for k := range 300 {
		key := fmt.Sprintf("k%d", k)
		if v, _, ok := c.Get(key); ok {
			items++
			bytes += int64(len(key) + len(v))
		}
	}
	if items != st.Items || bytes != st.Bytes {
		t.Errorf("held %d items of %d bytes; Stats says %d, %d", items, bytes, st.Items, st.Bytes)
	}
}

func BenchmarkCache_Get(b *testing.B) {
	c := store.NewCache(256 << 20)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
		c.Add(keys[i], make([]byte, 100), r)
	}
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c.Get(keys[i%len(keys)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Get(keys[i%len(keys)])
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

func TestCache_AddTagged_removedMeanwhile(t *testing.T) {
	c := store.NewCache(1 << 20)
	since := c.Removals()
	c.Remove("k") // an eviction arrives while a fetch of k is under way
	c.AddTagged("k", []byte("old"), store.PermR, "id-old", since, true)
	if _, _, ok := c.Get("k"); ok {
		t.Errorf("a value fetched across a Remove was cached")
	}
	since = c.Removals()
	c.AddTagged("k", []byte("new"), store.PermR, "id-new", since, true)
	v, _, tag, ok := c.GetTagged("k")
	if !ok || string(v) != "new" || tag != "id-new" {
		t.Errorf("GetTagged = %q %q %v; want new id-new true", v, tag, ok)
	}
}
