package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/store"
)

// crashChildEnv, when set to a path, turns the test binary into the child
// of TestStore_Put_killNine (see TestMain).
const crashChildEnv = "LKV_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashValue is the value the child stores under key: 100 B to ~8 KiB, so
// some records use overflow pages.
func crashValue(key string) []byte {
	n := 100 + int(crc32.ChecksumIEEE([]byte(key))%8000)
	return bytes.Repeat([]byte(key+";"), n/(len(key)+1)+1)[:n]
}

// crashChild opens a store with SyncAlways and puts keys from 8 writers
// until it is killed, printing each key on stdout once its Put returned.
func crashChild(path string) {
	opts := store.DefaultOptions()
	opts.Logger = hclog.NewNullLogger()
	s, err := store.Open(path, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex // serializes stdout lines
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100000 {
				key := fmt.Sprintf("w%d-%d", w, i)
				perm := []store.Perm{r, rw, rx}[i%3]
				if _, err := s.Put(context.Background(), key, crashValue(key), perm); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				_, _ = os.Stdout.WriteString(key + "\n")
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestStore_Put_killNine(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := readAcked(t, cmd, stdout, 1000)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v; want killed by SIGKILL (stderr: %s)", err, stderr.String())
	}
	t.Logf("child acknowledged %d puts before SIGKILL", len(acked))

	o := testOptions(t)
	o.Sync = store.SyncAlways
	s := mustOpen(t, path, o)
	for _, key := range acked {
		v, _, err := s.Get(key)
		if err != nil || !bytes.Equal(v, crashValue(key)) {
			t.Fatalf("acknowledged key %s after kill -9: len=%d err=%v; want its %d-byte value", key, len(v), err, len(crashValue(key)))
		}
	}
	st := s.Stats()
	if st.Keys < int64(len(acked)) || st.Offset < uint64(len(acked)) {
		t.Errorf("after kill -9 Keys=%d Offset=%d; want >= %d acknowledged", st.Keys, st.Offset, len(acked))
	}
	if err := store.CheckInvariants(s); err != nil {
		t.Errorf("invariants after kill -9: %v", err)
	}
	if off := mustPut(t, s, "after-crash", "v", r); off != st.Offset+1 {
		t.Errorf("offset after recovery=%d; want %d", off, st.Offset+1)
	}
}

// readAcked reads acknowledged keys from the child, SIGKILLs it after
// killAfter of them, and keeps reading what it printed before it died. A
// line cut short (no newline) is not an acknowledgement.
func readAcked(t *testing.T, cmd *exec.Cmd, stdout io.Reader, killAfter int) []string {
	t.Helper()
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var acked []string
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return acked
		}
		acked = append(acked, strings.TrimSuffix(line, "\n"))
		if len(acked) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
}
