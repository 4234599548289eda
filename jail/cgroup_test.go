//go:build linux && amd64

package jail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJail_cgroupV2 exercises the cgroup v2 code on this machine's v2
// hierarchy when it is mounted apart from v1 (hybrid systems mount it at
// /sys/fs/cgroup/unified, usually with no controllers): runs are cloned
// into their slot and killed through cgroup.kill.
func TestJail_cgroupV2(t *testing.T) {
	root := "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		root = "/sys/fs/cgroup/unified"
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil || os.Geteuid() != 0 {
		t.Skip("no cgroup v2 hierarchy, or not root")
	}
	j := newTestJail(t, func(c *Config) { c.CgroupRoot = root })
	if f := j.Features(); f.Cgroup != "v2" {
		t.Fatalf("features %+v; want cgroup v2", f)
	}
	b := load(t, j, "sleep", cProgram(t, "hostile/sleep.c"))
	done := make(chan error, 1)
	go func() {
		_, err := j.Run(context.Background(), b, &Spec{Limits: Limits{Wall: 500 * time.Millisecond}})
		done <- err
	}()
	var seen []int
	for deadline := time.Now().Add(400 * time.Millisecond); time.Now().Before(deadline) && seen == nil; time.Sleep(10 * time.Millisecond) {
		for _, s := range j.cgroups.all {
			seen = append(seen, s.procs()...)
		}
	}
	if len(seen) == 0 {
		t.Error("the lambda never appeared in its cgroup slot")
	}
	var ke *KillError
	if err := <-done; !errors.As(err, &ke) || !strings.HasPrefix(ke.Reason, "timeout") {
		t.Errorf("Run: %v; want a timeout", err)
	}
	if res, err := j.Run(context.Background(), load(t, j, "true", launcherBin), &Spec{Argv0: "lkv-jail-selftest"}); err != nil || res.ExitCode != 0 {
		t.Errorf("Run: %v %+v", err, res)
	}
}

func TestOwnCgroup(t *testing.T) {
	if got := ownCgroup("no-such-controller"); got != "/" {
		t.Errorf("ownCgroup(unknown) = %q; want /", got)
	}
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil && strings.Contains(string(data), "0::") {
		if got := ownCgroup(""); !strings.HasPrefix(got, "/") {
			t.Errorf("ownCgroup(v2) = %q", got)
		}
	}
}
