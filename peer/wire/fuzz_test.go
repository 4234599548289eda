package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// The seed corpora are the payloads of testdata/vectors.txt plus the edge
// cases of the unit tests, so a plain go test runs every target on them.

func addPayloadSeeds(f *testing.F) {
	for _, b := range readVectors(f) {
		f.Add(b.frame[wire.HeaderSize:])
	}
	for _, tt := range hugeLengths {
		f.Add(tt.payload)
	}
	for _, tt := range hugeResponseLengths {
		f.Add(tt.payload)
	}
	f.Add(encodeRequest(f, fullRequest()))
	f.Add(encodeResponse(f, fullResponse()))
	f.Add(reqWith("x", append(bytes.Repeat([]byte{0x91}, 1000), 0xc0)))
}

func FuzzDecodeRequest(f *testing.F) {
	addPayloadSeeds(f)
	dec, enc := wire.NewDecoder(), wire.NewEncoder()
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req wire.Request
		err := dec.Request(payload, &req)
		switch {
		case err == nil, errors.Is(err, wire.ErrBadOp):
		case errors.Is(err, wire.ErrMalformed):
			return
		default:
			t.Fatalf("error %v is neither ErrMalformed nor ErrBadOp", err)
		}
		frame, err2 := enc.AppendRequest(nil, &req)
		if err2 != nil {
			t.Fatalf("decoded %+v does not encode: %v", req, err2)
		}
		var again wire.Request
		if err3 := dec.Request(frame[wire.HeaderSize:], &again); (err3 == nil) != (err == nil) {
			t.Fatalf("decode error %v, after re-encoding %v", err, err3)
		}
		if !reflect.DeepEqual(&req, &again) {
			t.Fatalf("round trip:\n%+v\n%+v", req, again)
		}
		frame2, _ := enc.AppendRequest(nil, &again)
		if !bytes.Equal(frame, frame2) {
			t.Fatalf("encoding is not deterministic:\n% x\n% x", frame, frame2)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	addPayloadSeeds(f)
	dec, enc := wire.NewDecoder(), wire.NewEncoder()
	f.Fuzz(func(t *testing.T, payload []byte) {
		var resp wire.Response
		if err := dec.Response(payload, &resp); err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		frame, err := enc.AppendResponse(nil, &resp)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", resp, err)
		}
		var again wire.Response
		if err := dec.Response(frame[wire.HeaderSize:], &again); err != nil {
			t.Fatalf("re-encoded response does not decode: %v", err)
		}
		if !reflect.DeepEqual(&resp, &again) {
			t.Fatalf("round trip:\n%+v\n%+v", resp, again)
		}
		frame2, _ := enc.AppendResponse(nil, &again)
		if !bytes.Equal(frame, frame2) {
			t.Fatalf("encoding is not deterministic:\n% x\n% x", frame, frame2)
		}
	})
}

// FuzzFrameReader compares FrameReader with a plain reading of the stream,
// for any buffer size and any split of the stream into reads.
func FuzzFrameReader(f *testing.F) {
	var all []byte
	for _, b := range readVectors(f) {
		f.Add(b.frame, uint16(16), uint16(4096))
		all = append(all, b.frame...)
	}
	f.Add(all, uint16(1), uint16(64))
	f.Add(all, uint16(7), uint16(16))
	f.Add(frames(make([]byte, 100), []byte("x")), uint16(3), uint16(16))
	f.Add([]byte{0, 0, 0, 0}, uint16(1), uint16(16))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, uint16(1), uint16(16))
	f.Add([]byte{0, 0, 1}, uint16(1), uint16(16))
	const maxFrame = 4096
	f.Fuzz(func(t *testing.T, stream []byte, chunk, bufSize uint16) {
		fr := wire.NewFrameReader(&chunkReader{data: stream, n: max(1, int(chunk))}, int(bufSize), maxFrame)
		rest := stream
		for {
			want, wantErr := nextFrame(&rest, maxFrame)
			got, _, err := fr.Next()
			if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame % x; want % x", got, want)
			}
			if err != nil {
				return
			}
		}
	})
}

// nextFrame is the reference reading of one frame.
func nextFrame(rest *[]byte, maxFrame int) ([]byte, error) {
	s := *rest
	switch {
	case len(s) == 0:
		return nil, io.EOF
	case len(s) < wire.HeaderSize:
		return nil, io.ErrUnexpectedEOF
	}
	n := int64(binary.BigEndian.Uint32(s))
	switch {
	case n == 0:
		return nil, wire.ErrEmptyFrame
	case n > int64(maxFrame):
		return nil, wire.ErrFrameTooLarge
	case int64(len(s)) < wire.HeaderSize+n:
		return nil, io.ErrUnexpectedEOF
	}
	*rest = s[wire.HeaderSize+n:]
	return s[wire.HeaderSize : wire.HeaderSize+n], nil
}
