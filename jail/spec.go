package jail

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Name limits for Files and Outputs.
const (
	maxNameLen  = 1024 // bytes in a whole relative name
	maxNameElem = 255  // bytes in one path element
	maxFiles    = 10000
)

// Spec describes one run. The zero value runs the lambda with no
// arguments, no environment, empty stdin and the default limits.
type Spec struct {
	// Args are argv[1:].
	Args []string
	// Argv0 is argv[0]. If empty, "lambda".
	Argv0 string
	// Env is the environment, as "KEY=value" strings. Empty by default:
	// nothing of the node's environment is passed.
	Env []string
	// Stdin is written to the lambda's stdin, which is then closed.
	Stdin []byte
	// Files are written into the fresh working directory before the run,
	// as read-only copies owned by the node (0444 unless Mode says less).
	Files []File
	// Outputs are regular files read back from the working directory after
	// the lambda exits. Symbolic links, hard links, directories, devices,
	// files that are missing or larger than Limits.FileSize are left out of
	// Result.Outputs.
	Outputs []string
	// Limits override Config.Defaults field by field (zero: the default),
	// capped at Config.Max.
	Limits Limits
	// WorkDirArg, when not empty, is replaced in Args and Env by the
	// working directory's absolute path, which is only known at run time.
	// Tools that record absolute paths need it (a compiler's -trimpath).
	WorkDirArg string
}

// File is a file put into the working directory. Name is a clean relative
// path ("a/b.txt"); missing parent directories are created. Mode's
// permission bits are masked with 0555; zero means 0444.
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
	// Writable files belong to the lambda (mode 0644, or 0755 when Mode
	// has an execute bit), for tools that rewrite an input in place.
	Writable bool
}

// Result is what a lambda that exited by itself produced. When Run
// returns a *KillError it may also return a partial Result (what was read
// before the kill).
type Result struct {
	// ExitCode is the exit status, or 128+signal when the lambda died of a
	// signal it sent itself (or that the kernel sent for its own fault).
	ExitCode int
	// Stdout is everything written to stdout (at most Limits.Stdout bytes).
	Stdout []byte
	// Stderr is the first StderrLimit bytes written to stderr.
	Stderr []byte
	// Outputs maps each name in Spec.Outputs that was a regular file to
	// its contents.
	Outputs map[string][]byte
	// Wall is the wall-clock time from fork to exit.
	Wall time.Duration
	// CPU is the user+system CPU time of the lambda.
	CPU time.Duration
}

// Features says which protections are active. The zero value means none.
type Features struct {
	// Root is true when the node runs as root: per-run uids, network
	// namespace and cgroups become possible.
	Root bool `json:"root"`
	// Landlock is the Landlock ABI version in use, 0 if unavailable.
	Landlock int `json:"landlock"`
	// Seccomp and Ptrace are always true on a started jail.
	Seccomp bool `json:"seccomp"`
	Ptrace  bool `json:"ptrace"`
	// UIDs is true when each run gets its own uid.
	UIDs bool `json:"uids"`
	// NetNS is true when runs join an empty network namespace.
	NetNS bool `json:"netns"`
	// Cgroup is "v2", "v1" or "" (none); CgroupMemory and CgroupPids say
	// which limits it enforces.
	Cgroup       string `json:"cgroup"`
	CgroupMemory bool   `json:"cgroup_memory"`
	CgroupPids   bool   `json:"cgroup_pids"`
	// Degraded lists the protections that are missing, in words.
	Degraded []string `json:"degraded,omitempty"`
}

// checkName returns an error wrapping ErrBadName unless name is a clean
// relative path inside the working directory.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || len(name) > maxNameLen:
		return fmt.Errorf("%w: %q", ErrBadName, name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: %q contains NUL", ErrBadName, name)
	case path.IsAbs(name):
		return fmt.Errorf("%w: %q is absolute", ErrBadName, name)
	case path.Clean(name) != name:
		return fmt.Errorf("%w: %q is not clean", ErrBadName, name)
	case name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("%w: %q leaves the working directory", ErrBadName, name)
	}
	for _, el := range strings.Split(name, "/") {
		if len(el) > maxNameElem {
			return fmt.Errorf("%w: %q has an element longer than %d", ErrBadName, name, maxNameElem)
		}
	}
	return nil
}

// check validates s before any work is done.
func (s *Spec) check() error {
	if len(s.Files) > maxFiles || len(s.Outputs) > maxFiles {
		return fmt.Errorf("%w: more than %d files or outputs", ErrBadSpec, maxFiles)
	}
	seen := make(map[string]bool, len(s.Files))
	for _, f := range s.Files {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: file %q given twice", ErrBadSpec, f.Name)
		}
		seen[f.Name] = true
	}
	for _, o := range s.Outputs {
		if err := checkName(o); err != nil {
			return err
		}
	}
	if err := s.Limits.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	return checkStrings(append(append([]string{s.Argv0}, s.Args...), s.Env...))
}

// checkStrings rejects argv and env strings that cannot be passed to exec.
func checkStrings(ss []string) error {
	for _, s := range ss {
		if strings.ContainsRune(s, 0) {
			return fmt.Errorf("%w: %q contains NUL", ErrBadSpec, s)
		}
	}
	return nil
}

// argv returns the lambda's full argv.
func (s *Spec) argv(workdir string) []string {
	a0 := s.Argv0
	if a0 == "" {
		a0 = "lambda"
	}
	return append([]string{a0}, s.expand(s.Args, workdir)...)
}

// env is the lambda's environment, with WorkDirArg expanded.
func (s *Spec) env(workdir string) []string { return s.expand(s.Env, workdir) }

func (s *Spec) expand(ss []string, workdir string) []string {
	if s.WorkDirArg == "" {
		return ss
	}
	out := make([]string, len(ss))
	for i, a := range ss {
		out[i] = strings.ReplaceAll(a, s.WorkDirArg, workdir)
	}
	return out
}
