package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Decode errors.
var (
	// ErrMalformed is returned for a payload that is not a msgpack map of
	// the documented shape. The connection that sent it is closed.
	ErrMalformed = errors.New("malformed message")
)

// Decoder decodes requests and responses from frame payloads. It reuses
// its state between calls, so it is not safe for concurrent use. The zero
// value is not usable; call NewDecoder.
type Decoder struct {
	frame []byte
	r     bytes.Reader
	dec   *msgpack.Decoder
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{dec: msgpack.NewDecoder(nil)}
	return d
}

func (d *Decoder) reset(frame []byte) {
	d.frame = frame
	d.r.Reset(frame)
	d.dec.Reset(&d.r)
}

// malformed wraps err as ErrMalformed, naming the field.
func malformed(field string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("truncated")
	}
	if field == "" {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fmt.Errorf("%w: field %q: %v", ErrMalformed, field, err)
}

// mapLen reads the header of the top-level map.
func (d *Decoder) mapLen() (int, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, malformed("", err)
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return 0, malformed("", fmt.Errorf("want a map, got code %#x", c))
	}
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return 0, malformed("", err)
	}
	if n > d.r.Len()/2 {
		return 0, malformed("", errors.New("map longer than the frame"))
	}
	return n, nil
}

// done checks that nothing follows the message.
func (d *Decoder) done() error {
	if d.r.Len() != 0 {
		return malformed("", fmt.Errorf("%d trailing bytes", d.r.Len()))
	}
	return nil
}

// bin returns a binary (or string) field as a slice of the frame.
func (d *Decoder) bin() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, errors.New("nil where bytes were expected")
	}
	if n > d.r.Len() {
		return nil, io.ErrUnexpectedEOF
	}
	pos := len(d.frame) - d.r.Len()
	_, _ = d.r.Seek(int64(n), io.SeekCurrent)
	return d.frame[pos : pos+n : pos+n], nil
}

func (d *Decoder) uint(max uint64) (uint64, error) {
	v, err := d.dec.DecodeUint64()
	if err == nil && v > max {
		err = fmt.Errorf("%d out of range", v)
	}
	return v, err
}

func (d *Decoder) int(min, max int64) (int64, error) {
	v, err := d.dec.DecodeInt64()
	if err == nil && (v < min || v > max) {
		err = fmt.Errorf("%d out of range", v)
	}
	return v, err
}

func (d *Decoder) strs() ([]string, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, nil
	}
	if n > d.r.Len() {
		return nil, io.ErrUnexpectedEOF
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = d.dec.DecodeString(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// value decodes a structured field by reflection; these are small and off
// the hot path (deps, stats, topology).
func (d *Decoder) value(v any) error {
	return d.dec.Decode(v)
}

const maxInt = int64(^uint(0) >> 1)

// Request decodes one request from a frame payload. Binary fields alias
// payload. Unknown fields are skipped. On error, req.ID holds the id if it
// was read before the error, so the caller can still answer.
func (d *Decoder) Request(payload []byte, req *Request) error {
	*req = Request{}
	d.reset(payload)
	n, err := d.mapLen()
	if err != nil {
		return err
	}
	for range n {
		k, err := d.dec.DecodeString()
		if err != nil {
			return malformed("", fmt.Errorf("map key: %v", err))
		}
		if err := d.requestField(k, req); err != nil {
			return malformed(k, err)
		}
	}
	if err := d.done(); err != nil {
		return err
	}
	if !req.Op.Valid() {
		return fmt.Errorf("%w: unknown op %d", ErrBadOp, req.Op)
	}
	return nil
}

// ErrBadOp is returned for a well-formed request with an unknown op. The
// connection stays open; the request gets BAD_REQUEST.
var ErrBadOp = errors.New("bad op")

func (d *Decoder) requestField(k string, r *Request) (err error) {
	var u uint64
	var i int64
	switch k {
	case "id":
		r.ID, err = d.dec.DecodeUint64()
	case "op":
		u, err = d.uint(255)
		r.Op = Op(u)
	case "key":
		r.Key, err = d.dec.DecodeString()
	case "value":
		r.Value, err = d.bin()
	case "perm":
		u, err = d.uint(255)
		r.Perm = uint8(u)
	case "min_replicas":
		i, err = d.int(0, 1<<16)
		r.MinReplicas = int(i)
	case "force":
		r.Force, err = d.dec.DecodeBool()
	case "keys":
		r.Keys, err = d.strs()
	case "proto":
		i, err = d.int(0, 1<<31-1)
		r.Proto = int(i)
	case "token":
		r.Token, err = d.dec.DecodeString()
	case "client":
		r.Client, err = d.dec.DecodeString()
	default:
		return d.execField(k, r)
	}
	return err
}

func (d *Decoder) execField(k string, r *Request) (err error) {
	switch k {
	case "args":
		r.Args, err = d.strs()
	case "deps":
		err = d.value(&r.Deps)
	case "outputs":
		err = d.value(&r.Outputs)
	case "raw":
		r.Raw, err = d.dec.DecodeBool()
	case "timeout_ms":
		var ms int64
		ms, err = d.int(0, int64(time.Duration(maxInt)/time.Millisecond))
		r.Timeout = time.Duration(ms) * time.Millisecond
	case "replica_ok":
		r.ReplicaOK, err = d.dec.DecodeBool()
	default:
		err = d.dec.Skip()
	}
	return err
}

// Response decodes one response from a frame payload. Binary fields alias
// payload. Unknown fields are skipped.
func (d *Decoder) Response(payload []byte, resp *Response) error {
	*resp = Response{}
	d.reset(payload)
	n, err := d.mapLen()
	if err != nil {
		return err
	}
	for range n {
		k, err := d.dec.DecodeString()
		if err != nil {
			return malformed("", fmt.Errorf("map key: %v", err))
		}
		if err := d.responseField(k, resp); err != nil {
			return malformed(k, err)
		}
	}
	return d.done()
}

func (d *Decoder) responseField(k string, r *Response) (err error) {
	var u uint64
	switch k {
	case "id":
		r.ID, err = d.dec.DecodeUint64()
	case "status":
		u, err = d.uint(255)
		r.Status = Status(u)
	case "error":
		r.Error, err = d.dec.DecodeString()
	case "value":
		r.Value, err = d.bin()
	case "perm":
		u, err = d.uint(255)
		r.Perm = uint8(u)
	case "offset":
		r.Offset, err = d.dec.DecodeUint64()
	case "stats":
		err = d.value(&r.Stats)
	case "topology":
		r.Topology = new(Topology)
		err = d.value(r.Topology)
	default:
		return d.responseMoreField(k, r)
	}
	return err
}

func (d *Decoder) responseMoreField(k string, r *Response) (err error) {
	var i int64
	switch k {
	case "node_id":
		r.NodeID, err = d.dec.DecodeString()
	case "version":
		r.Version, err = d.dec.DecodeString()
	case "proto":
		i, err = d.int(0, 1<<31-1)
		r.Proto = int(i)
	case "addr":
		r.Addr, err = d.dec.DecodeString()
	case "slot":
		i, err = d.int(0, 1<<16)
		r.Slot = int(i)
	case "return_code":
		i, err = d.int(-1<<31, 1<<31-1)
		r.ReturnCode = int(i)
	case "output":
		r.Output, err = d.bin()
	case "puts":
		r.Puts, err = d.strs()
	case "exec_node":
		r.ExecNode, err = d.dec.DecodeString()
	default:
		err = d.dec.Skip()
	}
	return err
}
