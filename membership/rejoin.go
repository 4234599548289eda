package membership

import (
	"context"
	"time"
)

// rejoinLoop periodically joins the seeds and the recently dead members
// that are not alive now. memberlist stops probing a member once it
// declared it dead, so two sides of a partition that each declared the
// other dead would never talk again; this loop is what merges them once
// the network heals (as serf's reconnect does). A node that left stops.
func (m *Membership) rejoinLoop() {
	if m.cfg.RejoinInterval < 0 {
		return
	}
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.shutdownCh:
			return
		case <-t.C:
		}
		if _, err := m.running(); err != nil {
			continue
		}
		m.rejoinOnce()
	}
}

// rejoinOnce joins each target in turn, stopping at Shutdown.
func (m *Membership) rejoinOnce() {
	for _, addr := range m.rejoinTargets() {
		select {
		case <-m.shutdownCh:
			return
		default:
		}
		if _, err := m.join(context.Background(), []string{addr}); err != nil {
			m.stats.rejoinFailures.Add(1)
			m.logger.Debug("rejoin failed", "addr", addr, "error", err)
			continue
		}
		m.stats.rejoins.Add(1)
		m.logger.Debug("rejoined", "addr", addr)
	}
}

// rejoinTargets returns the seeds and the addresses of dead members,
// without this node's address and those of alive members.
func (m *Membership) rejoinTargets() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneGoneLocked(time.Now())
	skip := map[string]bool{m.localAddr: true}
	for _, mem := range m.members {
		if !mem.State.Gone() {
			skip[mem.Addr] = true
		}
	}
	var out []string
	add := func(addr string) {
		if !skip[addr] {
			skip[addr] = true
			out = append(out, addr)
		}
	}
	for _, s := range m.cfg.Seeds {
		add(s)
	}
	for _, mem := range m.members {
		if mem.State == StateDead {
			add(mem.Addr)
		}
	}
	return out
}
