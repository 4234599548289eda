package wire_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// TestEncoder_rangeErrors checks that the encoder refuses values that a
// decoder would reject as malformed (which costs the connection), and
// writes nothing for them.
func TestEncoder_rangeErrors(t *testing.T) {
	// Cases that need a 64-bit int are skipped where int has 32 bits.
	over32 := int64(math.MaxInt32) + 1
	under32 := int64(math.MinInt32) - 1
	reqs := []struct {
		name    string
		req     wire.Request
		needs64 bool
	}{
		{"negative min_replicas", wire.Request{Op: wire.OpPut, MinReplicas: -1}, false},
		{"min_replicas over 65536", wire.Request{Op: wire.OpPut, MinReplicas: 1<<16 + 1}, false},
		{"negative proto", wire.Request{Op: wire.OpHello, Proto: -1}, false},
		{"proto over int32", wire.Request{Op: wire.OpHello, Proto: int(over32)}, true},
		{"negative timeout", wire.Request{Op: wire.OpExecute, Timeout: -time.Millisecond}, false},
	}
	for _, tt := range reqs {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs64 && strconv.IntSize < 64 {
				t.Skip("needs a 64-bit int")
			}
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			if err := wire.NewEncoder().WriteRequest(w, &tt.req); err == nil {
				t.Fatal("WriteRequest: no error")
			}
			if w.Buffered() != 0 {
				t.Errorf("WriteRequest buffered %d bytes; want none", w.Buffered())
			}
			if b, err := wire.NewEncoder().AppendRequest([]byte("x"), &tt.req); err == nil || string(b) != "x" {
				t.Errorf("AppendRequest = %q, %v; want the input and an error", b, err)
			}
		})
	}
	resps := []struct {
		name    string
		resp    wire.Response
		needs64 bool
	}{
		{"negative slot", wire.Response{Status: wire.StatusMoved, Slot: -1}, false},
		{"slot over 65536", wire.Response{Status: wire.StatusMoved, Slot: 1<<16 + 1}, false},
		{"negative proto", wire.Response{Proto: -1}, false},
		{"return_code over int32", wire.Response{ReturnCode: int(over32)}, true},
		{"return_code under int32", wire.Response{ReturnCode: int(under32)}, true},
	}
	for _, tt := range resps {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs64 && strconv.IntSize < 64 {
				t.Skip("needs a 64-bit int")
			}
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			if err := wire.NewEncoder().WriteResponse(w, &tt.resp); err == nil {
				t.Fatal("WriteResponse: no error")
			}
			if w.Buffered() != 0 {
				t.Errorf("WriteResponse buffered %d bytes; want none", w.Buffered())
			}
			if b, err := wire.NewEncoder().AppendResponse(nil, &tt.resp); err == nil || b != nil {
				t.Errorf("AppendResponse = %q, %v; want nil and an error", b, err)
			}
		})
	}
}

// TestEncoder_timeout checks that timeouts go out in whole milliseconds,
// rounded up, so that a positive timeout never becomes 0 (the node's
// default).
func TestEncoder_timeout(t *testing.T) {
	maxTimeout := time.Duration(math.MaxInt64) / time.Millisecond
	tests := []struct {
		in   time.Duration
		want time.Duration
	}{
		{time.Nanosecond, time.Millisecond},
		{999 * time.Microsecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{30 * time.Second, 30 * time.Second},
		{math.MaxInt64, maxTimeout * time.Millisecond},
	}
	for _, tt := range tests {
		var got wire.Request
		p := encodeRequest(t, &wire.Request{Op: wire.OpExecute, Timeout: tt.in})
		if err := wire.NewDecoder().Request(p, &got); err != nil {
			t.Fatalf("%v: %v", tt.in, err)
		}
		if got.Timeout != tt.want {
			t.Errorf("Timeout %v decodes as %v; want %v", tt.in, got.Timeout, tt.want)
		}
	}
}

// TestEncoder_reuse checks that an encoder's buffer carries nothing from one
// message to the next, whatever the path.
func TestEncoder_reuse(t *testing.T) {
	enc := wire.NewEncoder()
	small := &wire.Request{ID: 1, Op: wire.OpGet, Key: "k"}
	want := encodeRequest(t, small)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := enc.WriteRequest(w, fullRequest()); err != nil {
		t.Fatal(err)
	}
	if _, err := enc.AppendResponse(nil, fullResponse()); err != nil {
		t.Fatal(err)
	}
	_ = enc.WriteRequest(w, &wire.Request{Op: wire.OpPut, MinReplicas: -1}) // fails half-way
	buf.Reset()
	w.Reset(&buf)
	if err := enc.WriteRequest(w, small); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes()[wire.HeaderSize:]; !bytes.Equal(got, want) {
		t.Errorf("after other messages: % x; want % x", got, want)
	}
	if got, want := enc.LastSize(), wire.HeaderSize+len(want); got != want {
		t.Errorf("LastSize = %d; want %d", got, want)
	}
}

// TestEncoder_WriteRequest_stream checks that frames written back to back
// read back in order.
func TestEncoder_WriteRequest_stream(t *testing.T) {
	reqs := []*wire.Request{
		fullRequest(),
		{ID: 2, Op: wire.OpGet, Key: "k"},
		{ID: 3, Op: wire.OpPut, Key: "big", Perm: 3, Value: bytes.Repeat([]byte("v"), 100<<10)},
		{ID: 4, Op: wire.OpPing},
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := wire.NewEncoder()
	for _, r := range reqs {
		if err := enc.WriteRequest(w, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fr := wire.NewFrameReader(&buf, 4096, wire.DefaultMaxFrame)
	dec := wire.NewDecoder()
	for _, want := range reqs {
		p, _, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		var got wire.Request
		if err := dec.Request(p, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("got %+v; want %+v", got, *want)
		}
	}
}

// TestEncoder_headerMatchesPayload checks the length prefix of every shape
// of message, including the value written after the buffered part.
func TestEncoder_headerMatchesPayload(t *testing.T) {
	enc := wire.NewEncoder()
	for _, r := range []*wire.Response{
		{}, fullResponse(), {Value: []byte{}}, {Output: make([]byte, 300)}, {Value: make([]byte, 70000), Output: []byte("o")},
	} {
		frame, err := enc.AppendResponse([]byte("prefix"), r)
		if err != nil {
			t.Fatal(err)
		}
		frame = frame[len("prefix"):]
		if n := binary.BigEndian.Uint32(frame); int(n) != len(frame)-wire.HeaderSize {
			t.Errorf("length prefix %d; payload is %d bytes", n, len(frame)-wire.HeaderSize)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	for _, n := range []uint32{0, 1, 255, 256, 1 << 24, math.MaxUint32} {
		b := wire.AppendHeader([]byte{9}, int(n))
		if len(b) != 1+wire.HeaderSize || b[0] != 9 || binary.BigEndian.Uint32(b[1:]) != n {
			t.Errorf("AppendHeader(%d) = % x", n, b)
		}
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := wire.WriteFrame(w, []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 1, 0x80}; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteFrame wrote % x; want % x", buf.Bytes(), want)
	}
}
