//go:build linux && amd64

package jail

import (
	"os"
	"testing"
)

// TestClaimUIDBlock checks that two claimants never get the same block and
// that a released block is claimed again.
func TestClaimUIDBlock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the lock directory must be owned by root")
	}
	dir := t.TempDir() + "/locks"
	r := [2]int{5000, 5000 + 2*uidBlockSize + 9}
	a, err := claimUIDBlock(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file description: a second open in this process
	// conflicts just as another process would.
	b, err := claimUIDBlock(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := claimUIDBlock(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if a.lo != 5000 || b.lo != 5000+uidBlockSize || c.lo != 5000+2*uidBlockSize || c.hi != r[1] {
		t.Errorf("blocks %d-%d %d-%d %d-%d", a.lo, a.hi, b.lo, b.hi, c.lo, c.hi)
	}
	if _, err := claimUIDBlock(dir, r); err == nil {
		t.Error("a fourth claim succeeded")
	}
	b.lock.Close()
	if d, err := claimUIDBlock(dir, r); err != nil || d.lo != b.lo {
		t.Errorf("after release: %+v, %v; want block %d", d, err, b.lo)
	}
	os.Chmod(dir, 0o777)
	if _, err := claimUIDBlock(dir, r); err == nil {
		t.Error("a world-writable lock directory was accepted")
	}
}
