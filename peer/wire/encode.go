package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Encoder writes requests and responses as frames. It reuses its buffers
// between calls, so it is not safe for concurrent use; give each writer
// goroutine its own. The zero value is not usable; call NewEncoder.
type Encoder struct {
	buf  bytes.Buffer
	enc  *msgpack.Encoder
	last int              // size of the last frame written, header included
	hdr  [HeaderSize]byte // scratch for the length prefix; a local would escape through w.Write
}

// LastSize returns the size in bytes, header included, of the last frame
// written or appended.
func (e *Encoder) LastSize() int { return e.last }

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	return e
}

// WriteRequest writes r to w as one frame. A put's value is written to w
// straight from r.Value, not copied into the frame buffer first.
func (e *Encoder) WriteRequest(w *bufio.Writer, r *Request) error {
	e.buf.Reset()
	if err := e.encodeRequest(r); err != nil {
		return fmt.Errorf("encode %s request: %w", r.Op, err)
	}
	return e.flushTo(w, r.Value)
}

// WriteResponse writes r to w as one frame. A get's value or an execution's
// output is written to w straight from r, not copied into the frame buffer.
func (e *Encoder) WriteResponse(w *bufio.Writer, r *Response) error {
	e.buf.Reset()
	if err := e.encodeResponse(r); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return e.flushTo(w, responseTail(r))
}

// AppendRequest appends r as one frame to b, for tests and test vectors.
func (e *Encoder) AppendRequest(b []byte, r *Request) ([]byte, error) {
	e.buf.Reset()
	if err := e.encodeRequest(r); err != nil {
		return b, fmt.Errorf("encode %s request: %w", r.Op, err)
	}
	if uint64(e.buf.Len())+uint64(len(r.Value)) > math.MaxUint32 {
		return b, errFrameOverflow
	}
	return e.appendTo(b, r.Value), nil
}

// AppendResponse appends r as one frame to b.
func (e *Encoder) AppendResponse(b []byte, r *Response) ([]byte, error) {
	e.buf.Reset()
	if err := e.encodeResponse(r); err != nil {
		return b, fmt.Errorf("encode response: %w", err)
	}
	if uint64(e.buf.Len())+uint64(len(responseTail(r))) > math.MaxUint32 {
		return b, errFrameOverflow
	}
	return e.appendTo(b, responseTail(r)), nil
}

// errFrameOverflow is returned for a message that does not fit the 32-bit
// length prefix; writing its truncated length would desynchronise the stream.
var errFrameOverflow = errors.New("message longer than 4 GiB - 1")

func (e *Encoder) flushTo(w *bufio.Writer, tail []byte) error {
	if uint64(e.buf.Len())+uint64(len(tail)) > math.MaxUint32 {
		return errFrameOverflow
	}
	e.last = HeaderSize + e.buf.Len() + len(tail)
	AppendHeader(e.hdr[:0], e.buf.Len()+len(tail))
	if _, err := w.Write(e.hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(tail)
	return err
}

func (e *Encoder) appendTo(b, tail []byte) []byte {
	e.last = HeaderSize + e.buf.Len() + len(tail)
	b = AppendHeader(b, e.buf.Len()+len(tail))
	b = append(b, e.buf.Bytes()...)
	return append(b, tail...)
}

// responseTail is the binary field sent last, after its header, so that it
// need not be copied into the frame buffer.
func responseTail(r *Response) []byte {
	if r.Value != nil {
		return r.Value
	}
	return r.Output
}

// fieldWriter counts and writes map entries, remembering the first error.
type fieldWriter struct {
	enc *msgpack.Encoder
	err error
}

func (f *fieldWriter) key(k string) bool {
	if f.err == nil {
		f.err = f.enc.EncodeString(k)
	}
	return f.err == nil
}

func (f *fieldWriter) uint(k string, v uint64) {
	if f.key(k) {
		f.err = f.enc.EncodeUint(v)
	}
}

func (f *fieldWriter) int(k string, v int64) {
	if f.key(k) {
		f.err = f.enc.EncodeInt(v)
	}
}

func (f *fieldWriter) str(k, v string) {
	if f.key(k) {
		f.err = f.enc.EncodeString(v)
	}
}

func (f *fieldWriter) bool(k string, v bool) {
	if f.key(k) {
		f.err = f.enc.EncodeBool(v)
	}
}

func (f *fieldWriter) strs(k string, v []string) {
	if !f.key(k) {
		return
	}
	if f.err = f.enc.EncodeArrayLen(len(v)); f.err != nil {
		return
	}
	for _, s := range v {
		if f.err = f.enc.EncodeString(s); f.err != nil {
			return
		}
	}
}

func (f *fieldWriter) value(k string, v any) {
	if f.key(k) {
		f.err = f.enc.Encode(v)
	}
}

// binHeader writes the key and the bin header of a field whose bytes follow
// the encoded buffer.
func (f *fieldWriter) binHeader(k string, n int) {
	if f.key(k) {
		f.err = f.enc.EncodeBytesLen(n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nz[T comparable](v T) int {
	var zero T
	if v != zero {
		return 1
	}
	return 0
}

// checkRange returns an error naming field if v is outside [min, max]: the
// encoder refuses what the decoder would reject as malformed, since a
// malformed frame costs the sender its connection.
func checkRange(field string, v, min, max int64) error {
	if v < min || v > max {
		return fmt.Errorf("%s %d out of range [%d, %d]", field, v, min, max)
	}
	return nil
}

func checkRequest(r *Request) error {
	return errors.Join(
		checkRange("min_replicas", int64(r.MinReplicas), 0, maxMinReplicas),
		checkRange("proto", int64(r.Proto), 0, math.MaxInt32),
		checkRange("timeout", int64(r.Timeout), 0, math.MaxInt64),
		checkRange("wait", int64(r.Wait), 0, math.MaxInt64))
}

func checkResponse(r *Response) error {
	return errors.Join(
		checkRange("proto", int64(r.Proto), 0, math.MaxInt32),
		checkRange("slot", int64(r.Slot), 0, maxSlot),
		checkRange("return_code", int64(r.ReturnCode), math.MinInt32, math.MaxInt32))
}

// timeoutMS converts a timeout to whole milliseconds, rounding up so that a
// positive timeout never becomes zero (which means the node's default).
func timeoutMS(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 && ms < maxTimeoutMS {
		ms++
	}
	return ms
}

func (e *Encoder) encodeRequest(r *Request) error {
	if err := checkRequest(r); err != nil {
		return err
	}
	n := 2 + nz(r.Key) + b2i(r.Value != nil) + nz(r.Perm) + nz(r.MinReplicas) +
		nz(r.Force) + b2i(r.Keys != nil) + nz(r.Proto) + nz(r.Token) +
		nz(r.Client) + b2i(r.Args != nil) + b2i(r.Deps != nil) +
		b2i(r.Outputs != nil) + nz(r.Raw) + nz(r.Timeout) + nz(r.ReplicaOK) +
		nz(r.SlotStart) + nz(r.SlotEnd) + nz(r.Target) + nz(r.Epoch) + nz(r.Reset) + b2i(r.Records != nil) +
		b2i(r.Limits != nil) + b2i(r.Env != nil) + nz(r.Node) + nz(r.ReplID) + nz(r.Offset) + nz(r.Wait) + nz(r.Snapshot)
	f := fieldWriter{enc: e.enc}
	if f.err = e.enc.EncodeMapLen(n); f.err != nil {
		return f.err
	}
	f.uint("id", r.ID)
	f.uint("op", uint64(r.Op))
	if r.Key != "" {
		f.str("key", r.Key)
	}
	if r.Perm != 0 {
		f.uint("perm", uint64(r.Perm))
	}
	if r.MinReplicas != 0 {
		f.int("min_replicas", int64(r.MinReplicas))
	}
	if r.Force {
		f.bool("force", true)
	}
	if r.Keys != nil {
		f.strs("keys", r.Keys)
	}
	if r.Proto != 0 {
		f.int("proto", int64(r.Proto))
	}
	if r.Token != "" {
		f.str("token", r.Token)
	}
	if r.Client != "" {
		f.str("client", r.Client)
	}
	e.encodeExec(&f, r)
	e.encodeCluster(&f, r)
	if r.Value != nil {
		f.binHeader("value", len(r.Value))
	}
	return f.err
}

func (e *Encoder) encodeCluster(f *fieldWriter, r *Request) {
	if r.SlotStart != 0 {
		f.int("slot_start", int64(r.SlotStart))
	}
	if r.SlotEnd != 0 {
		f.int("slot_end", int64(r.SlotEnd))
	}
	if r.Target != "" {
		f.str("target", r.Target)
	}
	if r.Epoch != 0 {
		f.uint("epoch", r.Epoch)
	}
	if r.Reset {
		f.bool("reset", true)
	}
	if r.Records != nil {
		f.value("records", r.Records)
	}
	if r.Node != "" {
		f.str("node", r.Node)
	}
	if r.ReplID != "" {
		f.str("repl_id", r.ReplID)
	}
	if r.Offset != 0 {
		f.uint("offset", r.Offset)
	}
	if r.Wait != 0 {
		f.int("wait_ms", timeoutMS(r.Wait))
	}
	if r.Snapshot {
		f.bool("snapshot", true)
	}
}

func (e *Encoder) encodeExec(f *fieldWriter, r *Request) {
	if r.Args != nil {
		f.strs("args", r.Args)
	}
	if r.Deps != nil {
		f.value("deps", r.Deps)
	}
	if r.Outputs != nil {
		f.value("outputs", r.Outputs)
	}
	if r.Raw {
		f.bool("raw", true)
	}
	if r.Timeout != 0 {
		f.int("timeout_ms", timeoutMS(r.Timeout))
	}
	if r.ReplicaOK {
		f.bool("replica_ok", true)
	}
	if r.Limits != nil {
		f.value("limits", r.Limits)
	}
	if r.Env != nil {
		f.strs("env", r.Env)
	}
}

func (e *Encoder) encodeResponse(r *Response) error {
	if err := checkResponse(r); err != nil {
		return err
	}
	tail := responseTail(r)
	n := 2 + nz(r.Error) + b2i(tail != nil) + nz(r.Perm) + nz(r.Offset) +
		b2i(r.Stats != nil) + nz(r.NodeID) + nz(r.Version) + nz(r.Proto) +
		nz(r.Addr) + nz(r.Slot) + b2i(r.Topology != nil) + nz(r.ReturnCode) +
		b2i(r.Puts != nil) + nz(r.ExecNode) + b2i(r.Value != nil && r.Output != nil) +
		b2i(r.Stderr != nil) + b2i(r.Exec != nil) + nz(r.ReplID) + b2i(r.Entries != nil) +
		nz(r.FullSync) + b2i(r.Records != nil) + nz(r.More)
	f := fieldWriter{enc: e.enc}
	if f.err = e.enc.EncodeMapLen(n); f.err != nil {
		return f.err
	}
	f.uint("id", r.ID)
	f.uint("status", uint64(r.Status))
	if r.Error != "" {
		f.str("error", r.Error)
	}
	if r.Perm != 0 {
		f.uint("perm", uint64(r.Perm))
	}
	if r.Offset != 0 {
		f.uint("offset", r.Offset)
	}
	if r.Stats != nil {
		f.value("stats", r.Stats)
	}
	e.encodeHello(&f, r)
	if r.Topology != nil {
		f.value("topology", r.Topology)
	}
	e.encodeExecResult(&f, r)
	switch {
	case r.Value != nil:
		if r.Output != nil {
			f.value("output", r.Output)
		}
		f.binHeader("value", len(r.Value))
	case r.Output != nil:
		f.binHeader("output", len(r.Output))
	}
	return f.err
}

func (e *Encoder) encodeHello(f *fieldWriter, r *Response) {
	if r.NodeID != "" {
		f.str("node_id", r.NodeID)
	}
	if r.Version != "" {
		f.str("version", r.Version)
	}
	if r.Proto != 0 {
		f.int("proto", int64(r.Proto))
	}
	if r.Addr != "" {
		f.str("addr", r.Addr)
	}
	if r.Slot != 0 {
		f.int("slot", int64(r.Slot))
	}
}

func (e *Encoder) encodeExecResult(f *fieldWriter, r *Response) {
	if r.ReturnCode != 0 {
		f.int("return_code", int64(r.ReturnCode))
	}
	if r.Puts != nil {
		f.strs("puts", r.Puts)
	}
	if r.ExecNode != "" {
		f.str("exec_node", r.ExecNode)
	}
	if r.Stderr != nil {
		f.value("stderr", r.Stderr)
	}
	if r.Exec != nil {
		f.value("exec", r.Exec)
	}
	if r.ReplID != "" {
		f.str("repl_id", r.ReplID)
	}
	if r.Entries != nil {
		f.value("entries", r.Entries)
	}
	if r.FullSync {
		f.bool("full_sync", true)
	}
	if r.Records != nil {
		f.value("records", r.Records)
	}
	if r.More {
		f.bool("more", true)
	}
}
