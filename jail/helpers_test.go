//go:build linux && amd64

package jail

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// corpusDir holds the test programs, compiled once per test binary.
var corpusDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lkv-jail-corpus-")
	if err != nil {
		panic(err)
	}
	corpusDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu sync.Mutex          // guards built
	built   = map[string]bool{} // output names already built
)

// buildOnce runs build to make corpusDir/name unless it exists already.
func buildOnce(t testing.TB, name string, build func(out string) *exec.Cmd) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	out := filepath.Join(corpusDir, name)
	if !built[name] {
		cmd := build(out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, msg)
		}
		built[name] = true
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// needGCC skips the test when there is no C compiler (CI installs one).
func needGCC(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: the hostile C corpus needs gcc (apt-get install gcc)")
	}
}

// cProgram compiles testdata/<src> with gcc -static (plus flags).
func cProgram(t testing.TB, src string, flags ...string) []byte {
	t.Helper()
	needGCC(t)
	name := strings.NewReplacer("/", "_", ".c", "").Replace(src) + strings.Join(flags, "")
	return buildOnce(t, name, func(out string) *exec.Cmd {
		args := append([]string{"-static", "-O1", "-o", out, filepath.Join("testdata", src)}, flags...)
		return exec.Command("gcc", args...)
	})
}

// goProgram builds the main package in testdata/<dir> with CGO_ENABLED=0.
func goProgram(t testing.TB, dir string) []byte {
	t.Helper()
	name := "go_" + strings.ReplaceAll(dir, "/", "_")
	return buildOnce(t, name, func(out string) *exec.Cmd {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./"+filepath.Join("testdata", dir))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		return cmd
	})
}

// newTestJail starts a jail whose logs go to t.Log and whose cgroups live
// under each hierarchy's root (never inside the cgroup of whatever runs the
// tests). Cleanup shuts it down and checks that nothing is left behind.
func newTestJail(t testing.TB, mod func(*Config)) *Jail {
	t.Helper()
	cfg := DefaultConfig()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.CgroupParent = "/"
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "jail", Output: testWriter{t}, Level: hclog.Info})
	if mod != nil {
		mod(cfg)
	}
	j, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		checkNoLeftovers(t, j)
		if err := j.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if _, err := os.Stat(j.cfg.StateDir); !os.IsNotExist(err) {
			t.Errorf("state dir %s still exists after Shutdown (err %v)", j.cfg.StateDir, err)
		}
		checkNoCgroups(t, j)
	})
	return j
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkNoLeftovers fails if a working directory or a process of a run
// outlived it.
func checkNoLeftovers(t testing.TB, j *Jail) {
	t.Helper()
	if ents, _ := os.ReadDir(j.workRoot); len(ents) > 0 {
		t.Errorf("%d working directories left in %s", len(ents), j.workRoot)
	}
	if pids := processesOf(j); len(pids) > 0 {
		t.Errorf("processes of lambda uids still running: %v", pids)
	}
	if pids := ourChildren(); len(pids) > 0 {
		t.Errorf("children of the test process still exist: %v", pids)
	}
	if j.cgroups != nil {
		for _, s := range j.cgroups.all {
			if p := s.procs(); len(p) > 0 {
				t.Errorf("cgroup slot still holds %v", p)
			}
		}
	}
}

// checkNoCgroups fails if the jail's cgroups survived Shutdown.
func checkNoCgroups(t testing.TB, j *Jail) {
	t.Helper()
	if j.cgroups == nil {
		return
	}
	for _, d := range []string{j.cgroups.base, j.cgroups.memBase, j.cgroups.pidsBase} {
		if _, err := os.Stat(d); d != "" && !os.IsNotExist(err) {
			t.Errorf("cgroup %s still exists", d)
		}
	}
}

// processesInUIDRange lists pids whose real uid is in r.
func processesInUIDRange(r [2]int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(st), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "Uid:" {
				if uid, err := strconv.Atoi(f[1]); err == nil && uid >= r[0] && uid <= r[1] {
					out = append(out, e.Name())
				}
			}
		}
	}
	return out
}

// processesOf lists the processes running under the uids j hands out.
func processesOf(j *Jail) []string {
	if j.uids == nil {
		return nil
	}
	return processesInUIDRange([2]int{j.uids.lo, j.uids.hi})
}

// ourChildren lists processes (running or zombie) whose parent is this
// process: every lambda is one while it runs, with or without root.
func ourChildren() []string {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range ents {
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may contain spaces, so cut at the last ')'
		if i := strings.LastIndexByte(string(st), ')'); i > 0 {
			if f := strings.Fields(string(st[i+1:])); len(f) > 1 && f[1] == me {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// load loads data into j under id.
func load(t testing.TB, j *Jail, id string, data []byte) *Binary {
	t.Helper()
	b, err := j.LoadBinary(id, data)
	if err != nil {
		t.Fatalf("LoadBinary(%s): %v", id, err)
	}
	return b
}

// percentile returns the p-th percentile of ds (which it sorts).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	return ds[int(float64(len(ds)-1)*p)]
}
