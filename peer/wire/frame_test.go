package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// frames joins payloads into a stream of frames.
func frames(payloads ...[]byte) []byte {
	var b []byte
	for _, p := range payloads {
		b = wire.AppendHeader(b, len(p))
		b = append(b, p...)
	}
	return b
}

// chunkReader returns its data in reads of at most n bytes.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

func TestFrameReader_Next(t *testing.T) {
	small := []byte("small")
	fits := bytes.Repeat([]byte{1}, 4096-wire.HeaderSize) // exactly fills the buffer
	over := bytes.Repeat([]byte{2}, 4096-wire.HeaderSize+1)
	big := bytes.Repeat([]byte{3}, 3<<20)
	payloads := [][]byte{small, fits, over, big, small}
	wantBorrowed := []bool{true, true, false, false, true}
	stream := frames(payloads...)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"7 bytes":  func() io.Reader { return &chunkReader{data: stream, n: 7} },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			fr := wire.NewFrameReader(newReader(), 4096, wire.DefaultMaxFrame)
			for i, want := range payloads {
				got, borrowed, err := fr.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d: %d bytes; want %d", i, len(got), len(want))
				}
				if borrowed != wantBorrowed[i] {
					t.Errorf("frame %d: borrowed = %v; want %v", i, borrowed, wantBorrowed[i])
				}
			}
			if _, _, err := fr.Next(); err != io.EOF {
				t.Errorf("after the last frame: err = %v; want io.EOF", err)
			}
		})
	}
}

func TestFrameReader_Next_lengthLimits(t *testing.T) {
	tests := []struct {
		name   string
		header uint32
		max    int
		want   error
	}{
		{"4 GiB - 1", 0xFFFFFFFF, wire.DefaultMaxFrame, wire.ErrFrameTooLarge},
		{"2 GiB", 1 << 31, wire.DefaultMaxFrame, wire.ErrFrameTooLarge},
		{"default max + 1", wire.DefaultMaxFrame + 1, wire.DefaultMaxFrame, wire.ErrFrameTooLarge},
		{"max + 1", 101, 100, wire.ErrFrameTooLarge},
		{"zero", 0, 100, wire.ErrEmptyFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := binary.BigEndian.AppendUint32(nil, tt.header)
			stream = append(stream, make([]byte, 200)...)
			fr := wire.NewFrameReader(bytes.NewReader(stream), 4096, tt.max)
			if _, err := fr.PeekLen(); !errors.Is(err, tt.want) {
				t.Errorf("PeekLen: err = %v; want %v", err, tt.want)
			}
			if fr.HasFrame() {
				t.Error("HasFrame = true for a bad length")
			}
			p, _, err := fr.Next()
			if !errors.Is(err, tt.want) || p != nil {
				t.Errorf("Next = %d bytes, %v; want %v", len(p), err, tt.want)
			}
		})
	}
	// A frame of exactly max bytes is accepted.
	fr := wire.NewFrameReader(bytes.NewReader(frames(make([]byte, 100))), 16, 100)
	if p, _, err := fr.Next(); err != nil || len(p) != 100 {
		t.Errorf("frame of max bytes: %d bytes, %v", len(p), err)
	}
}

func TestFrameReader_Next_unexpectedEOF(t *testing.T) {
	full := frames([]byte("hello"))
	large := frames(make([]byte, 100<<10))
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"empty stream", nil, io.EOF},
		{"1 header byte", full[:1], io.ErrUnexpectedEOF},
		{"3 header bytes", full[:3], io.ErrUnexpectedEOF},
		{"header only", full[:4], io.ErrUnexpectedEOF},
		{"half a payload", full[:7], io.ErrUnexpectedEOF},
		{"all but one byte", full[:len(full)-1], io.ErrUnexpectedEOF},
		{"half a large payload", large[:50<<10], io.ErrUnexpectedEOF},
		{"large payload but one byte", large[:len(large)-1], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(tt.stream), iotest.OneByteReader(bytes.NewReader(tt.stream))} {
				fr := wire.NewFrameReader(r, 4096, wire.DefaultMaxFrame)
				if _, _, err := fr.Next(); err != tt.want {
					t.Errorf("err = %v; want %v", err, tt.want)
				}
			}
		})
	}
}

func TestFrameReader_Next_readError(t *testing.T) {
	boom := errors.New("boom")
	large := frames(make([]byte, 100<<10))
	for _, cut := range []int{0, 2, 10, 50 << 10} {
		r := io.MultiReader(bytes.NewReader(large[:cut]), iotest.ErrReader(boom))
		fr := wire.NewFrameReader(r, 4096, wire.DefaultMaxFrame)
		if _, _, err := fr.Next(); !errors.Is(err, boom) {
			t.Errorf("cut at %d: err = %v; want %v", cut, err, boom)
		}
	}
}

// TestFrameReader_Next_large reads a 40 MiB frame through the growing path.
func TestFrameReader_Next_large(t *testing.T) {
	payload := make([]byte, 40<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(payload); i += 8 {
		binary.LittleEndian.PutUint64(payload[i:], rng.Uint64())
	}
	stream := frames(payload, []byte("next"))
	fr := wire.NewFrameReader(&chunkReader{data: stream, n: 64 << 10}, 64<<10, wire.DefaultMaxFrame)
	got, borrowed, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if borrowed || !bytes.Equal(got, payload) {
		t.Fatalf("40 MiB frame: borrowed %v, equal %v", borrowed, bytes.Equal(got, payload))
	}
	if got, _, err := fr.Next(); err != nil || string(got) != "next" {
		t.Errorf("frame after: %q, %v", got, err)
	}
}

// TestFrameReader_Next_memory checks that a peer announcing a huge frame
// and sending little costs memory in proportion to what it sent, not to
// what it announced.
func TestFrameReader_Next_memory(t *testing.T) {
	tests := []struct {
		name     string
		announce int
		deliver  int
		maxAlloc uint64
	}{
		{"200 MiB announced, 10 bytes sent", 200 << 20, 10, 2 << 20},
		{"200 MiB announced, 10 MiB sent", 200 << 20, 10 << 20, 40 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := binary.BigEndian.AppendUint32(nil, uint32(tt.announce))
			stream = append(stream, make([]byte, tt.deliver)...)
			alloc := allocBytes(1, func() {
				fr := wire.NewFrameReader(bytes.NewReader(stream), 64<<10, wire.DefaultMaxFrame)
				if _, _, err := fr.Next(); err != io.ErrUnexpectedEOF {
					t.Errorf("err = %v; want io.ErrUnexpectedEOF", err)
				}
			})
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %d KiB; want at most %d KiB", alloc>>10, tt.maxAlloc>>10)
			}
		})
	}
}

func TestFrameReader_PeekLen_consumesNothing(t *testing.T) {
	fr := wire.NewFrameReader(bytes.NewReader(frames([]byte("abc"), []byte("de"))), 16, 100)
	for range 2 {
		if n, err := fr.PeekLen(); n != 3 || err != nil {
			t.Fatalf("PeekLen = %d, %v; want 3", n, err)
		}
	}
	if !fr.HasFrame() {
		t.Error("HasFrame = false with a whole frame buffered")
	}
	if p, _, err := fr.Next(); string(p) != "abc" || err != nil {
		t.Fatalf("Next = %q, %v", p, err)
	}
	if p, _, err := fr.Next(); string(p) != "de" || err != nil {
		t.Fatalf("Next = %q, %v", p, err)
	}
	if fr.HasFrame() {
		t.Error("HasFrame = true at the end of the stream")
	}
}

func TestFrameReader_HasFrame_partial(t *testing.T) {
	stream := frames([]byte("abcdef"))
	pr, pw := io.Pipe()
	fr := wire.NewFrameReader(pr, 64, 100)
	go func() { _, _ = pw.Write(stream[:6]) }()
	if n, err := fr.PeekLen(); n != 6 || err != nil {
		t.Fatalf("PeekLen = %d, %v", n, err)
	}
	if fr.HasFrame() {
		t.Error("HasFrame = true with half a frame buffered")
	}
	go func() { _, _ = pw.Write(stream[6:]); _ = pw.Close() }()
	if p, _, err := fr.Next(); string(p) != "abcdef" || err != nil {
		t.Fatalf("Next = %q, %v", p, err)
	}
}
