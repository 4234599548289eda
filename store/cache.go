package store

import (
	"math"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is a least-recently-used cache of immutable values fetched from
// other nodes (DESIGN §5), bounded in bytes: an entry costs len(key) +
// len(value). It holds only values without PermW; mutable values are never
// cached. It is safe for concurrent use. The zero Cache is not usable; call
// NewCache.
//
// The cache does not copy values: Add keeps the slice it is given and Get
// returns that same slice, so neither the caller of Add nor of Get may
// modify it. Immutable values never change, so sharing is safe as long as
// nobody writes to the bytes.
type Cache struct {
	maxBytes int64

	mu      sync.Mutex                         // guards lru, stats and removals
	lru     *simplelru.LRU[string, cacheEntry] // nil when disabled
	stats   CacheStats
	removes uint64 // count of Remove calls; see Removals
}

// CacheStats is a snapshot of a Cache's counters. It is a plain value.
type CacheStats struct {
	Items     int    // entries held
	Bytes     int64  // bytes held: the sum of len(key)+len(value)
	MaxBytes  int64  // the bound given to NewCache
	Hits      uint64 // Get calls that found the key
	Misses    uint64 // Get calls that did not
	Evictions uint64 // entries dropped to make room (not Remove or replacement)
}

type cacheEntry struct {
	value []byte
	perm  Perm
	tag   string // the caller's name for this exact value
}

func (e cacheEntry) cost(key string) int64 { return int64(len(key) + len(e.value)) }

// NewCache returns a cache holding at most maxBytes bytes. A maxBytes of
// zero or less disables it: Add does nothing and Get always misses.
func NewCache(maxBytes int64) *Cache {
	c := &Cache{maxBytes: max(maxBytes, 0)}
	c.stats.MaxBytes = c.maxBytes
	if c.maxBytes > 0 {
		// The bound is in bytes, enforced by Add; the count bound of
		// simplelru is set out of reach.
		c.lru, _ = simplelru.NewLRU[string, cacheEntry](math.MaxInt32, nil)
	}
	return c
}

// Get returns key's value and permission and marks it recently used. The
// value is shared; do not modify it.
func (c *Cache) Get(key string) (value []byte, perm Perm, ok bool) {
	value, perm, _, ok = c.GetTagged(key)
	return value, perm, ok
}

// GetTagged is Get that also returns the tag the entry was added with.
func (c *Cache) GetTagged(key string) (value []byte, perm Perm, tag string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e cacheEntry
	if c.lru != nil {
		e, ok = c.lru.Get(key)
	}
	if !ok {
		c.stats.Misses++
		return nil, 0, "", false
	}
	c.stats.Hits++
	return e.value, e.perm, e.tag, true
}

// Add caches value under key, replacing any entry for key, and evicts the
// least recently used entries until the cache fits its bound. It does not
// cache values whose perm has PermW (mutable) or entries that alone exceed
// the bound; it still drops an older entry for key, which is stale. Add
// keeps value; the caller must not modify it afterwards.
func (c *Cache) Add(key string, value []byte, perm Perm) {
	c.AddTagged(key, value, perm, "", 0, false)
}

// Removals returns how many times Remove has been called. A caller that
// fetched a value elsewhere passes the count it read before the fetch to
// AddTagged, which then refuses the value if a Remove came in between (the
// value may be one that Remove meant to drop).
func (c *Cache) Removals() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removes
}

// AddTagged is Add with a tag kept beside the value (GetTagged returns
// it), and, when check is set, only if no Remove happened since Removals
// returned since.
func (c *Cache) AddTagged(key string, value []byte, perm Perm, tag string, since uint64, check bool) {
	if c.lru == nil {
		return
	}
	e := cacheEntry{value: value, perm: perm, tag: tag}
	c.mu.Lock()
	defer c.mu.Unlock()
	if check && c.removes != since {
		return
	}
	c.removeLocked(key)
	if perm.Writable() || e.cost(key) > c.maxBytes {
		return
	}
	c.lru.Add(key, e)
	c.stats.Items++
	c.stats.Bytes += e.cost(key)
	for c.stats.Bytes > c.maxBytes {
		k, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		c.stats.Items--
		c.stats.Bytes -= old.cost(k)
		c.stats.Evictions++
	}
}

// Remove drops key from the cache, if present.
func (c *Cache) Remove(key string) {
	if c.lru == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removes++
	c.removeLocked(key)
}

func (c *Cache) removeLocked(key string) {
	if e, ok := c.lru.Peek(key); ok {
		c.lru.Remove(key)
		c.stats.Items--
		c.stats.Bytes -= e.cost(key)
	}
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
