package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the size of the length prefix of every frame.
const HeaderSize = 4

// DefaultMaxValue is the default limit on a value's size: 256 MiB.
const DefaultMaxValue = 256 << 20

// DefaultMaxFrame is the default limit on a frame's payload: the value limit
// plus 1 MiB for the rest of the message.
const DefaultMaxFrame = DefaultMaxValue + 1<<20

// Frame errors.
var (
	// ErrFrameTooLarge is returned when a frame's length prefix exceeds the
	// reader's limit. The connection cannot be resynchronised afterwards.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrEmptyFrame is returned for a frame of length zero.
	ErrEmptyFrame = errors.New("empty frame")
)

// growStep is the most a FrameReader allocates ahead of the bytes that
// actually arrived, so that a peer announcing a huge frame and then sending
// nothing costs little memory.
const growStep = 1 << 20

// FrameReader reads frames from a stream. It is not safe for concurrent use.
type FrameReader struct {
	r   *bufio.Reader
	max int
}

// NewFrameReader returns a reader that buffers bufSize bytes of r and
// refuses frames longer than max bytes.
func NewFrameReader(r io.Reader, bufSize, max int) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// Next returns the payload of the next frame. When borrowed is true the
// payload aliases the reader's buffer and is valid only until the next call;
// otherwise the caller owns it.
func (fr *FrameReader) Next() (payload []byte, borrowed bool, err error) {
	n, err := fr.PeekLen()
	if err != nil {
		return nil, false, err
	}
	if !fr.Large(n) {
		buf, err := fr.r.Peek(HeaderSize + n)
		if err != nil {
			return nil, false, unexpected(err)
		}
		_, _ = fr.r.Discard(HeaderSize + n)
		return buf[HeaderSize:], true, nil
	}
	_, _ = fr.r.Discard(HeaderSize)
	payload, err = readGrowing(fr.r, n)
	return payload, false, err
}

// Buffered returns the number of bytes that can be read without blocking.
func (fr *FrameReader) Buffered() int { return fr.r.Buffered() }

// PeekLen waits for the next frame's header and returns its payload length
// without consuming anything. It returns the same errors as Next for a bad
// length.
func (fr *FrameReader) PeekLen() (int, error) {
	hdr, err := fr.r.Peek(HeaderSize)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	// In int64: on 32-bit platforms int(0xFFFFFFFF) would be -1.
	n := int64(binary.BigEndian.Uint32(hdr))
	switch {
	case n == 0:
		return 0, ErrEmptyFrame
	case n > int64(fr.max):
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.max)
	}
	return int(n), nil
}

// Large reports whether a frame of payload length n bypasses the reader's
// buffer, so that Next allocates it.
func (fr *FrameReader) Large(n int) bool { return HeaderSize+n > fr.r.Size() }

// HasFrame reports whether a whole frame is already buffered, so that Next
// will return it without blocking.
func (fr *FrameReader) HasFrame() bool {
	b := fr.r.Buffered()
	if b < HeaderSize {
		return false
	}
	hdr, _ := fr.r.Peek(HeaderSize)
	n := int64(binary.BigEndian.Uint32(hdr))
	return n > 0 && n <= int64(fr.max) && HeaderSize+n <= int64(b)
}

// readGrowing reads n bytes, growing the buffer only as bytes arrive: it
// doubles from growStep until a quarter of the frame is in, then allocates
// the whole frame once. A peer must send a quarter of what it announces to
// make the reader hold all of it, and a large frame costs about 1.25 times
// its size at the peak rather than twice or more.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, growStep))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			size := min(n, 2*cap(buf))
			if len(buf) >= n/4 {
				size = n
			}
			buf = append(make([]byte, 0, size), buf...)
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			return nil, unexpected(err)
		}
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends the length prefix for a payload of n bytes.
func AppendHeader(b []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// WriteFrame writes payload as one frame.
func WriteFrame(w *bufio.Writer, payload []byte) error {
	var hdr [HeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}
