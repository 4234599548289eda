package wire_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// go test -run '^$' -bench . -benchmem ./peer/wire

func BenchmarkEncoder_WriteResponse_get100B(b *testing.B) {
	resp := &wire.Response{ID: 123456, Perm: 3, Value: bytes.Repeat([]byte{'v'}, 100)}
	enc := wire.NewEncoder()
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	b.SetBytes(int64(len(encodeResponse(b, resp)) + wire.HeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.WriteResponse(w, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncoder_WriteRequest_put4KiB(b *testing.B) {
	req := &wire.Request{ID: 123456, Op: wire.OpPut, Key: "user:000001", Perm: 3, Value: bytes.Repeat([]byte{'v'}, 4096)}
	enc := wire.NewEncoder()
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	b.SetBytes(int64(len(encodeRequest(b, req)) + wire.HeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.WriteRequest(w, req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkDecodeRequest(b *testing.B, req *wire.Request) {
	payload := encodeRequest(b, req)
	dec := wire.NewDecoder()
	var got wire.Request
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Request(payload, &got); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoder_Request_get(b *testing.B) {
	benchmarkDecodeRequest(b, &wire.Request{ID: 123456, Op: wire.OpGet, Key: "user:000001"})
}

func BenchmarkDecoder_Request_put100B(b *testing.B) {
	benchmarkDecodeRequest(b, &wire.Request{ID: 123456, Op: wire.OpPut, Key: "user:000001", Perm: 3, Value: bytes.Repeat([]byte{'v'}, 100)})
}

func BenchmarkDecoder_Request_put4KiB(b *testing.B) {
	benchmarkDecodeRequest(b, &wire.Request{ID: 123456, Op: wire.OpPut, Key: "user:000001", Perm: 3, Value: bytes.Repeat([]byte{'v'}, 4096)})
}

func BenchmarkDecoder_Request_execute(b *testing.B) {
	benchmarkDecodeRequest(b, &wire.Request{ID: 123456, Op: wire.OpExecute, Key: "lambdas/wc",
		Args: []string{"--top", "10"},
		Deps: []wire.Dep{{Key: "books/moby.txt", AsFile: true, Name: "moby.txt"}, {Key: "config/stopwords"}}})
}

func BenchmarkDecoder_Response_get100B(b *testing.B) {
	payload := encodeResponse(b, &wire.Response{ID: 123456, Perm: 3, Value: bytes.Repeat([]byte{'v'}, 100)})
	dec := wire.NewDecoder()
	var got wire.Response
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Response(payload, &got); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameReader_Next reads pipelined small frames from the buffer.
func BenchmarkFrameReader_Next(b *testing.B) {
	payload := encodeRequest(b, &wire.Request{ID: 123456, Op: wire.OpGet, Key: "user:000001"})
	fr := wire.NewFrameReader(&repeatReader{data: bytes.Repeat(frames(payload), 1000)}, 64<<10, wire.DefaultMaxFrame)
	b.SetBytes(int64(len(payload) + wire.HeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := fr.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// repeatReader returns its data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}
