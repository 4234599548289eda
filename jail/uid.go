package jail

import "sync"

// uidPool hands out uids from an inclusive range, one per concurrent run,
// round-robin so that a uid is reused as late as possible.
type uidPool struct {
	mu    sync.Mutex // guards next and inUse
	lo    int
	hi    int
	next  int
	inUse map[int]bool
}

func newUIDPool(r [2]int) *uidPool {
	return &uidPool{lo: r[0], hi: r[1], next: r[0], inUse: make(map[int]bool)}
}

// get returns a free uid, or -1 if all are in use.
func (p *uidPool) get() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.hi - p.lo + 1
	for range n {
		u := p.next
		p.next++
		if p.next > p.hi {
			p.next = p.lo
		}
		if !p.inUse[u] {
			p.inUse[u] = true
			return u
		}
	}
	return -1
}

// put returns u to the pool. Every process of u must be gone.
func (p *uidPool) put(u int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inUse, u)
}
