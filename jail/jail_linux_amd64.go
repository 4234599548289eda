//go:build linux && amd64

package jail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// Jail runs lambdas in a sandbox. Create it with New, call Start once,
// then Run any number of lambdas concurrently, and Shutdown at the end.
// All methods are safe to call concurrently. The zero value is not usable.
type Jail struct {
	cfg    Config
	logger hclog.Logger

	startMu      sync.Mutex // held by Start; Shutdown waits for it
	shutdownLock sync.Mutex // guards shutdown, started and wg.Add
	shutdown     bool
	started      bool
	shutdownCh   chan struct{}
	wg           sync.WaitGroup // every goroutine and every Run in flight

	// Set by Start, read-only afterwards.
	features     Features
	ownStateDir  bool        // StateDir was created by Start and is removed whole
	tmpfs        bool        // workRoot is a tmpfs we mounted
	stateLock    *os.File    // flock on StateDir/.lock while started
	launcherPath string      // the launcher executable
	launcherStat unix.Stat_t // its device and inode, to recognise its exec
	workRoot     string      // parent of the working directories
	filter       []byte      // encoded seccomp program
	landlock     landlockPolicy
	devNull      *os.File // O_PATH of /dev/null, for the Landlock rule
	netns        *os.File // empty network namespace, nil if not root
	uids         *uidPool // nil if not root
	uidBlock     *uidBlock
	cgroups      *cgroupPool
	cache        *binaryCache
	workers      *workerPool

	runSeq atomic.Uint64 // names working directories
}

// New validates cfg and returns a Jail that is not started. It starts no
// goroutines and touches no files. cfg is copied.
func New(cfg *Config) (*Jail, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	return &Jail{cfg: c, logger: c.Logger, shutdownCh: make(chan struct{})}, nil
}

// Start probes the kernel, prepares the state directory, the launcher,
// the network namespace and the cgroups, proves the whole pipeline with a
// self-test run, and logs which protections are active. If a step fails,
// everything is undone and the Jail is closed. Calling Start twice is an
// error.
func (j *Jail) Start(ctx context.Context) error {
	j.startMu.Lock()
	defer j.startMu.Unlock()
	j.shutdownLock.Lock()
	state := j.shutdown || j.started
	j.shutdownLock.Unlock()
	if state {
		return errors.New("jail: Start after Start or Shutdown")
	}
	err := j.setup()
	j.shutdownLock.Lock()
	j.started = err == nil
	j.shutdownLock.Unlock()
	if err == nil {
		if err = j.selfTest(ctx); err != nil {
			err = fmt.Errorf("jail: self-test: %w", err)
		}
	}
	if err != nil {
		_ = j.closeLocked(context.Background()) // workers exit at once
		return err
	}
	j.logFeatures()
	return nil
}

// setup does the work of Start before the self-test.
func (j *Jail) setup() error {
	root := os.Geteuid() == 0
	abi := landlockABI()
	if !root && abi == 0 {
		return fmt.Errorf("%w: neither Landlock nor root is available to confine the filesystem", ErrUnsupported)
	}
	j.features = Features{Root: root, Landlock: abi, Seccomp: true, Ptrace: true}
	j.landlock = newLandlockPolicy(abi)
	if err := j.setupFiles(); err != nil {
		return err
	}
	prog, err := buildFilter()
	if err != nil {
		return err
	}
	j.filter = encodeFilter(prog)
	j.cache = newBinaryCache(filepath.Join(j.cfg.StateDir, "bin"), j.cfg.BinaryCacheBytes)
	j.workers = newWorkerPool(j, j.cfg.SpreadCPUs)
	if root {
		if err := j.setupRoot(); err != nil {
			return err
		}
	}
	j.noteDegraded()
	return nil
}

// setupFiles creates the state directory and writes the launcher.
func (j *Jail) setupFiles() error {
	if err := j.stateDir(); err != nil {
		return err
	}
	j.workRoot = filepath.Join(j.cfg.StateDir, "w")
	for _, d := range []string{j.workRoot, filepath.Join(j.cfg.StateDir, "bin")} {
		if err := os.Mkdir(d, 0o700); err != nil && !os.IsExist(err) {
			return fmt.Errorf("jail: %w", err)
		}
	}
	if os.Geteuid() == 0 && j.cfg.WorkdirSize >= 0 {
		if err := mountTmpfs(j.workRoot, j.cfg.WorkdirSize); err != nil {
			j.logger.Warn("working directories stay on disk", "error", err)
		} else {
			j.tmpfs = true
		}
	}
	j.launcherPath = filepath.Join(j.cfg.StateDir, "launcher")
	if err := writeExecutable(j.launcherPath, launcherBin); err != nil {
		return fmt.Errorf("jail: write launcher: %w", err)
	}
	if err := unix.Stat(j.launcherPath, &j.launcherStat); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	f, err := os.OpenFile("/dev/null", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	j.devNull = f
	return nil
}

// stateDir creates and locks the state directory. When the default one
// is held by another jail of this process, it takes a fresh one beside it.
func (j *Jail) stateDir() error {
	own, err := j.makeStateDir(j.cfg.StateDir)
	if err != nil && j.cfg.StateDir == defaultStateDir() && j.stateLock == nil {
		dir, terr := os.MkdirTemp(os.TempDir(), "lkv-jail-"+strconv.Itoa(os.Getpid())+"-")
		if terr != nil {
			return fmt.Errorf("jail: state dir: %w", terr)
		}
		j.cfg.StateDir = dir
		_, err = j.makeStateDir(dir)
		own = true
	}
	j.ownStateDir = own
	return err
}

// makeStateDir creates dir (0700), or cleans what an earlier jail left in
// it, and reports whether it created it. An existing dir must not be a
// symlink or belong to another user, and must not be in use: the jail
// holds an exclusive flock on dir/.lock while it is started.
func (j *Jail) makeStateDir(dir string) (bool, error) {
	err := os.Mkdir(dir, 0o700)
	created := err == nil
	if err != nil && !os.IsExist(err) {
		return false, fmt.Errorf("jail: state dir: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return false, fmt.Errorf("jail: state dir: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() {
		return false, fmt.Errorf("jail: state dir %s is not a directory owned by uid %d", dir, os.Geteuid())
	}
	if err := j.lockStateDir(dir); err != nil || created {
		return created, err
	}
	_ = unix.Unmount(filepath.Join(dir, "w"), unix.MNT_DETACH) // a tmpfs left by a crash
	for _, sub := range []string{"w", "bin", "launcher"} {
		if err := removeAll(filepath.Join(dir, sub)); err != nil {
			return false, fmt.Errorf("jail: clean state dir: %w", err)
		}
	}
	return false, os.Chmod(dir, 0o700)
}

// lockStateDir takes the state directory's lock, so that two nodes
// configured with the same directory cannot remove each other's files.
func (j *Jail) lockStateDir(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("jail: state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("jail: state dir %s is in use by another process", dir)
	}
	j.stateLock = f
	return nil
}

// mountTmpfs mounts a private tmpfs for working directories on dir:
// nothing on it can be executed, and no device or set-uid file works.
func mountTmpfs(dir string, size int64) error {
	opts := "mode=0700"
	if size > 0 {
		opts += ",size=" + strconv.FormatInt(size, 10)
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("lkv-jail", dir, "tmpfs", flags, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// setupRoot enables what only root can do; each part degrades alone,
// except the per-run uids: as root, lambdas must never run as root.
func (j *Jail) setupRoot() error {
	blk, err := claimUIDBlock(uidLockDir(), j.cfg.UIDRange)
	if err != nil {
		return fmt.Errorf("jail: uids for lambdas: %w", err)
	}
	j.uidBlock = blk
	j.uids = newUIDPool([2]int{blk.lo, blk.hi})
	j.features.UIDs = true
	if ns, err := newEmptyNetNS(); err != nil {
		j.logger.Warn("no network namespace for lambdas", "error", err)
	} else {
		j.netns = ns
		j.features.NetNS = true
	}
	cg, err := newCgroupPool(j.cfg.CgroupRoot, j.cfg.CgroupParent, j.logger)
	if err != nil {
		j.logger.Warn("no cgroups for lambdas", "error", err)
		return nil
	}
	j.cgroups = cg
	j.features.Cgroup, j.features.CgroupMemory, j.features.CgroupPids = cg.version, cg.memory, cg.pids
	return nil
}

// noteDegraded lists what is missing, for Features and the logs.
func (j *Jail) noteDegraded() {
	f := &j.features
	add := func(s string) { f.Degraded = append(f.Degraded, s) }
	if f.Landlock == 0 {
		add("no Landlock: the filesystem is confined by uid permissions only")
	} else if f.Landlock < 4 {
		add("Landlock ABI " + strconv.Itoa(f.Landlock) + ": no TCP rules (seccomp still denies sockets)")
	} else if f.Landlock < 6 {
		add("Landlock ABI " + strconv.Itoa(f.Landlock) + ": no signal or abstract-socket scoping")
	}
	if !f.Root {
		add("not root: lambdas run as the node's uid, share its network namespace, and have no cgroup (memory limit is RLIMIT_DATA only)")
		return
	}
	if !f.NetNS {
		add("no empty network namespace (seccomp still denies sockets)")
	}
	if f.Cgroup == "" {
		add("no cgroup: memory limit is RLIMIT_DATA only")
	} else if !f.CgroupMemory || !f.CgroupPids {
		add("cgroup " + f.Cgroup + " without the memory or pids controller")
	}
}

// logFeatures says at start-up what is enforced.
func (j *Jail) logFeatures() {
	f := j.features
	uids := "none"
	if j.uids != nil {
		uids = strconv.Itoa(j.uids.lo) + "-" + strconv.Itoa(j.uids.hi)
	}
	j.logger.Info("sandbox ready", "root", f.Root, "landlock_abi", f.Landlock, "seccomp", f.Seccomp,
		"ptrace", f.Ptrace, "run_uids", uids, "netns", f.NetNS, "cgroup", f.Cgroup,
		"cgroup_memory", f.CgroupMemory, "cgroup_pids", f.CgroupPids, "workdir_tmpfs", j.tmpfs,
		"cpu_pinning", j.workers.cpus[0] >= 0, "state_dir", j.cfg.StateDir)
	for _, d := range f.Degraded {
		j.logger.Warn("sandbox degraded", "missing", d)
	}
}

// selfTest runs the launcher itself as a lambda, which then prints "ok".
func (j *Jail) selfTest(ctx context.Context) error {
	b, err := j.LoadBinary("lkv-jail-selftest", launcherBin)
	if err != nil {
		return err
	}
	res, err := j.Run(ctx, b, &Spec{Argv0: "lkv-jail-selftest"})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 || string(res.Stdout) != "ok\n" {
		return fmt.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	return nil
}

// Features reports which protections are active. It is the zero value
// before Start. Safe to call concurrently.
func (j *Jail) Features() Features {
	j.shutdownLock.Lock()
	defer j.shutdownLock.Unlock()
	if !j.started {
		return Features{}
	}
	f := j.features
	f.Degraded = append([]string(nil), f.Degraded...)
	return f
}

// Shutdown kills every running lambda, waits for every Run and goroutine
// to finish (bounded by ctx), then removes the working directories, the
// binary cache, the cgroups and the state directory. It is idempotent;
// later calls to Run, LoadBinary and Start return ErrClosed.
func (j *Jail) Shutdown(ctx context.Context) error {
	j.startMu.Lock()
	defer j.startMu.Unlock()
	return j.closeLocked(ctx)
}

// closeLocked is Shutdown; startMu is held.
func (j *Jail) closeLocked(ctx context.Context) error {
	j.shutdownLock.Lock()
	if j.shutdown {
		j.shutdownLock.Unlock()
		return nil
	}
	j.shutdown = true
	close(j.shutdownCh)
	j.shutdownLock.Unlock()

	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("jail: shutdown: %w", ctx.Err())
	}
	if j.launcherPath == "" && j.cache == nil {
		return nil // never set up
	}
	return j.teardown()
}

// ShutdownCh is closed when Shutdown starts.
func (j *Jail) ShutdownCh() <-chan struct{} { return j.shutdownCh }

// teardown releases what setup acquired. Every Run has finished.
func (j *Jail) teardown() error {
	var errs []error
	if j.cache != nil {
		j.cache.close()
	}
	if j.cgroups != nil {
		errs = append(errs, j.cgroups.close())
	}
	for _, f := range []*os.File{j.netns, j.devNull} {
		if f != nil {
			f.Close()
		}
	}
	if j.uidBlock != nil {
		j.uidBlock.lock.Close() // releases the flock
	}
	defer func() {
		if j.stateLock != nil {
			j.stateLock.Close()
		}
	}()
	if j.launcherPath != "" {
		errs = append(errs, j.removeState())
	}
	return errors.Join(errs...)
}

// removeState removes the state directory, or what we made in it.
func (j *Jail) removeState() error {
	if j.tmpfs {
		if err := unix.Unmount(j.workRoot, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("jail: unmount %s: %w", j.workRoot, err)
		}
		j.tmpfs = false
	}
	if j.ownStateDir {
		return removeAll(j.cfg.StateDir)
	}
	var errs []error
	for _, p := range []string{j.workRoot, filepath.Join(j.cfg.StateDir, "bin"), j.launcherPath,
		filepath.Join(j.cfg.StateDir, ".lock")} {
		errs = append(errs, removeAll(p))
	}
	return errors.Join(errs...)
}

// enter registers a Run (or LoadBinary) in flight; the caller must call
// j.wg.Done when it returns.
func (j *Jail) enter() error {
	j.shutdownLock.Lock()
	defer j.shutdownLock.Unlock()
	switch {
	case j.shutdown:
		return ErrClosed
	case !j.started:
		return ErrNotStarted
	}
	j.wg.Add(1)
	return nil
}

// goFunc runs f in a goroutine that Shutdown waits for. The caller must
// be inside enter/Done (or hold shutdownLock before shutdown), so that
// Add never races with Wait.
func (j *Jail) goFunc(f func()) {
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		f()
	}()
}
