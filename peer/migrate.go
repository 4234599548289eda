package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// Slot migration, as the source node sees it (DESIGN §5):
//
//	coordinator                source (owns s)                 target
//	migrate s→target ────────► close s to writes, drain
//	                           scan s, import batches ───────► drop what it held of s,
//	                                                           store the records
//	           ◄──────────── OK (s stays closed)
//	flip s to target at a
//	higher epoch, gossip it ─► sees the flip: drop s, open it
//
// While s is closed, writes to it get TRYAGAIN and reads are served from
// the source, whose copy is complete. A write acknowledged before the close
// is in the copy; none is acknowledged between the close and the flip. If
// no flip comes within migrateHold, the source opens s again and keeps it.

const (
	// migrateHold is how long a source keeps a copied slot closed waiting
	// for the coordinator to flip it.
	migrateHold = 30 * time.Second
	// drainTimeout bounds the wait for writes in flight on a slot.
	drainTimeout = 10 * time.Second
	// importBatchBytes bounds the value bytes of one import request.
	importBatchBytes = 4 << 20
)

// outgoing is a slot this node copied away and holds until it sees the
// flip.
type outgoing struct {
	target string
	until  time.Time
}

// movesOut tracks the slots copied away, by slot.
type movesOut struct {
	mu    sync.Mutex
	slots map[int]outgoing // guarded by mu
}

// migrate handles OpMigrate: copy slots SlotStart..SlotEnd to Target.
// It refuses a range planned from another epoch than this node's (a stale
// coordinator or a stale table here) and slots another migration owns.
// After the whole range is copied the slots are held (no reads or writes)
// until the flip, or until the target confirms it does not own them.
func (p *Peer) migrate(ctx context.Context, req *wire.Request) error {
	start, end := req.SlotStart, req.SlotEnd
	if start < 0 || end >= slots.NumSlots || start > end {
		return errorf(wire.StatusBadRequest, "bad slot range %d-%d", start, end)
	}
	target, ok := p.cl.view.Load().nodes[req.Target]
	if !ok || target.Addr == "" || req.Target == p.id {
		return errorf(wire.StatusBadRequest, "unknown target node %q", req.Target)
	}
	t := p.cl.table.Load()
	var epoch uint64
	for s := start; s <= end; s++ {
		owner, e := t.Owner(s)
		if owner != p.id {
			return errorf(wire.StatusBadRequest, "slot %d is not mastered here (master %q)", s, owner)
		}
		epoch = max(epoch, e)
	}
	if req.Epoch != 0 && req.Epoch != epoch {
		return errorf(wire.StatusTryAgain, "slots %d-%d: planned at epoch %d, this node has %d", start, end, req.Epoch, epoch)
	}
	for s := start; s <= end; s++ {
		if !p.cl.gates.claim(s) {
			for c := start; c < s; c++ {
				p.cl.gates.open(c)
			}
			return errorf(wire.StatusTryAgain, "slot %d is already moving", s)
		}
	}
	p.cl.moving.Add(1)
	defer p.cl.moving.Add(-1)
	for s := start; s <= end; s++ {
		if err := p.migrateSlot(ctx, s, target.Addr); err != nil {
			for c := start; c <= end; c++ {
				p.cl.gates.open(c)
			}
			return err
		}
	}
	until := time.Now().Add(migrateHold)
	p.out.mu.Lock()
	if p.out.slots == nil {
		p.out.slots = make(map[int]outgoing)
	}
	for s := start; s <= end; s++ {
		p.cl.gates.hold(s)
		p.out.slots[s] = outgoing{target: req.Target, until: until}
	}
	err := p.saveHeldLocked()
	p.out.mu.Unlock()
	return err
}

// heldFile keeps the slots a node copied away and holds, so that after a
// restart it still neither serves nor writes them until they are settled.
const heldFile = "held.json"

// saveHeldLocked writes the held slots to the data directory. The caller
// holds p.out.mu.
func (p *Peer) saveHeldLocked() error {
	held := make(map[string]string, len(p.out.slots))
	for s, o := range p.out.slots {
		held[strconv.Itoa(s)] = o.target
	}
	b, err := json.Marshal(held)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(p.cfg.DataDir, heldFile), b)
}

// loadHeld restores the held slots at start: each is closed and held again
// until the table gives it away or its target confirms it did not take it.
func (p *Peer) loadHeld() error {
	b, err := os.ReadFile(filepath.Join(p.cfg.DataDir, heldFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read held slots: %w", err)
	}
	var held map[string]string
	if err := json.Unmarshal(b, &held); err != nil {
		return fmt.Errorf("held slots %s: %w", heldFile, err)
	}
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	if p.out.slots == nil {
		p.out.slots = make(map[int]outgoing)
	}
	until := time.Now().Add(migrateHold)
	for k, target := range held {
		s, err := strconv.Atoi(k)
		if err != nil || s < 0 || s >= slots.NumSlots {
			continue
		}
		p.cl.gates.claim(s)
		p.cl.gates.set(s, gateClosed|gateHeld)
		p.out.slots[s] = outgoing{target: target, until: until}
	}
	if len(held) > 0 {
		p.logger.Info("holding slots copied away before the restart until they are settled", "slots", len(held))
	}
	return nil
}

// migrateSlot closes one claimed slot and copies it to addr.
func (p *Peer) migrateSlot(ctx context.Context, slot int, addr string) error {
	if !p.cl.gates.close(slot, drainTimeout) {
		return errorf(wire.StatusTryAgain, "slot %d: writes did not drain", slot)
	}
	if err := p.copySlot(ctx, slot, addr); err != nil {
		return fmt.Errorf("slot %d: %w", slot, err)
	}
	return nil
}

// copySlot sends every record of slot to addr in import batches; the
// first batch tells the target to drop what it held of the slot.
func (p *Peer) copySlot(ctx context.Context, slot int, addr string) error {
	var keys []string
	err := p.store.ScanSlot(uint16(slot), func(key string, _ []byte, _ store.Perm, _ uint64) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return err
	}
	pc, err := p.peerClient(ctx)
	if err != nil {
		return err
	}
	first := true
	for len(keys) > 0 || first {
		var recs []wire.Record
		var size int
		err := p.store.View(func(tx *store.ReadTx) error {
			for len(keys) > 0 && size < importBatchBytes {
				k := keys[0]
				keys = keys[1:]
				v, perm, err := tx.Get(k)
				if errors.Is(err, store.ErrNotFound) {
					continue // deleted since the scan
				}
				if err != nil {
					return err
				}
				recs = append(recs, wire.Record{Key: k, Value: append([]byte{}, v...), Perm: uint8(perm)})
				size += len(v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		req := &wire.Request{Op: wire.OpImport, SlotStart: slot, Reset: first, Records: recs}
		if _, err := pc.Do(ctx, req, addr); err != nil {
			return fmt.Errorf("import to %s: %w", addr, err)
		}
		first = false
	}
	return nil
}

// importSlot handles OpImport: store records of a slot this node is about
// to master. It never touches a slot this node masters already.
func (p *Peer) importSlot(ctx context.Context, req *wire.Request) error {
	slot := req.SlotStart
	if slot < 0 || slot >= slots.NumSlots {
		return errorf(wire.StatusBadRequest, "bad slot %d", slot)
	}
	if owner, _ := p.cl.table.Load().Owner(slot); owner == p.id {
		return errorf(wire.StatusBadRequest, "slot %d is mastered here already", slot)
	}
	items := make([]store.Item, 0, len(req.Records))
	for _, r := range req.Records {
		if int(slots.KeySlot(r.Key)) != slot {
			return errorf(wire.StatusBadRequest, "key %q is not in slot %d", r.Key, slot)
		}
		items = append(items, store.Item{Key: r.Key, Value: r.Value, Perm: store.Perm(r.Perm)})
	}
	if req.Reset {
		if _, err := p.store.DeleteSlot(ctx, uint16(slot)); err != nil {
			return err
		}
	}
	_, err := p.store.PutMany(ctx, items)
	return err
}

// dropMovedSlots finishes the moves this node was the source of: a slot
// the table now gives to another node is dropped and opened (requests for
// it get MOVED). One whose flip has not come when its hold ends is checked
// with the target: if the target masters it, the flip was only late here;
// if the target says it does not, the slot is opened and kept; if the
// target cannot be asked, the hold is extended.
func (p *Peer) dropMovedSlots() {
	t := p.cl.table.Load()
	now := time.Now()
	var expired map[int]outgoing
	changed := false
	p.out.mu.Lock()
	for slot, o := range p.out.slots {
		owner, _ := t.Owner(slot)
		switch {
		case owner != p.id:
			if _, err := p.store.DeleteSlot(p.ctx, uint16(slot)); err != nil {
				p.logger.Error("could not drop a moved slot", "slot", slot, "error", err)
				continue
			}
			p.cl.gates.open(slot)
			delete(p.out.slots, slot)
			changed = true
		case now.After(o.until):
			if expired == nil {
				expired = make(map[int]outgoing)
			}
			expired[slot] = o
		}
	}
	if changed {
		if err := p.saveHeldLocked(); err != nil {
			p.logger.Error("could not keep the held slots", "error", err)
		}
	}
	p.out.mu.Unlock()
	if len(expired) > 0 {
		p.settleExpired(expired)
	}
}

// settleExpired asks the targets of held slots whose flip is overdue for
// their tables, merges them, and opens the slots no target took.
func (p *Peer) settleExpired(expired map[int]outgoing) {
	asked := make(map[string]bool)
	for _, o := range expired {
		if asked[o.target] {
			continue
		}
		asked[o.target] = p.pullTable(o.target)
	}
	t := p.cl.table.Load()
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	for slot, o := range expired {
		owner, _ := t.Owner(slot)
		switch {
		case owner != p.id:
			// The flip was late here; the next round drops the slot.
		case asked[o.target]:
			p.logger.Warn("slot copied but never flipped; keeping it", "slot", slot, "target", o.target)
			p.cl.gates.open(slot)
			delete(p.out.slots, slot)
		default:
			o.until = time.Now().Add(migrateHold)
			p.out.slots[slot] = o
		}
	}
	if err := p.saveHeldLocked(); err != nil {
		p.logger.Error("could not keep the held slots", "error", err)
	}
}

// pullTable fetches node's view of the cluster and merges its slot table
// into this node's. It reports whether node answered.
func (p *Peer) pullTable(node string) bool {
	n, ok := p.cl.view.Load().nodes[node]
	if !ok || n.Addr == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(p.stopCtx, 5*time.Second)
	defer cancel()
	pc, err := p.peerClient(ctx)
	if err != nil {
		return false
	}
	resp, err := pc.Do(ctx, &wire.Request{Op: wire.OpTopology}, n.Addr)
	if err != nil || resp.Topology == nil {
		return false
	}
	var rs []slots.Range
	for _, r := range resp.Topology.Slots {
		rs = append(rs, slots.Range(r))
	}
	t, err := slots.FromRanges(rs)
	if err != nil {
		return false
	}
	p.mergeTable(t, false)
	return true
}
