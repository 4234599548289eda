package election_test

import (
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lambdakv/lambdakv/election"
)

// Scenario tests. They run in testing/synctest bubbles with the default
// (LAN) timeouts: fake time makes seconds of protocol take milliseconds.

func TestElector_converge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(5)
		c := newCluster(t, 1, nil, ids...)
		c.start(ids...)
		start := time.Now()
		coord, epoch := c.waitAgreement(2*time.Second, ids...)
		if coord != "n5" || epoch != 1 {
			t.Fatalf("agreed on %s@%d; want n5@1", coord, epoch)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %v to agree; want about LeaderTimeout (500ms)", took)
		}
		c.advance(5 * time.Second) // heartbeats only: nothing may change
		if coord, epoch, ok := c.agreement(ids...); !ok || coord != "n5" || epoch != 1 {
			t.Fatalf("after 5s: %s@%d ok=%v; want n5@1\n%s", coord, epoch, ok, c.dump(ids...))
		}
		if got := c.claims(); len(got) != 1 || !slices.Equal(got["n5"], []uint64{1}) {
			t.Errorf("claims = %v; want only n5 at epoch 1", got)
		}
		if !c.nodes["n5"].CanAct() {
			t.Error("n5.CanAct() = false; want true")
		}
		for _, id := range ids[:4] {
			if c.nodes[id].CanAct() {
				t.Errorf("%s.CanAct() = true; want false", id)
			}
		}
	})
}

func TestElector_singleNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 1, nil, "solo")
		c.start("solo")
		coord, epoch := c.waitAgreement(time.Second, "solo")
		if coord != "solo" || epoch != 1 || !c.nodes["solo"].CanAct() {
			t.Fatalf("got %s@%d canAct=%v; want solo@1 acting", coord, epoch, c.nodes["solo"].CanAct())
		}
	})
}

func TestElector_priority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(4)
		prio := func(id string) int { // n1 is the most important; n2..n4 tie
			if id == "n1" {
				return 10
			}
			return 0
		}
		c := newCluster(t, 1, func(cfg *election.Config) { cfg.Priority = prio }, ids...)
		c.start(ids...)
		if coord, _ := c.waitAgreement(2*time.Second, ids...); coord != "n1" {
			t.Fatalf("coordinator %s; want n1 (highest priority)", coord)
		}
		c.kill("n1")
		c.setLive(ids[1:], ids[1:]...)
		if coord, _ := c.waitAgreement(2*time.Second, ids[1:]...); coord != "n4" {
			t.Fatalf("coordinator %s; want n4 (ties broken by id)", coord)
		}
	})
}

func TestElector_lostMessages(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		synctest.Test(t, func(t *testing.T) {
			ids := nodes(5)
			c := newCluster(t, seed, nil, ids...)
			c.net.SetDropRate(0.3)
			c.lossy = true
			c.start(ids...)
			coord, epoch := c.waitAgreement(10*time.Second, ids...)
			t.Logf("seed %d: agreed on %s@%d with 30%% loss", seed, coord, epoch)
			// Still lossy: a false suspicion may disturb agreement now
			// and then, but epochs never go back.
			c.advance(5 * time.Second)
			c.net.SetDropRate(0)
			coord, epoch = c.waitAgreement(5*time.Second, ids...)
			t.Logf("seed %d: after loss stops: %s@%d", seed, coord, epoch)
			c.checkMonotonic()
			t.Logf("seed %d: %d samples with two acting nodes", seed, c.doubles)
			delivered, dropped := c.net.Stats()
			if dropped == 0 || delivered == 0 {
				t.Errorf("delivered=%d dropped=%d; want both > 0", delivered, dropped)
			}
		})
	}
}

func TestElector_coordinatorDiesMidElection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(5)
		c := newCluster(t, 1, nil, ids...)
		// n5 dies right after its second Coordinator message: some nodes
		// hear its claim, the others are left waiting after its Answer.
		var claims atomic.Int32
		var dead atomic.Bool
		c.net.SetFilter(func(from, to string, m election.Message) bool {
			if from != "n5" {
				return true
			}
			if m.Kind == election.KindCoordinator && claims.Add(1) > 2 {
				dead.Store(true)
			}
			return !dead.Load()
		})
		c.start(ids...)
		for i := 0; !dead.Load(); i++ {
			if i > 5000 {
				t.Fatalf("n5 sent no third claim in 5s\n%s", c.dump(ids...))
			}
			c.advance(time.Millisecond)
		}
		c.kill("n5")
		heard := 0
		for _, id := range ids[:4] {
			for _, ev := range c.eventsOf(id) {
				if ev.Coordinator == "n5" {
					heard++
					break
				}
			}
		}
		// Two heard it from n5; others may have had it relayed.
		if heard < 2 {
			t.Errorf("%d nodes heard n5's claim; want at least 2", heard)
		}
		c.advance(time.Second) // membership takes a while to notice
		rest := ids[:4]
		c.setLive(rest, rest...)
		coord, epoch := c.waitAgreement(3*time.Second, rest...)
		if coord != "n4" || epoch < 2 {
			t.Fatalf("agreed on %s@%d; want n4 above n5's epoch 1", coord, epoch)
		}
		c.checkMonotonic()
	})
}

func TestElector_partition(t *testing.T) {
	t.Run("coordinator in minority", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ids := nodes(5)
			major, minor := ids[:3], ids[3:] // n5, the coordinator, is in minor
			c := newCluster(t, 1, nil, ids...)
			c.start(ids...)
			c.waitAgreement(2*time.Second, ids...)

			c.net.Partition(major, minor)
			// Before membership notices, n5's lease runs out: only n4
			// still acknowledges it.
			c.advance(500 * time.Millisecond)
			if c.nodes["n5"].CanAct() {
				t.Fatalf("n5 can act 500ms into the partition; want its lease lapsed\n%s", c.dump(ids...))
			}
			c.advance(500 * time.Millisecond) // until membership notices
			c.setLive(major, major...)
			c.setLive(minor, minor...)
			for range 100 { // 5s of partition
				c.advance(50 * time.Millisecond)
				for _, id := range minor {
					if st := c.nodes[id].Status(); st.CanAct() || st.HasMajority || st.Epoch != 1 {
						t.Fatalf("minority %s: %+v; want no majority, not acting, still epoch 1", id, st)
					}
				}
			}
			coord, epoch := c.waitAgreement(0, major...)
			if coord != "n3" || epoch != 2 || !c.nodes["n3"].CanAct() {
				t.Fatalf("majority: %s@%d; want n3@2 acting", coord, epoch)
			}
			if st := c.nodes["n5"].Status(); st.State != election.Leader {
				t.Errorf("n5 state %v; want leader (without majority)", st.State)
			}

			c.net.Heal()
			c.setLive(ids, ids...)
			coord, epoch = c.waitAgreement(2*time.Second, ids...)
			if coord != "n3" || epoch != 2 {
				t.Fatalf("after heal: %s@%d; want n3@2 (n5 must not depose it)", coord, epoch)
			}
			c.checkMonotonic()
		})
	})
	t.Run("coordinator in majority", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ids := nodes(5)
			major, minor := ids[2:], ids[:2]
			c := newCluster(t, 1, nil, ids...)
			c.start(ids...)
			c.waitAgreement(2*time.Second, ids...)

			c.net.Partition(major, minor)
			c.advance(time.Second)
			c.setLive(major, major...)
			c.setLive(minor, minor...)
			for range 100 {
				c.advance(50 * time.Millisecond)
				for _, id := range minor {
					st := c.nodes[id].Status()
					if st.CanAct() || st.State == election.Leader || st.Epoch != 1 {
						t.Fatalf("minority %s: %+v; want not leader, still epoch 1", id, st)
					}
				}
			}
			for _, id := range minor {
				if got := c.claims()[id]; len(got) > 0 {
					t.Errorf("minority %s claimed epochs %v; want none", id, got)
				}
			}
			if coord, epoch := c.waitAgreement(0, major...); coord != "n5" || epoch != 1 {
				t.Fatalf("majority: %s@%d; want n5@1 kept", coord, epoch)
			}
			c.net.Heal()
			c.setLive(ids, ids...)
			if coord, epoch := c.waitAgreement(2*time.Second, ids...); coord != "n5" || epoch != 1 {
				t.Fatalf("after heal: %s@%d; want n5@1", coord, epoch)
			}
			c.checkMonotonic()
		})
	})
}

func TestElector_higherRejoinDoesNotDepose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(5)
		c := newCluster(t, 1, nil, ids...)
		c.kill("n5") // n5 is known but down
		rest := ids[:4]
		c.setLive(rest, rest...)
		c.start(rest...)
		if coord, epoch := c.waitAgreement(2*time.Second, rest...); coord != "n4" || epoch != 1 {
			t.Fatalf("without n5: %s@%d; want n4@1", coord, epoch)
		}

		c.add("n5")
		c.start("n5")
		c.setLive(ids, ids...)
		c.advance(5 * time.Second)
		if coord, epoch, ok := c.agreement(ids...); !ok || coord != "n4" || epoch != 1 {
			t.Fatalf("after n5 rejoined: %s@%d ok=%v; want n4@1\n%s", coord, epoch, ok, c.dump(ids...))
		}

		c.kill("n4")
		c.advance(time.Second)
		left := []string{"n1", "n2", "n3", "n5"}
		c.setLive(left, left...)
		if coord, epoch := c.waitAgreement(2*time.Second, left...); coord != "n5" || epoch != 2 {
			t.Fatalf("after n4 died: %s@%d; want n5@2", coord, epoch)
		}
	})
}

func TestElector_epochsIncrease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(5)
		c := newCluster(t, 1, nil, ids...)
		c.start(ids...)
		c.waitAgreement(2*time.Second, ids...)

		live := slices.Clone(ids)
		die := func(id string) {
			c.kill(id)
			c.advance(time.Second)
			live = slices.DeleteFunc(live, func(s string) bool { return s == id })
			c.setLive(live, live...)
		}
		var seq []string
		var epochs []uint64
		step := func() {
			coord, epoch := c.waitAgreement(3*time.Second, live...)
			t.Logf("coordinator %s@%d", coord, epoch)
			seq = append(seq, coord)
			epochs = append(epochs, epoch)
		}
		step()      // n5@1
		die("n5")   // -> n4
		step()      //
		die("n4")   // -> n3, 3 of 5 still live: a majority
		step()      //
		c.add("n5") // n5 restarts with no memory of epochs
		c.start("n5")
		live = append(live, "n5")
		c.setLive(live, live...)
		c.advance(2 * time.Second)
		step() // still n3: a restarted n5 does not depose it
		die("n3")
		step() // n5, above every epoch before, though it forgot them

		wantCoords := []string{"n5", "n4", "n3", "n3", "n5"}
		if !slices.Equal(seq, wantCoords) {
			t.Errorf("coordinators %v; want %v", seq, wantCoords)
		}
		for i := 1; i < len(epochs); i++ {
			same := seq[i] == seq[i-1]
			if (same && epochs[i] != epochs[i-1]) || (!same && epochs[i] <= epochs[i-1]) {
				t.Errorf("epochs %v for %v; want strictly increasing across coordinators", epochs, seq)
				break
			}
		}
		// Every epoch names one coordinator.
		owner := map[uint64]string{}
		for id, es := range c.claims() {
			for _, e := range es {
				if o, ok := owner[e]; ok && o != id {
					t.Errorf("epoch %d claimed by %s and %s", e, o, id)
				}
				owner[e] = id
			}
		}
		c.checkMonotonic()
	})
}

// TestElector_chaos kills and revives random nodes under message loss and
// checks the invariants that must hold at every step.
func TestElector_chaos(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(5)
		c := newCluster(t, 7, nil, ids...)
		c.net.SetDropRate(0.1)
		c.lossy = true
		c.start(ids...)
		rng := rand.New(rand.NewPCG(7, 7))
		down := map[string]bool{}
		for range 20 {
			id := ids[rng.IntN(len(ids))]
			if down[id] {
				c.add(id)
				c.start(id)
				delete(down, id)
			} else if len(down) < 2 {
				c.kill(id)
				down[id] = true
			}
			var live []string
			for _, id := range ids {
				if !down[id] {
					live = append(live, id)
				}
			}
			c.advance(500 * time.Millisecond)
			c.setLive(live, live...)
			c.advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
		var live []string
		for _, id := range ids {
			if !down[id] {
				live = append(live, id)
			}
		}
		c.net.SetDropRate(0)
		c.waitAgreement(5*time.Second, live...)
		c.checkMonotonic()
	})
}

// A node that is not a candidate (a replica) never leads, even with the
// highest id; a leader that stops being one steps down and the next
// highest takes over.
func TestElector_nonCandidateOnlyListens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := nodes(4)
		c := newCluster(t, 1, nil, ids...)
		c.nodes["n4"].SetCandidate(false)
		masters := ids[:3]
		c.setLive(masters, masters...)
		for _, id := range masters {
			c.nodes[id].SetListeners([]string{"n4"})
		}
		c.start(ids...)
		coord, _ := c.waitAgreement(3*time.Second, masters...)
		if coord != "n3" {
			t.Fatalf("masters agreed on %s; want n3 (n4 is not a candidate)", coord)
		}
		c.advance(3 * time.Second)
		if c.nodes["n4"].CanAct() {
			t.Fatal("a non-candidate can act")
		}
		if got, _ := c.nodes["n4"].Coordinator(); got != "n3" {
			t.Fatalf("the listener follows %q; want n3, whose heartbeats reach it", got)
		}
		// n3 becomes a replica: the masters are n1 and n2 now.
		c.nodes["n3"].SetCandidate(false)
		for _, id := range ids[:2] {
			c.nodes[id].SetMembers(ids[:2], ids[:2])
		}
		coord, _ = c.waitAgreement(5*time.Second, ids[:2]...)
		if coord != "n2" || c.nodes["n3"].CanAct() {
			t.Fatalf("after n3 stopped being a candidate: %s leads, n3 can act %v; want n2", coord, c.nodes["n3"].CanAct())
		}
	})
}
