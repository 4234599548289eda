package lambda

import "io"

// sliceReader is the reader the decoders hand to msgpack: it knows how many
// bytes are left, so a declared length can be checked before anything is
// allocated for it, and it returns byte strings as sub-slices of its input
// instead of copies. It is not safe for concurrent use.
type sliceReader struct {
	b   []byte
	off int
}

var _ io.ByteScanner = (*sliceReader)(nil)

// Read implements io.Reader.
func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (r *sliceReader) ReadByte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// UnreadByte implements io.ByteScanner.
func (r *sliceReader) UnreadByte() error {
	if r.off == 0 {
		return io.ErrNoProgress
	}
	r.off--
	return nil
}

// Len returns the number of bytes not yet read.
func (r *sliceReader) Len() int { return len(r.b) - r.off }

// next returns the next n bytes without copying, capped so that an append
// to the result cannot overwrite what follows, or io.ErrUnexpectedEOF if
// fewer than n bytes are left.
func (r *sliceReader) next(n int) ([]byte, error) {
	if n < 0 || n > r.Len() {
		return nil, io.ErrUnexpectedEOF
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}
