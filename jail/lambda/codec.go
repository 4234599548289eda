package lambda

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxArgsSize is the most ExecArgs bytes Serve reads from stdin: 1 GiB.
// The node's own value and memory limits are normally far lower.
const MaxArgsSize = 1 << 30

// EncodeArgs writes a to w as one ExecArgs message. The node uses it to
// feed a lambda's stdin. Writes to w are buffered; a nil a encodes as empty
// Args. It is safe to call concurrently with distinct writers.
func EncodeArgs(w io.Writer, a *Args) error {
	if a == nil {
		a = &Args{}
	}
	if err := encode(w, a); err != nil {
		return fmt.Errorf("encode ExecArgs: %w", err)
	}
	return nil
}

// EncodeResponse checks resp with Validate and writes it to w as one
// ExecResponse message; nothing is written if the check fails. Writes to w
// are buffered. It is safe to call concurrently with distinct writers.
func EncodeResponse(w io.Writer, resp *Response) error {
	if err := resp.Validate(); err != nil {
		return fmt.Errorf("encode ExecResponse: %w", err)
	}
	if err := encode(w, resp); err != nil {
		return fmt.Errorf("encode ExecResponse: %w", err)
	}
	return nil
}

// encode writes v to w through a pooled encoder, adding a buffer unless w
// already has one: the encoder writes a byte at a time.
func encode(w io.Writer, v msgpack.CustomEncoder) error {
	var buf *bufio.Writer
	if _, ok := w.(io.ByteWriter); !ok {
		buf = bufio.NewWriterSize(w, 8<<10)
		w = buf
	}
	e := msgpack.GetEncoder()
	defer msgpack.PutEncoder(e)
	e.Reset(w)
	if err := v.EncodeMsgpack(e); err != nil {
		return err
	}
	if buf != nil {
		return buf.Flush()
	}
	return nil
}

// DecodeArgs reads all of r, at most max bytes, and decodes it as one
// ExecArgs message with UnmarshalArgs. It is safe to call concurrently.
func DecodeArgs(r io.Reader, max int64) (*Args, error) {
	b, err := readAll(r, max)
	if err != nil {
		return nil, fmt.Errorf("read ExecArgs: %w", err)
	}
	return UnmarshalArgs(b)
}

// UnmarshalArgs decodes b as exactly one ExecArgs message. The values of
// the result share memory with b. Errors wrap ErrMalformed. It never
// panics and is safe to call concurrently.
func UnmarshalArgs(b []byte) (*Args, error) {
	a := new(Args)
	if err := unmarshal(b, a); err != nil {
		return nil, err
	}
	return a, nil
}

// DecodeResponse reads all of r, at most max bytes, and decodes it as one
// ExecResponse message with UnmarshalResponse. The node uses it on the
// untrusted stdout of a lambda: input longer than max is ErrTooLarge,
// anything else that is not exactly one valid ExecResponse is
// ErrMalformed (see the package documentation for the rules). It never
// panics and is safe to call concurrently.
func DecodeResponse(r io.Reader, max int64) (*Response, error) {
	b, err := readAll(r, max)
	if err != nil {
		return nil, fmt.Errorf("read ExecResponse: %w", err)
	}
	return UnmarshalResponse(b)
}

// UnmarshalResponse decodes b as exactly one valid ExecResponse message.
// Put values and the output share memory with b. Errors wrap ErrMalformed.
// It never panics, allocates no more than a small multiple of len(b), and
// is safe to call concurrently.
func UnmarshalResponse(b []byte) (*Response, error) {
	r := new(Response)
	if err := unmarshal(b, r); err != nil {
		return nil, err
	}
	return r, nil
}

// unmarshal decodes exactly one message from b into v.
func unmarshal(b []byte, v msgpack.CustomDecoder) error {
	sr := &sliceReader{b: b}
	d := msgpack.GetDecoder()
	defer msgpack.PutDecoder(d)
	d.Reset(sr)
	if err := v.DecodeMsgpack(d); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, noEOF(err))
	}
	if sr.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the message", ErrMalformed, sr.Len())
	}
	return nil
}

// readAll reads r to the end, failing with ErrTooLarge past max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		return nil, fmt.Errorf("limit %d: %w", max, ErrTooLarge)
	}
	limit := max
	if limit < math.MaxInt64 {
		limit++ // one byte more, to tell "exactly max" from "too long"
	}
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrTooLarge)
	}
	return b, nil
}
