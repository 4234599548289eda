package wire_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// fullRequest sets every request field.
func fullRequest() *wire.Request {
	return &wire.Request{
		ID: 1<<64 - 1, Op: wire.OpExecute, Key: "k\xffé", Value: []byte{0, 1, 2},
		Perm: 7, MinReplicas: 1 << 16, Force: true, Keys: []string{"a", "", "c"},
		Proto: math.MaxInt32, Token: "t", Client: "c",
		Args:    []string{"x", ""},
		Deps:    []wire.Dep{{Key: "d1"}, {Key: "d2", AsFile: true, Name: "n"}, {}},
		Outputs: []wire.Output{{File: "f", Key: "k", Perm: 255}, {}},
		Raw:     true, Timeout: 12345 * time.Millisecond, ReplicaOK: true,
	}
}

// fullResponse sets every response field.
func fullResponse() *wire.Response {
	return &wire.Response{
		ID: 42, Status: wire.StatusInternal, Error: "e", Value: []byte("value"),
		Perm: 255, Offset: 1<<64 - 1,
		Stats: []wire.StatEntry{
			{Key: "a", Found: true, Size: math.MaxInt64, Perm: 5, Slot: 16383, Owner: "o", Addr: "h:1"},
			{Key: "b", Slot: -1, Size: -1},
		},
		NodeID: "n", Version: "v", Proto: 1, Addr: "h:2", Slot: 1 << 16,
		Topology: &wire.Topology{
			Epoch: 9,
			Nodes: []wire.NodeInfo{{
				ID: "a", Addr: "b", GossipAddr: "c", HTTPAddr: "d", Role: "e", State: "f",
				Master: "g", Coordinator: true, Slots: math.MinInt, Version: "h",
				Offset: 1<<64 - 1, Executors: math.MaxInt,
			}, {}},
			Slots: []wire.SlotRange{{Start: 0, End: 16383, Master: "a", Replicas: []string{"b", "c"}, Epoch: 9}, {}},
		},
		ReturnCode: math.MinInt32, Output: []byte("out"), Puts: []string{"p1", "p2"}, ExecNode: "x",
	}
}

func encodeRequest(t testing.TB, r *wire.Request) []byte {
	t.Helper()
	frame, err := wire.NewEncoder().AppendRequest(nil, r)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return frame[wire.HeaderSize:]
}

func encodeResponse(t testing.TB, r *wire.Response) []byte {
	t.Helper()
	frame, err := wire.NewEncoder().AppendResponse(nil, r)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return frame[wire.HeaderSize:]
}

func TestDecoder_Request_roundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  *wire.Request
	}{
		{"every field", fullRequest()},
		{"minimal", &wire.Request{Op: wire.OpPing}},
		{"empty value", &wire.Request{ID: 1, Op: wire.OpPut, Key: "k", Perm: 1, Value: []byte{}}},
		{"empty lists", &wire.Request{ID: 1, Op: wire.OpExecute, Keys: []string{}, Args: []string{}, Deps: []wire.Dep{}, Outputs: []wire.Output{}}},
		{"large value", &wire.Request{ID: 1, Op: wire.OpPut, Key: "k", Perm: 3, Value: bytes.Repeat([]byte{7}, 70000)}},
		{"long strings", &wire.Request{ID: 1, Op: wire.OpGet, Key: strings.Repeat("k", 16<<10), Token: strings.Repeat("t", 300)}},
		{"max timeout", &wire.Request{ID: 1, Op: wire.OpExecute, Timeout: time.Duration(math.MaxInt64 / int64(time.Millisecond) * int64(time.Millisecond))}},
		{"unknown op", &wire.Request{ID: 1, Op: 255}},
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got wire.Request
			err := dec.Request(encodeRequest(t, tt.req), &got)
			if err != nil && !(errors.Is(err, wire.ErrBadOp) && !tt.req.Op.Valid()) {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(&got, tt.req) {
				t.Errorf("got  %+v\nwant %+v", got, *tt.req)
			}
		})
	}
}

func TestDecoder_Response_roundTrip(t *testing.T) {
	tests := []struct {
		name string
		resp *wire.Response
	}{
		{"every field", fullResponse()},
		{"zero", &wire.Response{}},
		{"output only", &wire.Response{ID: 1, Output: []byte("o")}},
		{"empty output", &wire.Response{ID: 1, Output: []byte{}}},
		{"empty value and output", &wire.Response{ID: 1, Value: []byte{}, Output: []byte{}}},
		{"empty lists", &wire.Response{ID: 1, Stats: []wire.StatEntry{}, Puts: []string{},
			Topology: &wire.Topology{Nodes: []wire.NodeInfo{}, Slots: []wire.SlotRange{}}}},
		{"zero topology", &wire.Response{ID: 1, Topology: &wire.Topology{}}},
		{"unknown status", &wire.Response{ID: 1, Status: 200}},
		{"large value", &wire.Response{ID: 1, Value: bytes.Repeat([]byte{7}, 70000)}},
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got wire.Response
			if err := dec.Response(encodeResponse(t, tt.resp), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(&got, tt.resp) {
				t.Errorf("got  %+v\nwant %+v", got, *tt.resp)
			}
		})
	}
}

// TestDecoder_reuse checks that a decoder carries nothing from one message
// to the next.
func TestDecoder_reuse(t *testing.T) {
	dec := wire.NewDecoder()
	var req wire.Request
	if err := dec.Request(encodeRequest(t, fullRequest()), &req); err != nil {
		t.Fatal(err)
	}
	if err := dec.Request(encodeRequest(t, &wire.Request{ID: 2, Op: wire.OpPing}), &req); err != nil {
		t.Fatal(err)
	}
	if want := (wire.Request{ID: 2, Op: wire.OpPing}); !reflect.DeepEqual(req, want) {
		t.Errorf("got %+v; want %+v", req, want)
	}
	var resp wire.Response
	if err := dec.Response(encodeResponse(t, fullResponse()), &resp); err != nil {
		t.Fatal(err)
	}
	if err := dec.Response(encodeResponse(t, &wire.Response{ID: 3}), &resp); err != nil {
		t.Fatal(err)
	}
	if want := (wire.Response{ID: 3}); !reflect.DeepEqual(resp, want) {
		t.Errorf("got %+v; want %+v", resp, want)
	}
}

// within reports whether b is a sub-slice of frame.
func within(b, frame []byte) bool {
	if len(b) == 0 {
		return true
	}
	start := &frame[0]
	for i := range frame {
		if &frame[i] == &b[0] {
			return i+len(b) <= len(frame) && &frame[i+len(b)-1] == &b[len(b)-1] && start == &frame[0]
		}
	}
	return false
}

func TestDecoder_Request_valueAliasesPayload(t *testing.T) {
	payload := encodeRequest(t, &wire.Request{ID: 1, Op: wire.OpPut, Key: "k", Perm: 3, Value: []byte("abcdef")})
	var req wire.Request
	if err := wire.NewDecoder().Request(payload, &req); err != nil {
		t.Fatal(err)
	}
	if !within(req.Value, payload) {
		t.Fatal("Value is a copy; want a slice of the payload")
	}
	if cap(req.Value) != len(req.Value) {
		t.Errorf("cap(Value) = %d; want %d, so that append cannot write into the payload", cap(req.Value), len(req.Value))
	}
	before := bytes.Clone(payload)
	_ = append(req.Value, 'X')
	if !bytes.Equal(payload, before) {
		t.Error("append to Value changed the payload")
	}
	// The key is a copy: changing the payload leaves it alone.
	payload[bytes.Index(payload, []byte("\xa1k"))+1] = 'z'
	if req.Key != "k" {
		t.Errorf("Key = %q after the payload changed; want a copy", req.Key)
	}
}

func TestDecoder_Response_valueAndOutputAliasPayload(t *testing.T) {
	payload := encodeResponse(t, &wire.Response{ID: 1, Value: []byte("value"), Output: []byte("output")})
	var resp wire.Response
	if err := wire.NewDecoder().Response(payload, &resp); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Value": resp.Value, "Output": resp.Output} {
		if !within(b, payload) {
			t.Errorf("%s is a copy; want a slice of the payload", name)
		}
		if cap(b) != len(b) {
			t.Errorf("cap(%s) = %d; want %d", name, cap(b), len(b))
		}
	}
}

// validPayloads returns the payloads of every vector that decodes.
func validPayloads(tb testing.TB) (reqs, resps [][]byte) {
	for _, b := range readVectors(tb) {
		if b.err == "malformed" {
			continue
		}
		if b.kind == "request" {
			reqs = append(reqs, b.frame[wire.HeaderSize:])
		} else {
			resps = append(resps, b.frame[wire.HeaderSize:])
		}
	}
	return reqs, resps
}

// TestDecoder_truncated cuts every valid payload at every byte offset:
// decoding must fail with ErrMalformed, never panic or succeed.
func TestDecoder_truncated(t *testing.T) {
	reqs, resps := validPayloads(t)
	reqs = append(reqs, encodeRequest(t, fullRequest()))
	resps = append(resps, encodeResponse(t, fullResponse()))
	dec := wire.NewDecoder()
	for _, p := range reqs {
		for i := range len(p) {
			cut := bytes.Clone(p[:i]) // no spare capacity to read past
			if err := dec.Request(cut, new(wire.Request)); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("request % x cut at %d: err = %v; want ErrMalformed", p, i, err)
			}
		}
	}
	for _, p := range resps {
		for i := range len(p) {
			cut := bytes.Clone(p[:i])
			if err := dec.Response(cut, new(wire.Response)); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("response % x cut at %d: err = %v; want ErrMalformed", p, i, err)
			}
		}
	}
}

func TestDecoder_trailingBytes(t *testing.T) {
	reqs, resps := validPayloads(t)
	dec := wire.NewDecoder()
	for _, tail := range [][]byte{{0xc0}, {0x00}, {0x81, 0xa1, 'x', 0x01}} {
		for _, p := range reqs {
			if err := dec.Request(append(bytes.Clone(p), tail...), new(wire.Request)); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("request % x + % x: err = %v; want ErrMalformed", p, tail, err)
			}
		}
		for _, p := range resps {
			if err := dec.Response(append(bytes.Clone(p), tail...), new(wire.Response)); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("response % x + % x: err = %v; want ErrMalformed", p, tail, err)
			}
		}
	}
}

func TestDecoder_notAMap(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"nil", h("c0")},
		{"array", h("92 a2 69 64 01")},
		{"int", h("01")},
		{"str", str("id")},
		{"bin", bin("id")},
		{"bool", h("c3")},
		{"float", h("cb 00 00 00 00 00 00 00 00")},
		{"ext", h("d4 01 00")},
		{"invalid", h("c1")},
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := dec.Request(tt.payload, new(wire.Request)); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("Request: err = %v; want ErrMalformed", err)
			}
			if err := dec.Response(tt.payload, new(wire.Response)); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("Response: err = %v; want ErrMalformed", err)
			}
		})
	}
}

// reqWith is a get request of id 77 with one more field.
func reqWith(field string, value []byte) []byte {
	return bytes.Join([][]byte{fixmap(4), str("id"), h("4d"), str("op"), h("03"), str("key"), str("k"), str(field), value}, nil)
}

func respWith(field string, value []byte) []byte {
	return bytes.Join([][]byte{fixmap(3), str("id"), h("4d"), str("status"), h("00"), str(field), value}, nil)
}

func TestDecoder_Request_wrongTypes(t *testing.T) {
	tests := []struct {
		field string
		value string // hex
	}{
		{"key", "2a"},                                // int
		{"key", "92 a1 61 a1 62"},                    // array
		{"value", "2a"},                              // int
		{"value", "90"},                              // array
		{"perm", "a2 72 77"},                         // str "rw"
		{"perm", "cd 01 00"},                         // 256
		{"perm", "ff"},                               // -1
		{"perm", "c3"},                               // bool
		{"op", "a3 67 65 74"},                        // str "get"
		{"op", "ff"},                                 // -1
		{"id", "a1 31"},                              // str
		{"id", "d0 ff"},                              // -1 as int8
		{"id", "ca 3f 80 00 00"},                     // float 1.0
		{"force", "01"},                              // int
		{"force", "a4 74 72 75 65"},                  // str "true"
		{"raw", "00"},                                // int
		{"replica_ok", "01"},                         // int
		{"keys", "a1 61"},                            // str
		{"keys", "92 01 02"},                         // array of ints
		{"keys", "81 a1 61 a1 62"},                   // map
		{"args", "91 c3"},                            // array of bool
		{"deps", "91 01"},                            // array of int
		{"deps", "81 a3 6b 65 79 a1 61"},             // a map, not an array
		{"deps", "91 81 a3 6b 65 79 01"},             // [{key: 1}]
		{"deps", "91 81 a7 61 73 5f 66 69 6c 65 01"}, // [{as_file: 1}]
		{"deps", "91 81 01 01"},                      // [{1: 1}]
		{"outputs", "91 81 a4 70 65 72 6d a1 72"},    // [{perm: "r"}]
		{"outputs", "91 81 a4 70 65 72 6d cd 01 00"}, // [{perm: 256}]
		{"timeout_ms", "ff"},                         // -1
		{"timeout_ms", "cb 40 8f 40 00 00 00 00 00"}, // float 1000.0
		{"timeout_ms", "cf ff ff ff ff ff ff ff ff"}, // overflows a Duration
		{"min_replicas", "ff"},                       // -1
		{"min_replicas", "ce 00 01 00 01"},           // 65537
		{"proto", "ff"},                              // -1
		{"proto", "ce 80 00 00 00"},                  // 2^31
		{"token", "01"},
		{"client", "c3"},
		{"x_unknown", "c1"}, // never valid msgpack, even when skipped
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			var req wire.Request
			err := dec.Request(reqWith(tt.field, h(tt.value)), &req)
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("err = %v; want ErrMalformed", err)
			}
			if tt.field != "id" && req.ID != 77 {
				t.Errorf("ID = %d after the error; want 77 so that the error can be answered", req.ID)
			}
			if tt.field != "x_unknown" && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
		})
	}
}

func TestDecoder_Response_wrongTypes(t *testing.T) {
	tests := []struct {
		field string
		value string // hex
	}{
		{"status", "a2 4f 4b"}, // str "OK"
		{"status", "cd 01 00"}, // 256
		{"error", "01"},
		{"value", "01"},
		{"perm", "cd 01 00"},
		{"offset", "ff"},                        // -1
		{"stats", "81 a1 61 01"},                // a map
		{"stats", "91 81 a5 66 6f 75 6e 64 01"}, // [{found: 1}]
		{"stats", "91 81 a4 73 69 7a 65 a1 31"}, // [{size: "1"}]
		{"node_id", "01"},
		{"version", "01"},
		{"proto", "ff"},
		{"addr", "01"},
		{"slot", "ff"},                          // -1
		{"slot", "ce 00 01 00 01"},              // 65537
		{"topology", "90"},                      // an array
		{"topology", "81 a5 6e 6f 64 65 73 01"}, // {nodes: 1}
		{"topology", "81 a5 73 6c 6f 74 73 91 81 a5 73 74 61 72 74 a1 30"},          // {slots: [{start: "0"}]}
		{"topology", "81 a5 73 6c 6f 74 73 91 81 a8 72 65 70 6c 69 63 61 73 91 01"}, // {slots: [{replicas: [1]}]}
		{"topology", "81 a5 65 70 6f 63 68 ff"},                                     // {epoch: -1}
		{"return_code", "ce 80 00 00 00"},                                           // 2^31
		{"return_code", "cf ff ff ff ff ff ff ff ff"},                               // 2^64-1, not -1
		{"output", "c3"},
		{"puts", "91 01"},
		{"exec_node", "01"},
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			var resp wire.Response
			err := dec.Response(respWith(tt.field, h(tt.value)), &resp)
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("err = %v; want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
		})
	}
}

// TestDecoder_Request_op checks that any integer op is well-formed: one
// this version does not know is ErrBadOp (answer, keep the connection),
// even when it does not fit in an Op.
func TestDecoder_Request_op(t *testing.T) {
	tests := []struct {
		value   string // hex
		wantOp  wire.Op
		wantErr error
	}{
		{"03", wire.OpGet, nil},
		{"cc 08", wire.OpTopology, nil},
		{"00", wire.OpInvalid, wire.ErrBadOp},
		{"0c", 12, wire.ErrBadOp},
		{"cc ff", 255, wire.ErrBadOp},
		{"cd 01 00", wire.OpInvalid, wire.ErrBadOp},
		{"cd 01 03", wire.OpInvalid, wire.ErrBadOp}, // 259 must not wrap to get
		{"cf ff ff ff ff ff ff ff ff", wire.OpInvalid, wire.ErrBadOp},
		{"c0", wire.OpInvalid, wire.ErrBadOp}, // nil: absent
		{"ff", wire.OpInvalid, wire.ErrMalformed},
	}
	dec := wire.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			p := bytes.Join([][]byte{fixmap(2), str("id"), h("05"), str("op"), h(tt.value)}, nil)
			var req wire.Request
			err := dec.Request(p, &req)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if req.Op != tt.wantOp || req.ID != 5 {
				t.Errorf("op %d id %d; want op %d id 5", req.Op, req.ID, tt.wantOp)
			}
			if errors.Is(err, wire.ErrBadOp) && errors.Is(err, wire.ErrMalformed) {
				t.Errorf("err %v is both ErrBadOp and ErrMalformed", err)
			}
		})
	}
}

// TestDecoder_Request_nilIsAbsent checks that a nil field reads as its zero
// value, and a repeated field as its last occurrence.
func TestDecoder_Request_nilIsAbsent(t *testing.T) {
	fields := []string{"id", "key", "value", "perm", "min_replicas", "force", "keys",
		"proto", "token", "client", "args", "deps", "outputs", "raw", "timeout_ms", "replica_ok"}
	p := []byte{0xde, 0, byte(len(fields) + 1)}
	p = append(append(p, str("op")...), 0x02)
	for _, f := range fields {
		p = append(append(p, str(f)...), 0xc0)
	}
	var req wire.Request
	if err := wire.NewDecoder().Request(p, &req); err != nil {
		t.Fatal(err)
	}
	if want := (wire.Request{Op: wire.OpPing}); !reflect.DeepEqual(req, want) {
		t.Errorf("got %+v; want %+v", req, want)
	}
	p = bytes.Join([][]byte{fixmap(4), str("op"), h("03"), str("key"), str("a"), str("key"), str("b"), str("id"), h("01")}, nil)
	if err := wire.NewDecoder().Request(p, &req); err != nil {
		t.Fatal(err)
	}
	if req.Key != "b" {
		t.Errorf("repeated key: Key = %q; want the last, %q", req.Key, "b")
	}
}

// TestDecoder_skipsAnyType checks that an unknown field of any msgpack
// type, as another implementation might write it, is skipped.
func TestDecoder_skipsAnyType(t *testing.T) {
	values := []any{
		nil, true, false, 0, -1, -33, 127, 128, -129, 1 << 20, int64(-1 << 40), uint64(1<<64 - 1),
		1.5, float32(2.5), "", "s", strings.Repeat("s", 40), strings.Repeat("s", 300), strings.Repeat("s", 70000),
		[]byte{}, []byte{1}, bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{1}, 70000),
		[]any{}, []any{1, "a", []any{[]any{}}}, make([]any, 20), make([]any, 70000),
		map[string]any{}, map[string]any{"a": map[string]any{"b": []any{nil}}},
		time.Unix(1, 2), time.Unix(1<<40, 0), // ext -1 (timestamp), fixext 8 and ext 8
	}
	big := map[string]any{}
	for i := range 20 {
		big[strings.Repeat("k", i)] = i
	}
	values = append(values, big)
	var raws [][]byte
	for _, v := range values {
		raw, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	// Ext types of every size class, written by hand.
	for _, ext := range []string{"d4 05 01", "d5 05 01 02", "d6 05 01 02 03 04", "d7 05" + strings.Repeat(" 00", 8),
		"d8 05" + strings.Repeat(" 00", 16), "c7 03 05 01 02 03", "c8 00 01 05 01", "c9 00 00 00 01 05 01"} {
		raws = append(raws, h(ext))
	}
	dec := wire.NewDecoder()
	for i, raw := range raws {
		var v any = "ext"
		if i < len(values) {
			v = values[i]
		}
		var req wire.Request
		if err := dec.Request(reqWith("x_unknown", raw), &req); err != nil {
			t.Fatalf("skip %T % .20x: %v", v, raw, err)
		}
		if req.ID != 77 || req.Key != "k" {
			t.Errorf("skip %T: got %+v", v, req)
		}
		var resp wire.Response
		if err := dec.Response(respWith("x_unknown", raw), &resp); err != nil || resp.ID != 77 {
			t.Fatalf("response skip %T: %v, %+v", v, err, resp)
		}
	}
}

// TestDecoder_deepNesting checks that nesting depth costs no stack: a frame
// of a million nested arrays in an unknown field decodes (or fails) like any
// other. The msgpack library's recursive Skip overflows the goroutine stack
// (a fatal error, not a panic) on a few MiB of 0x91.
func TestDecoder_deepNesting(t *testing.T) {
	const depth = 1 << 20
	nested := append(bytes.Repeat([]byte{0x91}, depth), 0xc0)
	var req wire.Request
	if err := wire.NewDecoder().Request(reqWith("x", nested), &req); err != nil {
		t.Fatalf("deep but complete: %v", err)
	}
	if err := wire.NewDecoder().Request(reqWith("x", nested[:depth]), &req); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("deep and truncated: err = %v; want ErrMalformed", err)
	}
	maps := append(bytes.Repeat([]byte{0x81, 0xa0}, depth), 0xc0)
	if err := wire.NewDecoder().Request(reqWith("x", maps), &req); err != nil {
		t.Fatalf("deep maps: %v", err)
	}
}

// hugeLengths are small payloads that declare huge lengths.
var hugeLengths = []struct {
	name    string
	payload []byte
}{
	{"bin32 value", reqWith("value", h("c6 7f ff ff ff 00"))},
	{"str32 key", bytes.Join([][]byte{fixmap(2), str("op"), h("03"), str("key"), h("db ff ff ff ff 6b")}, nil)},
	{"str32 token", reqWith("token", h("db 7f ff ff ff"))},
	{"array32 keys", reqWith("keys", h("dd 7f ff ff ff a0"))},
	{"array32 args", reqWith("args", h("dd ff ff ff ff"))},
	{"array32 deps", reqWith("deps", h("dd 7f ff ff ff 80"))},
	{"array32 outputs", reqWith("outputs", h("dd 7f ff ff ff 80 80"))},
	{"map32 dep", reqWith("deps", h("91 df 7f ff ff ff"))},
	{"map32 top", h("df 7f ff ff ff a2 69 64 01")},
	{"map16 top", h("de ff ff a2 69 64 01")},
	{"bin32 skipped", reqWith("x", h("c6 7f ff ff ff 00"))},
	{"str32 skipped", reqWith("x", h("db 7f ff ff ff 00"))},
	{"ext32 skipped", reqWith("x", h("c9 7f ff ff ff 01 00"))},
	{"array32 skipped", reqWith("x", h("dd 7f ff ff ff c0"))},
	{"map32 skipped", reqWith("x", h("df 7f ff ff ff c0"))},
	{"nested array32 skipped", reqWith("x", h("91 91 dd ff ff ff ff 00"))},
}

var hugeResponseLengths = []struct {
	name    string
	payload []byte
}{
	{"bin32 value", respWith("value", h("c6 7f ff ff ff 00"))},
	{"bin32 output", respWith("output", h("c6 ff ff ff ff 00"))},
	{"array32 stats", respWith("stats", h("dd 7f ff ff ff 80"))},
	{"array32 puts", respWith("puts", h("dd 7f ff ff ff a0"))},
	{"array32 nodes", respWith("topology", h("81 a5 6e 6f 64 65 73 dd 7f ff ff ff 80"))},
	{"array32 slots", respWith("topology", h("81 a5 73 6c 6f 74 73 dd 7f ff ff ff 80"))},
	{"array32 replicas", respWith("topology", h("81 a5 73 6c 6f 74 73 91 81 a8 72 65 70 6c 69 63 61 73 dd 7f ff ff ff a0"))},
	{"str32 node id", respWith("topology", h("81 a5 6e 6f 64 65 73 91 81 a2 69 64 db 7f ff ff ff"))},
}

// TestDecoder_hugeLengths checks that lengths declared in a small frame are
// checked before anything is allocated for them: each decode fails and
// allocates a few hundred bytes (error values), not gigabytes.
// Before the decoder checked them, a 15-byte frame declaring 4M deps made
// it allocate 320 MiB.
func TestDecoder_hugeLengths(t *testing.T) {
	dec := wire.NewDecoder()
	check := func(t *testing.T, decode func() error) {
		if err := decode(); !errors.Is(err, wire.ErrMalformed) {
			t.Fatalf("err = %v; want ErrMalformed", err)
		}
		allocs := testing.AllocsPerRun(10, func() { _ = decode() })
		bytes := allocBytes(100, func() { _ = decode() })
		if allocs > 64 || bytes > 4096 {
			t.Errorf("decoding allocates %.0f times, %d bytes; want at most 64 times and 4 KiB", allocs, bytes)
		}
	}
	for _, tt := range hugeLengths {
		t.Run("request/"+tt.name, func(t *testing.T) {
			if len(tt.payload) > 40 {
				t.Fatalf("payload is %d bytes; keep it small", len(tt.payload))
			}
			var req wire.Request
			check(t, func() error { return dec.Request(tt.payload, &req) })
		})
	}
	for _, tt := range hugeResponseLengths {
		t.Run("response/"+tt.name, func(t *testing.T) {
			var resp wire.Response
			check(t, func() error { return dec.Response(tt.payload, &resp) })
		})
	}
}

// allocBytes returns the bytes f allocates per call, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	var before, after runtime.MemStats
	f()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestDecoder_elementBudget checks the bound on array elements in one
// message: a frame of 2^20+1 one-byte strings is refused, since it would
// decode into 16 bytes of string header per byte of frame (and a dep into
// 40): a 257 MiB frame could take 10 GiB.
func TestDecoder_elementBudget(t *testing.T) {
	keys := func(n int) []byte {
		p := bytes.Join([][]byte{fixmap(2), str("op"), h("06"), str("keys"), {0xdd, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}}, nil)
		return append(p, bytes.Repeat([]byte{0xa0}, n)...)
	}
	const limit = 1 << 20
	var req wire.Request
	if err := wire.NewDecoder().Request(keys(limit), &req); err != nil || len(req.Keys) != limit {
		t.Fatalf("%d keys: err %v, %d decoded", limit, err, len(req.Keys))
	}
	if err := wire.NewDecoder().Request(keys(limit+1), &req); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("%d keys: err = %v; want ErrMalformed", limit+1, err)
	}
	// The budget is for the whole message, across fields.
	split := bytes.Join([][]byte{fixmap(3), str("op"), h("07"),
		str("args"), {0xdd, 0, 0x08, 0, 0}, bytes.Repeat([]byte{0xa0}, limit/2),
		str("deps"), {0xdd, 0, 0x08, 0, 1}, bytes.Repeat([]byte{0x80}, limit/2+1)}, nil)
	if err := wire.NewDecoder().Request(split, &req); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("%d args + %d deps: err = %v; want ErrMalformed", limit/2, limit/2+1, err)
	}
}

func TestDecoder_ValueOffset(t *testing.T) {
	value := bytes.Repeat([]byte{0xab}, 70000)
	frame, err := wire.NewEncoder().AppendRequest(nil, &wire.Request{ID: 1, Op: wire.OpPut, Key: "k", Value: value, Perm: 3})
	if err != nil {
		t.Fatal(err)
	}
	payload := frame[wire.HeaderSize:]
	d := wire.NewDecoder()
	var req wire.Request
	if err := d.Request(payload, &req); err != nil {
		t.Fatal(err)
	}
	off := d.ValueOffset()
	if off < 9 || !bytes.Equal(payload[off:off+len(value)], value) {
		t.Errorf("ValueOffset = %d; want the start of the value in the payload", off)
	}
	if err := d.Request(mustFrame(t, &wire.Request{ID: 2, Op: wire.OpGet, Key: "k"}), &req); err != nil {
		t.Fatal(err)
	}
	if off := d.ValueOffset(); off != -1 {
		t.Errorf("ValueOffset after a get = %d; want -1", off)
	}
}

func mustFrame(t *testing.T, r *wire.Request) []byte {
	t.Helper()
	b, err := wire.NewEncoder().AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return b[wire.HeaderSize:]
}
