//go:build linux && amd64

package jail

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// makeWorkdir creates a fresh working directory owned by uid (when >= 0)
// with files written in as read-only copies owned by us (unless Writable)
// and the parent directories of the outputs made, and returns it
// with an O_PATH handle for the launcher's Landlock rule. Nothing else can
// reach the directory yet (the state directory is 0700), so plain path
// operations are safe here; names are already checked.
func (j *Jail) makeWorkdir(uid int, files []File, outputs []string) (string, *os.File, error) {
	dir := filepath.Join(j.workRoot, strconv.FormatUint(j.runSeq.Add(1), 10))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("jail: workdir: %w", err)
	}
	fail := func(err error) (string, *os.File, error) {
		_ = removeAll(dir)
		return "", nil, err
	}
	if err := chownTo(dir, uid); err != nil {
		return fail(err)
	}
	for _, f := range files {
		if err := writeFileIn(dir, f, uid); err != nil {
			return fail(err)
		}
	}
	for _, o := range outputs {
		if err := mkdirsIn(dir, o, uid); err != nil {
			return fail(err)
		}
	}
	h, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("jail: workdir: %w", err))
	}
	return dir, h, nil
}

// writeFileIn writes f below dir, creating missing parent directories
// owned by uid, and the file itself 0444 (or Mode&0555) owned by us.
func writeFileIn(dir string, f File, uid int) error {
	if err := mkdirsIn(dir, f.Name, uid); err != nil {
		return err
	}
	mode := f.Mode.Perm() & 0o555
	if mode == 0 {
		mode = 0o444
	}
	if f.Writable {
		mode |= 0o200
	}
	p := filepath.Join(dir, f.Name)
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: file %q: %v", ErrBadSpec, f.Name, err)
	}
	_, err = out.Write(f.Data)
	if err == nil {
		err = out.Chmod(mode) // not subject to the umask
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && f.Writable {
		err = chownTo(p, uid)
	}
	if err != nil {
		return fmt.Errorf("jail: write file %q: %w", f.Name, err)
	}
	return nil
}

// mkdirsIn creates the missing parent directories of name below dir, owned
// by uid.
func mkdirsIn(dir, name string, uid int) error {
	cur := dir
	for _, el := range strings.Split(path.Dir(name), "/") {
		if el == "." {
			break
		}
		cur = filepath.Join(cur, el)
		if err := os.Mkdir(cur, 0o755); err == nil {
			if err := chownTo(cur, uid); err != nil {
				return err
			}
		} else if !os.IsExist(err) {
			return fmt.Errorf("%w: file %q: %v", ErrBadSpec, name, err)
		}
	}
	return nil
}

// chownTo gives p to uid:uid, unless uid < 0.
func chownTo(p string, uid int) error {
	if uid < 0 {
		return nil
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		return fmt.Errorf("jail: chown: %w", err)
	}
	return nil
}

// readOutputs reads back the requested outputs that are plain files.
func (r *run) readOutputs() map[string][]byte {
	out := make(map[string][]byte, len(r.spec.Outputs))
	for _, name := range r.spec.Outputs {
		data, err := readOutput(int(r.dir.Fd()), name, r.lim.FileSize)
		if err != nil {
			r.j.logger.Debug("output left out", "name", name, "error", err)
			continue
		}
		out[name] = data
	}
	return out
}

// readOutput opens name beneath dirfd without following any symlink
// (in any component) or leaving the directory, and reads it if it is a
// regular file with one link and at most max bytes. The lambda is dead,
// so nothing can change the tree meanwhile.
func readOutput(dirfd int, name string, max int64) ([]byte, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("not a regular file")
	case st.Nlink != 1:
		return nil, fmt.Errorf("has %d hard links", st.Nlink)
	case st.Size > max:
		return nil, fmt.Errorf("%d bytes, over the limit of %d", st.Size, max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("over the limit of %d bytes", max)
	}
	return data, err
}

// removeAll removes p like os.RemoveAll. Without root a lambda may have
// made directories unreadable (it owns them), so on failure directories
// are made accessible and the removal retried. Symlinks are never
// followed; the lambda is dead, so nothing changes meanwhile.
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil || os.Geteuid() == 0 {
		return err
	}
	makeAccessible(p)
	return os.RemoveAll(p)
}

func makeAccessible(p string) {
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		return
	}
	_ = os.Chmod(p, 0o700)
	ents, _ := os.ReadDir(p)
	for _, e := range ents {
		if e.IsDir() {
			makeAccessible(filepath.Join(p, e.Name()))
		}
	}
}
