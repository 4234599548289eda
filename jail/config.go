package jail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Built-in default limits, used where Config.Defaults has a zero field.
const (
	DefaultWall      = 30 * time.Second
	DefaultCPU       = 10 * time.Second
	DefaultMemory    = 512 << 20
	DefaultProcs     = 64
	DefaultFileSize  = 256 << 20
	DefaultOpenFiles = 64
	DefaultStdout    = 64 << 20

	// DefaultBinaryCacheBytes bounds the on-disk binary cache.
	DefaultBinaryCacheBytes = 1 << 30

	// StderrLimit is how much of a lambda's stderr Run keeps; the rest is
	// read and discarded.
	StderrLimit = 64 << 10
)

// DefaultUIDFirst and DefaultUIDLast bound the uids (and gids) handed to
// runs when the node is root and Config.UIDRange is zero: far above the
// uids a distribution hands out, below the 32-bit overflow uid.
const (
	DefaultUIDFirst = 1100000
	DefaultUIDLast  = 1165535
)

// Limits bounds one run. A zero field means "use the default" (in a Spec:
// Config.Defaults; in Config.Defaults: the built-in default; in Config.Max:
// the effective default, so that requests can only lower it). Limits is a
// plain value; the zero value means all defaults.
type Limits struct {
	// Wall is the wall-clock time after which the run is killed with
	// "timeout <Wall>".
	Wall time.Duration
	// CPU is the CPU time (user+system), rounded up to whole seconds
	// (RLIMIT_CPU, soft = hard); exceeding it kills with "cpu limit".
	CPU time.Duration
	// Memory is in bytes: the cgroup memory limit as root (breach: "memory
	// limit"), and RLIMIT_DATA as a backstop (allocations fail).
	Memory int64
	// Procs counts processes and threads of the run (cgroup pids.max,
	// the tracer's own count, RLIMIT_NPROC with a per-run uid); exceeding
	// it kills with "process limit".
	Procs int
	// FileSize is the largest file the lambda may write, in bytes
	// (RLIMIT_FSIZE); it also caps each Output read back.
	FileSize int64
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles int
	// Stdout is how many bytes of stdout are read; one more kills the run
	// with "output limit".
	Stdout int64
}

// builtinLimits returns the defaults of last resort.
func builtinLimits() Limits {
	return Limits{
		Wall: DefaultWall, CPU: DefaultCPU, Memory: DefaultMemory, Procs: DefaultProcs,
		FileSize: DefaultFileSize, OpenFiles: DefaultOpenFiles, Stdout: DefaultStdout,
	}
}

// Config configures a Jail. Use DefaultConfig and change what you need.
type Config struct {
	// StateDir holds the working directories, the binary cache and the
	// launcher. If empty, it is os.TempDir()/lkv-jail-<pid> (or, if another
	// jail of this process holds that, a fresh lkv-jail-<pid>-* beside it)
	// and Shutdown removes it; otherwise Shutdown removes what the jail
	// created in it. Two jails cannot share one.
	StateDir string

	// Defaults are the limits of a run that asks for none. Zero fields
	// take the built-in defaults (DefaultWall, DefaultCPU, ...).
	Defaults Limits

	// Max caps per-request limits. Zero fields take the effective
	// default, so a request may lower that limit but not raise it.
	Max Limits

	// UIDRange is the inclusive range of uids (gid = uid) given to runs
	// when the node is root, one per concurrent run, round robin. If zero,
	// DefaultUIDFirst to DefaultUIDLast. Ignored when not root.
	UIDRange [2]int

	// CgroupRoot is where the cgroup hierarchies are mounted. If empty,
	// /sys/fs/cgroup: cgroup v2 when cgroup.controllers exists there,
	// otherwise v1 with the memory and pids controllers in subdirectories.
	CgroupRoot string

	// CgroupParent is the cgroup, relative to each hierarchy's root, under
	// which the jail creates its own (lkv-jail-<pid>/slot-N). If empty:
	// with cgroup v2 the cgroup the node process is in (which must have
	// the memory and pids controllers delegated), with v1 the root of the
	// memory and pids hierarchies.
	CgroupParent string

	// WorkdirSize is the size in bytes of the tmpfs that holds the working
	// directories when the node is root (creating and removing directories
	// there is much cheaper than on a disk, a crash leaves nothing on
	// disk, and the bytes a lambda writes count against its memory limit).
	// If zero, the tmpfs default (half of RAM); if negative, no tmpfs is
	// mounted and working directories live on StateDir's filesystem.
	WorkdirSize int64

	// BinaryCacheBytes bounds the bytes of lambda binaries kept on disk.
	// If zero, DefaultBinaryCacheBytes. A binary in use is never removed
	// from under a run.
	BinaryCacheBytes int64

	// SpreadCPUs lets each lambda run on every CPU the node may use. By
	// default a run is confined to one CPU, the one its supervisor thread
	// is pinned to (runs go to the least busy CPU): every ptrace stop is
	// then much cheaper, which matters most for Go lambdas, whose runtime
	// makes several stops as it starts its threads. A run that asks for
	// more CPU time than Defaults.CPU is spread all the same: it is a long
	// computation (a compiler), whose threads gain more from the other
	// CPUs than its few stops lose.
	SpreadCPUs bool

	// Logger receives the jail's logs. If nil, hclog.New named "jail".
	Logger hclog.Logger
}

// DefaultConfig returns a new Config with the built-in defaults filled in.
func DefaultConfig() *Config {
	return &Config{
		Defaults:         builtinLimits(),
		Max:              builtinLimits(),
		UIDRange:         [2]int{DefaultUIDFirst, DefaultUIDLast},
		BinaryCacheBytes: DefaultBinaryCacheBytes,
	}
}

// Validate reports the first field of c that is invalid and why.
func (c *Config) Validate() error {
	if err := c.Defaults.validate(); err != nil {
		return fmt.Errorf("jail config: Defaults: %w", err)
	}
	if err := c.Max.validate(); err != nil {
		return fmt.Errorf("jail config: Max: %w", err)
	}
	def := c.Defaults.or(builtinLimits())
	if err := def.within(c.Max.or(def)); err != nil {
		return fmt.Errorf("jail config: Defaults above Max: %w", err)
	}
	if r := c.UIDRange; r != [2]int{} && (r[0] <= 0 || r[1] < r[0] || r[1] >= 1<<31-2) {
		return fmt.Errorf("jail config: UIDRange %v: want 0 < first <= last < 2^31-2", r)
	}
	if c.BinaryCacheBytes < 0 {
		return errors.New("jail config: BinaryCacheBytes is negative")
	}
	if c.StateDir != "" && !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("jail config: StateDir %q is not absolute", c.StateDir)
	}
	return nil
}

// withDefaults returns a copy of c with every zero field resolved.
func (c *Config) withDefaults() Config {
	out := *c
	out.Defaults = c.Defaults.or(builtinLimits())
	out.Max = c.Max.or(out.Defaults)
	if out.UIDRange == [2]int{} {
		out.UIDRange = [2]int{DefaultUIDFirst, DefaultUIDLast}
	}
	if out.BinaryCacheBytes == 0 {
		out.BinaryCacheBytes = DefaultBinaryCacheBytes
	}
	if out.CgroupRoot == "" {
		out.CgroupRoot = "/sys/fs/cgroup"
	}
	if out.StateDir == "" {
		out.StateDir = defaultStateDir()
	}
	if out.Logger == nil {
		out.Logger = hclog.New(&hclog.LoggerOptions{Name: "jail"})
	}
	return out
}

// defaultStateDir is where a jail keeps its state unless told otherwise.
func defaultStateDir() string {
	return filepath.Join(os.TempDir(), "lkv-jail-"+strconv.Itoa(os.Getpid()))
}

// validate rejects negative fields.
func (l Limits) validate() error {
	switch {
	case l.Wall < 0, l.CPU < 0:
		return errors.New("negative time limit")
	case l.Memory < 0, l.FileSize < 0, l.Stdout < 0:
		return errors.New("negative byte limit")
	case l.Procs < 0, l.OpenFiles < 0:
		return errors.New("negative count limit")
	}
	return nil
}

// or returns l with its zero fields taken from d.
func (l Limits) or(d Limits) Limits {
	if l.Wall == 0 {
		l.Wall = d.Wall
	}
	if l.CPU == 0 {
		l.CPU = d.CPU
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Procs == 0 {
		l.Procs = d.Procs
	}
	if l.FileSize == 0 {
		l.FileSize = d.FileSize
	}
	if l.OpenFiles == 0 {
		l.OpenFiles = d.OpenFiles
	}
	if l.Stdout == 0 {
		l.Stdout = d.Stdout
	}
	return l
}

// min returns l with each field capped at m's.
func (l Limits) min(m Limits) Limits {
	return Limits{
		Wall: min(l.Wall, m.Wall), CPU: min(l.CPU, m.CPU), Memory: min(l.Memory, m.Memory),
		Procs: min(l.Procs, m.Procs), FileSize: min(l.FileSize, m.FileSize),
		OpenFiles: min(l.OpenFiles, m.OpenFiles), Stdout: min(l.Stdout, m.Stdout),
	}
}

// within reports the first field of l above m's.
func (l Limits) within(m Limits) error {
	if l.min(m) != l {
		return fmt.Errorf("%+v exceeds %+v", l, m)
	}
	return nil
}

// resolve returns the limits of one run: req's fields, defaults for zero
// fields, capped at the maximum.
func resolve(req, def, max Limits) Limits {
	return req.or(def).min(max)
}
