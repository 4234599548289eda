//go:build linux && amd64

package jail

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadOutput checks the read-back rules directly, on a tree the lambda
// could not even build (it may not create links): symlinks in any
// component, hard links, FIFOs, directories and oversized files are
// refused.
func TestReadOutput(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	mustWrite(t, secret, "secret", 0o644)
	mustWrite(t, filepath.Join(dir, "ok"), "fine", 0o644)
	mustWrite(t, filepath.Join(dir, "big"), string(bytes.Repeat([]byte("b"), 100)), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	mustWrite(t, filepath.Join(dir, "sub", "f"), "nested", 0o644)
	os.Symlink(secret, filepath.Join(dir, "sym"))
	os.Symlink(filepath.Dir(secret), filepath.Join(dir, "symdir"))
	os.Link(secret, filepath.Join(dir, "hard"))
	unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for name, want := range map[string]string{"ok": "fine", "sub/f": "nested"} {
		if got, err := readOutput(fd, name, 64); err != nil || string(got) != want {
			t.Errorf("readOutput(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"sym", "symdir/secret", "hard", "fifo", "sub", "big", "missing", "../" + filepath.Base(dir) + "/ok"} {
		if got, err := readOutput(fd, name, 64); err == nil {
			t.Errorf("readOutput(%s) = %q; want an error", name, got)
		}
	}
}

// TestJail_LoadBinary_cache checks caching by id, content addressing,
// eviction by size, and that an evicted binary still runs.
func TestJail_LoadBinary_cache(t *testing.T) {
	j := newTestJail(t, func(c *Config) { c.BinaryCacheBytes = int64(len(launcherBin)) * 2 })
	a := load(t, j, "a", launcherBin)
	if b := load(t, j, "a", nil); b != a {
		t.Error("a second LoadBinary of the same id did not return the cached Binary")
	}
	if b, ok := j.CachedBinary("a"); !ok || b != a {
		t.Error("CachedBinary(a) missed")
	}
	b := load(t, j, "b", launcherBin) // same bytes: same file
	if a.sum != b.sum {
		t.Error("identical contents got different files")
	}
	other := append(append([]byte(nil), launcherBin...), 0) // a different file
	load(t, j, "c", other)
	load(t, j, "d", append(other, 1))
	if _, ok := j.CachedBinary("a"); ok {
		t.Error("a was not evicted")
	}
	files, _ := os.ReadDir(filepath.Join(j.cfg.StateDir, "bin"))
	if len(files) > 2 {
		t.Errorf("%d files in the cache; want at most 2", len(files))
	}
	res, err := j.Run(context.Background(), a, &Spec{Argv0: "lkv-jail-selftest"})
	if err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("evicted binary: %v %+v", err, res)
	}
	if _, err := j.LoadBinary("bad", []byte("#!/bin/sh\n")); err == nil {
		t.Error("a script was accepted")
	}
}

// TestLauncher_reproducible rebuilds the launcher with gcc and compares it
// with the committed (embedded) binary.
func TestLauncher_reproducible(t *testing.T) {
	needGCC(t)
	out := filepath.Join(t.TempDir(), "launcher.bin")
	cmd := exec.Command("./launcher/build.sh", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, msg)
	}
	if !bytes.Equal(mustRead(t, out), launcherBin) {
		t.Error("launcher/launcher.bin is stale or the build is not reproducible: run launcher/build.sh and commit")
	}
}

// TestJail_Run_i386 checks that 32-bit binaries never reach the kernel.
func TestJail_Run_i386(t *testing.T) {
	j := newTestJail(t, nil)
	if _, err := j.LoadBinary("i386", elfHeader(1, 3, 2, 1)); err == nil {
		t.Error("a hand-made ELF32 i386 header was accepted")
	}
	needGCC(t)
	out := filepath.Join(t.TempDir(), "i386")
	src := filepath.Join(t.TempDir(), "x.c")
	mustWrite(t, src, "void _start(void){ __asm__ volatile(\"mov $1,%eax; xor %ebx,%ebx; int $0x80\"); }\n", 0o644)
	if msg, err := exec.Command("gcc", "-m32", "-nostdlib", "-static", "-o", out, src).CombinedOutput(); err != nil {
		t.Skipf("gcc -m32 cannot build here (no multilib): %s", msg)
	}
	if _, err := j.LoadBinary("i386-gcc", mustRead(t, out)); err == nil {
		t.Error("a gcc -m32 binary was accepted")
	}
}
