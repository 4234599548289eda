package membership_test

import (
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/membership"
)

// With the default LAN timers a crashed node is declared dead within the
// bounds that DetectionTime documents (plus the time to the first probe).
// It takes several seconds of wall time, so -short skips it.
func TestLANProfile_detectionTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the LAN failure detector")
	}
	t.Parallel()
	lan := func(c *membership.Config) { c.Profile = membership.LANProfile() }
	nodes := startCluster(t, 4, lan)
	stopped := time.Now()
	shutdown(t, nodes[3])
	lo, hi := membership.LANProfile().DetectionTime(4)
	limit := hi + 2*time.Second // a late first probe, scheduling
	for _, n := range nodes[:3] {
		waitUntilFor(t, limit, n.NodeID()+" fail event", func() bool {
			_, ok := n.events.find(membership.EventFail, "node-3")
			return ok
		})
		ev, _ := n.events.find(membership.EventFail, "node-3")
		took := ev.at.Sub(stopped)
		t.Logf("%s: node-3 declared dead after %v (documented %v..%v)", n.NodeID(), took.Round(time.Millisecond), lo, hi)
		if took < lo-membership.LANProfile().ProbeInterval {
			t.Errorf("%s declared node-3 dead after %v; want at least the suspicion timeout", n.NodeID(), took)
		}
	}
}
