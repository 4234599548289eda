//go:build linux && amd64

package jail

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Binary is a validated lambda executable in the jail's on-disk cache.
// Runs exec it from an open fd, so a cached binary is never copied again.
// A Binary stays usable after it is evicted from the cache: its file is
// unlinked, and closed when the last reference is dropped. Safe for
// concurrent use; the zero value is not usable.
type Binary struct {
	id   string
	sum  string // hex sha256 of the contents
	size int64
	file *os.File // read-only, close-on-exec
}

// ID returns the id the Binary was loaded under.
func (b *Binary) ID() string { return b.id }

// Size returns the executable's size in bytes.
func (b *Binary) Size() int64 { return b.size }

// binaryCache maps ids to Binaries, least recently used first out, bounded
// in bytes. Files are content-addressed: ids with the same bytes share one.
type binaryCache struct {
	dir string
	max int64

	mu    sync.Mutex // guards the fields below
	ids   map[string]*list.Element
	lru   *list.List     // of *Binary, most recent at the front
	files map[string]int // sum -> number of ids using the file
	bytes int64          // sum of sizes of distinct files
}

func newBinaryCache(dir string, max int64) *binaryCache {
	return &binaryCache{dir: dir, max: max, ids: make(map[string]*list.Element),
		lru: list.New(), files: make(map[string]int)}
}

// CachedBinary returns the Binary loaded under id, if it is still cached.
// Safe to call concurrently.
func (j *Jail) CachedBinary(id string) (*Binary, bool) {
	if j.cache == nil {
		return nil, false
	}
	return j.cache.get(id)
}

// LoadBinary validates data as a static x86-64 executable (else an error
// wrapping ErrNotExecutable) and caches it under id, which should name the
// content (for example key@version): a later call with the same id
// returns the cached Binary without looking at data. Safe to call
// concurrently.
func (j *Jail) LoadBinary(id string, data []byte) (*Binary, error) {
	if err := j.enter(); err != nil {
		return nil, err
	}
	defer j.wg.Done()
	if b, ok := j.cache.get(id); ok {
		return b, nil
	}
	if err := checkELF(data); err != nil {
		return nil, err
	}
	return j.cache.add(id, data)
}

func (c *binaryCache) get(id string) (*Binary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.ids[id]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*Binary), true
}

// add writes data to its content-addressed file (unless present) and
// caches it under id.
func (c *binaryCache) add(id string, data []byte) (*Binary, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	path := filepath.Join(c.dir, sum)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.ids[id]; ok { // raced with another add
		return e.Value.(*Binary), nil
	}
	f, err := c.openLocked(sum, path, data)
	if err != nil {
		return nil, err
	}
	b := &Binary{id: id, sum: sum, size: int64(len(data)), file: f}
	c.ids[id] = c.lru.PushFront(b)
	if c.files[sum] == 0 {
		c.bytes += b.size
	}
	c.files[sum]++
	c.evictLocked()
	return b, nil
}

// openLocked opens the file for sum, writing it first if no id uses it.
func (c *binaryCache) openLocked(sum, path string, data []byte) (*os.File, error) {
	if c.files[sum] == 0 {
		if err := writeExecutable(path, data); err != nil {
			return nil, fmt.Errorf("jail: cache binary: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("jail: cache binary: %w", err)
	}
	return f, nil
}

// evictLocked drops least recently used ids until the files fit, keeping
// at least the newest.
func (c *binaryCache) evictLocked() {
	for c.bytes > c.max && c.lru.Len() > 1 {
		b := c.lru.Remove(c.lru.Back()).(*Binary)
		delete(c.ids, b.id)
		c.files[b.sum]--
		if c.files[b.sum] == 0 {
			delete(c.files, b.sum)
			c.bytes -= b.size
			// A Run may still hold b: its open fd keeps the inode, and
			// the os.File is closed when b becomes unreachable.
			_ = os.Remove(filepath.Join(c.dir, b.sum))
		}
	}
}

// close closes every cached file (no Run is in flight).
func (c *binaryCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*Binary).file.Close()
	}
	c.ids, c.files, c.bytes = map[string]*list.Element{}, map[string]int{}, 0
	c.lru.Init()
}

// writeExecutable writes data to path as a root-owned (our uid) 0555
// file, atomically. ForkLock is held for reading while the file is open
// for writing, so that no concurrent fork inherits the write fd: exec of
// a file open for writing anywhere fails with ETXTBSY.
func writeExecutable(path string, data []byte) error {
	tmp := path + ".tmp"
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o555)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
