package wire

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Decode errors.
var (
	// ErrMalformed is returned for a payload that is not a msgpack map of
	// the documented shape. The connection that sent it is closed.
	ErrMalformed = errors.New("malformed message")

	// ErrBadOp is returned for a well-formed request with an unknown op. The
	// connection stays open; the request gets BAD_REQUEST.
	ErrBadOp = errors.New("bad op")
)

// Decoder decodes requests and responses from frame payloads. It reuses
// its state between calls, so it is not safe for concurrent use. The zero
// value is not usable; call NewDecoder.
//
// A decoded message holds strings copied out of the payload and binary
// fields (values, outputs) that alias it. Decoding never allocates more than
// a small multiple of the payload's size, whatever lengths it declares.
type Decoder struct {
	r        reader
	op       uint64 // the op field as sent, which may not fit in an Op
	valueOff int    // offset of the last request's value in its payload, or -1
}

// ValueOffset returns where the value of the request last decoded starts in
// its payload, or -1 if it had none. Everything before it has been decoded,
// so a receiver that owns the payload may reuse those bytes, for instance
// to put a record header in front of the value without copying it.
func (d *Decoder) ValueOffset() int { return d.valueOff }

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{}
}

// malformed wraps err as ErrMalformed, naming the field.
func malformed(field string, err error) error {
	if field == "" {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fmt.Errorf("%w: field %q: %v", ErrMalformed, field, err)
}

// top reads the header of the top-level map, which must be a map.
func (d *Decoder) top(payload []byte) (int, error) {
	d.r.reset(payload)
	c, err := d.r.peek()
	if err != nil {
		return 0, malformed("", err)
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return 0, malformed("", fmt.Errorf("want a map, got %s", typeName(c)))
	}
	n, err := d.r.mapLen()
	if err != nil {
		return 0, malformed("", err)
	}
	return n, nil
}

// done checks that nothing follows the message.
func (d *Decoder) done() error {
	if n := d.r.len(); n != 0 {
		return malformed("", fmt.Errorf("%d trailing bytes", n))
	}
	return nil
}

// Request decodes one request from a frame payload. Binary fields alias
// payload. Unknown fields are skipped; a nil field reads as absent. On
// error, req.ID holds the id if it was read before the error, so the
// caller can still answer. A well-formed request whose op is not one this
// version knows returns an error matching ErrBadOp, with req filled in.
func (d *Decoder) Request(payload []byte, req *Request) error {
	*req = Request{}
	d.op, d.valueOff = 0, -1
	n, err := d.top(payload)
	if err != nil {
		return err
	}
	for range n {
		k, err := d.r.key()
		if err != nil {
			return malformed("", fmt.Errorf("map key: %v", err))
		}
		if err := d.requestField(k, req); err != nil {
			return malformed(string(k), err)
		}
	}
	if err := d.done(); err != nil {
		return err
	}
	if !req.Op.Valid() {
		return fmt.Errorf("%w: unknown op %d", ErrBadOp, d.op)
	}
	return nil
}

func (d *Decoder) requestField(k []byte, r *Request) (err error) {
	var u uint64
	var i int64
	switch string(k) {
	case "id":
		r.ID, err = d.r.uint(math.MaxUint64)
	case "op":
		// Any integer is a well-formed op; one this version does not know
		// (including one too big for an Op) is ErrBadOp, not malformed.
		d.op, err = d.r.uint(math.MaxUint64)
		if d.op <= math.MaxUint8 {
			r.Op = Op(d.op)
		}
	case "key":
		r.Key, err = d.r.str()
	case "value":
		r.Value, err = d.r.bytes()
		if r.Value != nil {
			d.valueOff = d.r.off - len(r.Value)
		}
	case "perm":
		u, err = d.r.uint(math.MaxUint8)
		r.Perm = uint8(u)
	case "min_replicas":
		i, err = d.r.int(0, maxMinReplicas)
		r.MinReplicas = int(i)
	case "force":
		r.Force, err = d.r.bool()
	case "keys":
		r.Keys, err = d.strs()
	case "proto":
		i, err = d.r.int(0, math.MaxInt32)
		r.Proto = int(i)
	case "token":
		r.Token, err = d.r.str()
	case "client":
		r.Client, err = d.r.str()
	default:
		return d.execField(k, r)
	}
	return err
}

func (d *Decoder) execField(k []byte, r *Request) (err error) {
	switch string(k) {
	case "args":
		r.Args, err = d.strs()
	case "deps":
		r.Deps, err = decodeList(d, (*Decoder).depField)
	case "outputs":
		r.Outputs, err = decodeList(d, (*Decoder).outputField)
	case "raw":
		r.Raw, err = d.r.bool()
	case "timeout_ms":
		var ms int64
		ms, err = d.r.int(0, maxTimeoutMS)
		r.Timeout = time.Duration(ms) * time.Millisecond
	case "replica_ok":
		r.ReplicaOK, err = d.r.bool()
	case "slot_start", "slot_end":
		var i int64
		i, err = d.r.int(0, maxSlot)
		if string(k) == "slot_start" {
			r.SlotStart = int(i)
		} else {
			r.SlotEnd = int(i)
		}
	case "target":
		r.Target, err = d.r.str()
	case "epoch":
		r.Epoch, err = d.r.uint(math.MaxUint64)
	case "limits":
		r.Limits, err = d.limits()
	case "reset":
		r.Reset, err = d.r.bool()
	case "records":
		r.Records, err = decodeList(d, (*Decoder).recordField)
	default:
		return d.syncField(k, r)
	}
	return err
}

func (d *Decoder) syncField(k []byte, r *Request) (err error) {
	switch string(k) {
	case "env":
		r.Env, err = d.strs()
	case "node":
		r.Node, err = d.r.str()
	case "repl_id":
		r.ReplID, err = d.r.str()
	case "offset":
		r.Offset, err = d.r.uint(math.MaxUint64)
	case "wait_ms":
		var ms int64
		ms, err = d.r.int(0, maxTimeoutMS)
		r.Wait = time.Duration(ms) * time.Millisecond
	case "snapshot":
		r.Snapshot, err = d.r.bool()
	default:
		err = d.r.skip()
	}
	return err
}

// Response decodes one response from a frame payload. Binary fields alias
// payload. Unknown fields are skipped; a nil field reads as absent. An
// unknown status is not an error: it decodes as is.
func (d *Decoder) Response(payload []byte, resp *Response) error {
	*resp = Response{}
	n, err := d.top(payload)
	if err != nil {
		return err
	}
	for range n {
		k, err := d.r.key()
		if err != nil {
			return malformed("", fmt.Errorf("map key: %v", err))
		}
		if err := d.responseField(k, resp); err != nil {
			return malformed(string(k), err)
		}
	}
	return d.done()
}

func (d *Decoder) responseField(k []byte, r *Response) (err error) {
	var u uint64
	switch string(k) {
	case "id":
		r.ID, err = d.r.uint(math.MaxUint64)
	case "status":
		u, err = d.r.uint(math.MaxUint8)
		r.Status = Status(u)
	case "error":
		r.Error, err = d.r.str()
	case "value":
		r.Value, err = d.r.bytes()
	case "perm":
		u, err = d.r.uint(math.MaxUint8)
		r.Perm = uint8(u)
	case "offset":
		r.Offset, err = d.r.uint(math.MaxUint64)
	case "stats":
		r.Stats, err = decodeList(d, (*Decoder).statField)
	case "topology":
		r.Topology, err = d.topology()
	default:
		return d.responseMoreField(k, r)
	}
	return err
}

func (d *Decoder) responseMoreField(k []byte, r *Response) (err error) {
	var i int64
	switch string(k) {
	case "node_id":
		r.NodeID, err = d.r.str()
	case "version":
		r.Version, err = d.r.str()
	case "proto":
		i, err = d.r.int(0, math.MaxInt32)
		r.Proto = int(i)
	case "addr":
		r.Addr, err = d.r.str()
	case "slot":
		i, err = d.r.int(0, maxSlot)
		r.Slot = int(i)
	case "return_code":
		i, err = d.r.int(math.MinInt32, math.MaxInt32)
		r.ReturnCode = int(i)
	case "output":
		r.Output, err = d.r.bytes()
	case "puts":
		r.Puts, err = d.strs()
	case "exec_node":
		r.ExecNode, err = d.r.str()
	case "stderr":
		r.Stderr, err = d.r.bytes()
	case "exec":
		r.Exec, err = d.execStats()
	case "repl_id":
		r.ReplID, err = d.r.str()
	case "entries":
		r.Entries, err = decodeList(d, (*Decoder).entryField)
	case "full_sync":
		r.FullSync, err = d.r.bool()
	case "records":
		r.Records, err = decodeList(d, (*Decoder).recordField)
	case "more":
		r.More, err = d.r.bool()
	default:
		err = d.r.skip()
	}
	return err
}

// Ranges of the integer fields that do not span their Go type. The encoder
// refuses values outside them, so that it never writes what a decoder
// rejects.
const (
	maxMinReplicas = 1 << 16
	maxSlot        = 1 << 16
	maxTimeoutMS   = int64(math.MaxInt64 / time.Millisecond)
)

// strs reads an array of strings; a nil reads as a nil slice.
func (d *Decoder) strs() ([]string, error) {
	n, err := d.r.arrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = d.r.str(); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return out, nil
}
