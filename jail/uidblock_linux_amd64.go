//go:build linux && amd64

package jail

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// uidBlockSize is how many uids one jail claims: far more than the runs
// one node has at a time.
const uidBlockSize = 1024

// uidBlock is a part of Config.UIDRange that this process holds an
// exclusive lock on, so that two nodes on one machine (which would
// otherwise both start at the same default range) never hand the same uid
// to two runs at once: a shared uid would let their lambdas count against
// each other's RLIMIT_NPROC and weaken the isolation between them. The
// lock is an flock on a root-owned file; the kernel drops it when the
// process dies, so a crash frees the block.
type uidBlock struct {
	lo, hi int
	lock   *os.File
}

// claimUIDBlock locks the first free block of r in dir.
func claimUIDBlock(dir string, r [2]int) (*uidBlock, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s is not a directory that only root can write", dir)
	}
	for lo := r[0]; lo <= r[1]; lo += uidBlockSize {
		hi := min(lo+uidBlockSize-1, r[1])
		name := filepath.Join(dir, fmt.Sprintf("uids-%d-%d.lock", lo, hi))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, err
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			return &uidBlock{lo: lo, hi: hi, lock: f}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("every block of %d uids in %v is held by another process", uidBlockSize, r)
}

// uidLockDir is where the block locks of every jail on the machine live.
func uidLockDir() string {
	if fi, err := os.Stat("/run"); err == nil && fi.IsDir() {
		return "/run/lkv-jail"
	}
	return filepath.Join(os.TempDir(), "lkv-jail-uids")
}
