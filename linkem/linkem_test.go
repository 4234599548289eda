package linkem_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/linkem"
)

// checkNoLeaks fails the test if goroutines started during it still run
// once it ends. Call it first, before anything registers cleanups.
func checkNoLeaks(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

// pair returns a wrapped server side and a plain client side of one
// loopback connection; both are closed at the end of the test.
func pair(t testing.TB, cfg linkem.Config) (server net.Conn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := linkem.NewListener(ln, cfg)
	defer wl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := wl.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return server, client
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  linkem.Config
		ok   bool
	}{
		{"zero", linkem.Config{}, true},
		{"delay and rate", linkem.Config{Delay: time.Millisecond, Rate: 1e6}, true},
		{"negative delay", linkem.Config{Delay: -1}, false},
		{"negative rate", linkem.Config{Rate: -1}, false},
		{"negative buffer", linkem.Config{Buffer: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v; want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestListener_Accept_zeroConfigIsPlain(t *testing.T) {
	server, _ := pair(t, linkem.Config{})
	if _, ok := server.(*linkem.Conn); ok {
		t.Errorf("accepted %T; want the plain connection for a zero Config", server)
	}
}

// TestConn_order echoes random bytes through a small buffer in both
// directions at once and checks that every byte comes back in order.
func TestConn_order(t *testing.T) {
	checkNoLeaks(t)
	server, client := pair(t, linkem.Config{Delay: 200 * time.Microsecond, Buffer: 8 << 10})
	go func() { _, _ = io.Copy(server, server) }() // echo
	want := make([]byte, 2<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	go func() {
		for b := want; len(b) > 0; {
			n := min(len(b), 1+r.IntN(40000))
			if _, err := client.Write(b[:n]); err != nil {
				t.Error(err)
				return
			}
			b = b[n:]
		}
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for got[i] == want[i] {
			i++
		}
		t.Fatalf("echo differs from byte %d on", i)
	}
}

// TestConn_delay checks a lower bound: every round trip takes at least
// twice the one-way delay. (How close it stays is a benchmark's business.)
func TestConn_delay(t *testing.T) {
	const delay = time.Millisecond
	server, client := pair(t, linkem.Config{Delay: delay})
	go func() { _, _ = io.Copy(server, server) }()
	buf := make([]byte, 64)
	for i := range 5 {
		start := time.Now()
		if _, err := client.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 2*delay {
			t.Errorf("round trip %d took %v; want at least %v", i, rtt, 2*delay)
		}
	}
}

// TestConn_rate checks a lower bound on the time a rate-limited transfer
// takes, in each direction.
func TestConn_rate(t *testing.T) {
	const rate, size = 4 << 20, 1 << 20 // 1 MiB at 4 MiB/s: about 250 ms
	server, client := pair(t, linkem.Config{Rate: rate})
	data := make([]byte, size)
	for _, dir := range []struct {
		name string
		w, r net.Conn
	}{{"out", server, client}, {"in", client, server}} {
		t.Run(dir.name, func(t *testing.T) {
			start := time.Now()
			go func() { _, _ = dir.w.Write(data) }()
			if _, err := io.ReadFull(dir.r, make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			// The first chunk leaves at once; the rest waits its turn.
			min := time.Duration(float64(time.Second) * 0.9 * size / rate)
			if d := time.Since(start); d < min {
				t.Errorf("%d bytes at %d B/s took %v; want at least %v", size, rate, d, min)
			}
		})
	}
}

// TestConn_Close_drains writes and closes at once: the peer still gets
// every byte, then EOF; and no goroutine is left.
func TestConn_Close_drains(t *testing.T) {
	checkNoLeaks(t)
	server, client := pair(t, linkem.Config{Delay: 5 * time.Millisecond})
	want := bytes.Repeat([]byte("lambdakv"), 10000)
	if _, err := server.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got %d bytes; want %d", len(got), len(want))
	}
	if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v; want net.ErrClosed", err)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v; want net.ErrClosed", err)
	}
}

// TestConn_Read_EOF: the peer's close arrives after its data.
func TestConn_Read_EOF(t *testing.T) {
	server, client := pair(t, linkem.Config{Delay: time.Millisecond})
	if _, err := client.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	client.Close()
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "bye" {
		t.Errorf("ReadAll = %q, %v; want \"bye\", nil", got, err)
	}
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read after EOF: %v; want io.EOF", err)
	}
}

// TestConn_SetReadDeadline_unblocks: a deadline set from another
// goroutine ends a blocked Read with a timeout, as the node relies on to
// stop reading during shutdown.
func TestConn_SetReadDeadline_unblocks(t *testing.T) {
	checkNoLeaks(t)
	server, _ := pair(t, linkem.Config{Delay: time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 1))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = server.SetReadDeadline(time.Now())
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Read: %v; want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after its deadline")
	}
	_ = server.SetReadDeadline(time.Time{})
}

// TestConn_SetWriteDeadline: a writer held back by a full link gives up
// at its deadline.
func TestConn_SetWriteDeadline(t *testing.T) {
	server, _ := pair(t, linkem.Config{Rate: 1 << 20, Buffer: 64 << 10}) // nobody reads the client side
	_ = server.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := server.Write(make([]byte, 8<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write: %v; want a deadline error", err)
	}
}

// TestConn_Close_stuckPeer: Close returns (and its goroutines end) even
// when the peer reads nothing and the socket buffers are full.
func TestConn_Close_stuckPeer(t *testing.T) {
	checkNoLeaks(t)
	server, _ := pair(t, linkem.Config{Delay: time.Millisecond, Buffer: 1 << 20})
	go func() { _, _ = server.Write(make([]byte, 64<<20)) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	server.Close()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v; want it bounded by the linger time", d)
	}
}

// BenchmarkPingPong measures the round trip of 100-byte messages: the
// loopback's alone at delay 0, twice the delay more otherwise.
func BenchmarkPingPong(b *testing.B) {
	for _, d := range []time.Duration{0, 250 * time.Microsecond, 500 * time.Microsecond} {
		b.Run("delay="+d.String(), func(b *testing.B) {
			server, client := pair(b, linkem.Config{Delay: d})
			if d == 0 { // a zero Config is not wrapped: measure the wrapper
				server = linkem.Wrap(server, linkem.Config{Buffer: 1 << 20})
				b.Cleanup(func() { server.Close() })
			}
			go func() { _, _ = io.Copy(server, server) }()
			buf := make([]byte, 100)
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := client.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(client, buf); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "rtt-µs")
		})
	}
}

// BenchmarkBulk measures one stream's throughput through the link.
func BenchmarkBulk(b *testing.B) {
	for _, cfg := range []linkem.Config{
		{Delay: 250 * time.Microsecond},
		{Delay: 250 * time.Microsecond, Rate: 125e6},  // 1 Gbit/s
		{Delay: 250 * time.Microsecond, Rate: 12.5e6}, // 100 Mbit/s
	} {
		b.Run("rate="+rateName(cfg.Rate), func(b *testing.B) {
			server, client := pair(b, cfg)
			go func() { _, _ = io.Copy(io.Discard, client) }()
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := server.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func rateName(r int64) string {
	if r == 0 {
		return "unlimited"
	}
	return strconv.FormatInt(r*8/1e6, 10) + "Mbit"
}
