package wire_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// vectorDef defines one test vector. TestVectors -update renders these into
// testdata/vectors.txt; the file, not this list, is the contract.
type vectorDef struct {
	name string
	note string
	req  *wire.Request  // a request vector: its meaning
	resp *wire.Response // a response vector: its meaning
	// frame, when set, is the frame itself (check: decode): something a
	// decoder must handle that the reference encoder does not write.
	frame []byte
	err   string // "", "bad_op" or "malformed"
}

// vectorDefs lists the vectors. Keep names stable: implementations in other
// languages may refer to them.
func vectorDefs() []vectorDef {
	var defs []vectorDef
	defs = append(defs, requestDefs()...)
	defs = append(defs, responseDefs()...)
	defs = append(defs, decodeOnlyDefs()...)
	return append(defs, malformedDefs()...)
}

// Example cluster used by the vectors.
const (
	nodeA = "node-a"
	nodeB = "node-b"
	addrA = "10.0.0.1:7370"
	addrB = "10.0.0.2:7370"
)

// binaryValue has NUL and high bytes: values are bytes, not text.
var binaryValue = []byte{0x00, 0x01, 0x00, 0xff, 0xfe, 0x00, 'a', 0x00}

func requestDefs() []vectorDef {
	return []vectorDef{
		{name: "hello/request", note: "first request on a connection to a node with a token",
			req: &wire.Request{ID: 1, Op: wire.OpHello, Proto: 1, Token: "s3cret", Client: "lkv-py/0.1"}},
		{name: "hello/request-no-token", note: "hello to a node without a token; proto 1",
			req: &wire.Request{ID: 1, Op: wire.OpHello, Proto: 1}},
		{name: "ping/request",
			req: &wire.Request{ID: 7, Op: wire.OpPing}},
		{name: "get/request",
			req: &wire.Request{ID: 2, Op: wire.OpGet, Key: "user:1"}},
		{name: "get/request-replica-ok", note: "a replica may answer (eventually consistent)",
			req: &wire.Request{ID: 3, Op: wire.OpGet, Key: "{user1000}.following", ReplicaOK: true}},
		{name: "get/request-utf8-key", note: "keys are any bytes but NUL; this one is UTF-8",
			req: &wire.Request{ID: 4, Op: wire.OpGet, Key: "ключ/日本"}},
		{name: "get/request-id-max", note: "ids are uint64; the largest needs the uint64 form (0xcf)",
			req: &wire.Request{ID: 1<<64 - 1, Op: wire.OpGet, Key: "k"}},
		{name: "get/request-long-key", note: "a 40-byte key needs str8 (0xd9)",
			req: &wire.Request{ID: 300, Op: wire.OpGet, Key: strings.Repeat("k", 40)}},
		{name: "put/request", note: "perm 3 = R|W: a mutable key",
			req: &wire.Request{ID: 10, Op: wire.OpPut, Key: "user:1", Perm: 3, Value: []byte("hello world")}},
		{name: "put/request-immutable", note: "perm 1 = R only: immutable; wait for 2 replicas",
			req: &wire.Request{ID: 11, Op: wire.OpPut, Key: "blob/a", Perm: 1, MinReplicas: 2, Value: []byte("v1")}},
		{name: "put/request-lambda", note: "perm 5 = R|X: an immutable executable",
			req: &wire.Request{ID: 12, Op: wire.OpPut, Key: "lambdas/wc", Perm: 5, Value: []byte("\x7fELF\x02\x01\x01\x00")}},
		{name: "put/request-empty-value", note: "an empty value is present as bin8 of length 0",
			req: &wire.Request{ID: 13, Op: wire.OpPut, Key: "empty", Perm: 3, Value: []byte{}}},
		{name: "put/request-binary-value", note: "a value with NUL bytes",
			req: &wire.Request{ID: 14, Op: wire.OpPut, Key: "bin", Perm: 3, Value: binaryValue}},
		{name: "put/request-300B", note: "a 300-byte value needs bin16 (0xc5)",
			req: &wire.Request{ID: 15, Op: wire.OpPut, Key: "v300", Perm: 3, Value: bytes.Repeat([]byte{0xab}, 300)}},
		{name: "put/request-no-read-perm", note: "perm 2 (W without R): decodes; the node answers BAD_REQUEST",
			req: &wire.Request{ID: 16, Op: wire.OpPut, Key: "k", Perm: 2, Value: []byte("x")}},
		{name: "delete/request",
			req: &wire.Request{ID: 20, Op: wire.OpDelete, Key: "user:1"}},
		{name: "delete/request-force", note: "deletes an immutable key and evicts it from every cache",
			req: &wire.Request{ID: 21, Op: wire.OpDelete, Key: "blob/a", Force: true}},
		{name: "stat/request",
			req: &wire.Request{ID: 30, Op: wire.OpStat, Keys: []string{"user:1", "missing", "{user1000}.followers"}}},
		{name: "stat/request-no-keys", note: "keys present and empty",
			req: &wire.Request{ID: 31, Op: wire.OpStat, Keys: []string{}}},
		{name: "execute/request", note: "runtime mode: one dep as a file, one inline; 30 s limit",
			req: &wire.Request{ID: 40, Op: wire.OpExecute, Key: "lambdas/wc",
				Args: []string{"--top", "10"},
				Deps: []wire.Dep{
					{Key: "books/moby.txt", AsFile: true, Name: "moby.txt"},
					{Key: "config/stopwords"},
				},
				Timeout: 30 * time.Second}},
		{name: "execute/request-raw", note: "raw mode: argv, stdout, exit status; one output file stored as a key",
			req: &wire.Request{ID: 41, Op: wire.OpExecute, Key: "bin/cc",
				Args:    []string{"-c", "hello.c", "-o", "hello.o"},
				Deps:    []wire.Dep{{Key: "src/hello.c", AsFile: true, Name: "hello.c"}},
				Outputs: []wire.Output{{File: "hello.o", Key: "obj/hello.o", Perm: 1}},
				Raw:     true, Timeout: time.Minute, ReplicaOK: true}},
		{name: "topology/request",
			req: &wire.Request{ID: 50, Op: wire.OpTopology}},
		{name: "migrate/request", note: "node to node: copy slots 100-199 to node-b",
			req: &wire.Request{ID: 51, Op: wire.OpMigrate, SlotStart: 100, SlotEnd: 199, Target: "node-b"}},
		{name: "import/request", note: "node to node: the first batch of slot 100, replacing what the receiver held",
			req: &wire.Request{ID: 52, Op: wire.OpImport, SlotStart: 100, Reset: true,
				Records: []wire.Record{{Key: "{a}1", Value: []byte("v1"), Perm: 3}, {Key: "{a}2", Value: []byte{}, Perm: 1}}}},
		{name: "execute/request-raw-env", note: "raw mode with two environment variables; @CWD@ in args becomes the working directory",
			req: &wire.Request{ID: 53, Op: wire.OpExecute, Key: "tools/compile", Raw: true,
				Args: []string{"-trimpath", "@CWD@=>"}, Env: []string{"GOOS=linux", "GOARCH=amd64"},
				Outputs: []wire.Output{{File: "_w/_pkg_.a", Key: "out/fmt.a"}}}},
		{name: "sync/request", note: "replica to master: writes after offset 41 of history h1; the master may hold it 1 s",
			req: &wire.Request{ID: 54, Op: wire.OpSync, Node: "node-c", ReplID: "h1", Offset: 41, Wait: time.Second}},
		{name: "sync/request-snapshot", note: "replica to master: the snapshot page after key {a}2",
			req: &wire.Request{ID: 55, Op: wire.OpSync, Node: "node-c", Snapshot: true, Key: "{a}2"}},
		{name: "request/unknown-op", note: "op 200 is unknown: BAD_REQUEST, the connection stays open",
			req: &wire.Request{ID: 60, Op: 200, Key: "k"}, err: "bad_op"},
	}
}

func responseDefs() []vectorDef {
	return []vectorDef{
		{name: "hello/response",
			resp: &wire.Response{ID: 1, NodeID: nodeA, Version: "0.1.0", Proto: 1}},
		{name: "hello/response-unauthorized", note: "then the node closes the connection",
			resp: &wire.Response{ID: 1, Status: wire.StatusUnauthorized, Error: "hello with a valid token required"}},
		{name: "sync/response", note: "two writes after the replica's offset",
			resp: &wire.Response{ID: 54, ReplID: "h1", Offset: 43, Entries: []wire.Entry{
				{Offset: 42, Kind: wire.EntryPut, Key: "k", Value: []byte("v"), Perm: 3},
				{Offset: 43, Kind: wire.EntryDropSlot, Slot: 100}}}},
		{name: "sync/response-full", note: "the master cannot send the writes after that offset: take a snapshot",
			resp: &wire.Response{ID: 54, ReplID: "h2", Offset: 900, FullSync: true}},
		{name: "sync/response-snapshot", note: "one snapshot page; more follow",
			resp: &wire.Response{ID: 55, ReplID: "h2", Offset: 900, More: true,
				Records: []wire.Record{{Key: "{a}3", Value: []byte("v3"), Perm: 1, Offset: 17}}}},
		{name: "execute/response-stats", note: "where the execution's time went, in microseconds",
			resp: &wire.Response{ID: 53, ExecNode: nodeA, Puts: []string{"out/fmt.a"},
				Exec: &wire.ExecStats{FetchMicros: 1200, RunMicros: 95000, StoreMicros: 800, BytesLocal: 4096, BytesRemote: 1 << 20}}},
		{name: "ping/response",
			resp: &wire.Response{ID: 7}},
		{name: "get/response", note: "value last; perm 3 = R|W",
			resp: &wire.Response{ID: 2, Perm: 3, Value: []byte("hello world")}},
		{name: "get/response-empty-value", note: "an empty value is present: the key exists",
			resp: &wire.Response{ID: 5, Perm: 3, Value: []byte{}}},
		{name: "get/response-binary-value",
			resp: &wire.Response{ID: 6, Perm: 1, Value: binaryValue}},
		{name: "get/response-not-found",
			resp: &wire.Response{ID: 2, Status: wire.StatusNotFound, Error: "not found: user:1"}},
		{name: "get/response-moved", note: "slot 10778 belongs to the node at addr: retry there and refresh the topology",
			resp: &wire.Response{ID: 2, Status: wire.StatusMoved, Error: "slot 10778 is served by node-b", Addr: addrB, Slot: 10778}},
		{name: "get/response-tryagain", note: "the slot is migrating: retry after a short wait",
			resp: &wire.Response{ID: 2, Status: wire.StatusTryAgain, Error: "slot 10778 is migrating", Addr: addrB, Slot: 10778}},
		{name: "get/response-unavailable", note: "no live master for the slot",
			resp: &wire.Response{ID: 2, Status: wire.StatusUnavailable, Error: "slot 10778 has no live master"}},
		{name: "put/response", note: "offset: the write's position in the node's log",
			resp: &wire.Response{ID: 10, Offset: 1042}},
		{name: "put/response-read-only",
			resp: &wire.Response{ID: 11, Status: wire.StatusReadOnly, Error: "read-only: blob/a"}},
		{name: "put/response-bad-request",
			resp: &wire.Response{ID: 16, Status: wire.StatusBadRequest, Error: "permission required: got -w-"}},
		{name: "put/response-too-large", note: "a value over the node's limit, in a frame under max_frame: the connection stays",
			resp: &wire.Response{ID: 17, Status: wire.StatusTooLarge, Error: "value too large"}},
		{name: "delete/response",
			resp: &wire.Response{ID: 20, Offset: 1043}},
		{name: "stat/response", note: "one entry per key, in order",
			resp: &wire.Response{ID: 30, Stats: []wire.StatEntry{
				{Key: "user:1", Found: true, Size: 11, Perm: 3, Slot: 10778, Owner: nodeB, Addr: addrB},
				{Key: "missing", Slot: 5513, Owner: nodeA, Addr: addrA},
				{Key: "{user1000}.followers", Found: true, Size: 4096, Perm: 1, Slot: 3443, Owner: nodeA, Addr: addrA},
			}}},
		{name: "execute/response", note: "return code 0 (absent), output, the keys the lambda stored",
			resp: &wire.Response{ID: 40, Puts: []string{"wc/moby/top10"}, ExecNode: nodeB, Output: []byte("the 14620\nof 6732\n")}},
		{name: "execute/response-exit-2", note: "a non-zero return code is still status OK",
			resp: &wire.Response{ID: 41, ReturnCode: 2, ExecNode: nodeB, Output: []byte("cc: hello.c: no such file\n")}},
		{name: "execute/response-negative-rc",
			resp: &wire.Response{ID: 42, ReturnCode: -1, ExecNode: nodeB, Output: []byte{}}},
		{name: "execute/response-not-executable",
			resp: &wire.Response{ID: 40, Status: wire.StatusNotExecutable, Error: "lambdas/wc lacks the X permission"}},
		{name: "execute/response-exec-failed",
			resp: &wire.Response{ID: 40, Status: wire.StatusExecFailed, Error: "sandbox: socket denied", ExecNode: nodeB}},
		{name: "execute/response-timeout",
			resp: &wire.Response{ID: 40, Status: wire.StatusTimeout, Error: "timeout 30s", ExecNode: nodeB}},
		{name: "execute/response-busy",
			resp: &wire.Response{ID: 40, Status: wire.StatusBusy, Error: "executor queue full"}},
		{name: "topology/response",
			resp: &wire.Response{ID: 50, Topology: &wire.Topology{
				Epoch: 3,
				Nodes: []wire.NodeInfo{
					{ID: nodeA, Addr: addrA, GossipAddr: "10.0.0.1:7371", HTTPAddr: "10.0.0.1:7372",
						Role: "master", State: "alive", Coordinator: true, Slots: 8192,
						Version: "0.1.0", Offset: 1043, Executors: 4},
					{ID: nodeB, Addr: addrB, Role: "master", State: "alive", Slots: 8192, Version: "0.1.0"},
					{ID: "node-c", Addr: "10.0.0.3:7370", Role: "replica", State: "alive", Master: nodeA},
				},
				Slots: []wire.SlotRange{
					{Start: 0, End: 8191, Master: nodeA, Replicas: []string{"node-c"}, Epoch: 3},
					{Start: 8192, End: 16383, Master: nodeB, Epoch: 2},
				},
			}}},
		{name: "response/bad-request-unknown-op",
			resp: &wire.Response{ID: 60, Status: wire.StatusBadRequest, Error: "bad op: unknown op 200"}},
		{name: "response/too-large-frame", note: "answer to a frame over max_frame; id 0, then the node closes",
			resp: &wire.Response{Status: wire.StatusTooLarge, Error: "frame too large: 268435457 bytes, limit 269484032"}},
		{name: "response/internal",
			resp: &wire.Response{ID: 8, Status: wire.StatusInternal, Error: "store: disk full"}},
		{name: "response/unknown-status", note: "a status this version does not know: treat as a failure",
			resp: &wire.Response{ID: 9, Status: 99, Error: "from the future"}},
	}
}

// decodeOnlyDefs are frames a decoder must accept that the reference
// encoder does not write.
func decodeOnlyDefs() []vectorDef {
	return []vectorDef{
		{name: "decode/request-fields-any-order", note: "fields may come in any order; value need not be last",
			req:   &wire.Request{ID: 10, Op: wire.OpPut, Key: "k", Perm: 3, Value: []byte("v")},
			frame: frameOf(fixmap(5), str("value"), bin("v"), str("key"), str("k"), str("perm"), h("03"), str("op"), h("04"), str("id"), h("0a"))},
		{name: "decode/request-key-as-bin", note: "a str field may be sent as bin",
			req:   &wire.Request{ID: 2, Op: wire.OpGet, Key: "user:1"},
			frame: frameOf(fixmap(3), str("id"), h("02"), str("op"), h("03"), str("key"), bin("user:1"))},
		{name: "decode/request-value-as-str", note: "a bin field may be sent as str",
			req:   &wire.Request{ID: 10, Op: wire.OpPut, Key: "k", Perm: 3, Value: []byte("v")},
			frame: frameOf(fixmap(5), str("id"), h("0a"), str("op"), h("04"), str("key"), str("k"), str("perm"), h("03"), str("value"), str("v"))},
		{name: "decode/request-wide-ints", note: "any integer encoding is accepted, not only the shortest",
			req:   &wire.Request{ID: 2, Op: wire.OpGet, Key: "k"},
			frame: frameOf(h("de 00 03"), str("id"), h("cf 00 00 00 00 00 00 00 02"), str("op"), h("d0 03"), str("key"), h("db 00 00 00 01 6b"))},
		{name: "decode/request-unknown-fields", note: "unknown fields of any type are skipped",
			req: &wire.Request{ID: 2, Op: wire.OpGet, Key: "k"},
			frame: frameOf(fixmap(6), str("id"), h("02"), str("trace"), fixmap(2), str("a"), h("92 01 cb 3f f8 00 00 00 00 00 00"), str("b"), h("c0"),
				str("op"), h("03"), str("x_ext"), h("d6 01 00 00 00 00"), str("key"), str("k"), str("x_bin"), h("c4 02 00 00"))},
		{name: "decode/request-nil-fields", note: "a nil field reads as absent",
			req:   &wire.Request{ID: 2, Op: wire.OpGet, Key: "k"},
			frame: frameOf(fixmap(6), str("id"), h("02"), str("op"), h("03"), str("key"), str("k"), str("token"), h("c0"), str("keys"), h("c0"), str("value"), h("c0"))},
		{name: "decode/request-no-op", note: "no op: reads as op 0, which is unknown",
			req: &wire.Request{ID: 4}, err: "bad_op",
			frame: frameOf(fixmap(1), str("id"), h("04"))},
		{name: "decode/response-wide-ints",
			resp:  &wire.Response{ID: 2, Status: wire.StatusMoved, Addr: addrB, Slot: 10778},
			frame: frameOf(fixmap(4), str("id"), h("ce 00 00 00 02"), str("status"), h("cc 02"), str("addr"), str(addrB), str("slot"), h("d2 00 00 2a 1a"))},
		{name: "decode/response-nil-topology", note: "nil reads as absent",
			resp:  &wire.Response{ID: 50},
			frame: frameOf(fixmap(3), str("id"), h("32"), str("status"), h("00"), str("topology"), h("c0"))},
	}
}

// malformedDefs are frames that do not decode: the node answers
// BAD_REQUEST and closes the connection.
func malformedDefs() []vectorDef {
	bad := func(name, note string, frame []byte) vectorDef {
		return vectorDef{name: "malformed/" + name, note: note, req: &wire.Request{}, err: "malformed", frame: frame}
	}
	return []vectorDef{
		bad("not-a-map", "the payload is an array", frameOf(h("93 01 02 03"))),
		bad("nil", "the payload is nil", frameOf(h("c0"))),
		bad("truncated", "a map of 3 entries holding 2", frameOf(fixmap(3), str("id"), h("02"), str("op"), h("03"))),
		bad("trailing-bytes", "a byte after the map", frameOf(fixmap(2), str("id"), h("02"), str("op"), h("02"), h("c0"))),
		bad("key-as-int", "key must be a str (or bin)", frameOf(fixmap(3), str("id"), h("02"), str("op"), h("03"), str("key"), h("2a"))),
		bad("perm-as-str", "perm must be an integer", frameOf(fixmap(5), str("id"), h("02"), str("op"), h("04"), str("key"), str("k"), str("perm"), str("rw"), str("value"), bin("v"))),
		bad("op-as-str", "op must be an integer", frameOf(fixmap(3), str("id"), h("02"), str("op"), str("get"), str("key"), str("k"))),
		bad("perm-out-of-range", "perm 256 does not fit a byte", frameOf(fixmap(5), str("id"), h("02"), str("op"), h("04"), str("key"), str("k"), str("perm"), h("cd 01 00"), str("value"), bin("v"))),
		bad("negative-id", "id is unsigned", frameOf(fixmap(2), str("id"), h("ff"), str("op"), h("02"))),
		bad("float-id", "integers must be msgpack integers", frameOf(fixmap(2), str("id"), h("cb 40 00 00 00 00 00 00 00"), str("op"), h("02"))),
		bad("map-key-not-str", "map keys are strs", frameOf(fixmap(2), h("01"), h("02"), str("op"), h("02"))),
		bad("huge-bin", "a value claiming 2 GiB in an 18-byte payload", frameOf(fixmap(2), str("op"), h("04"), str("value"), h("c6 7f ff ff ff 00 00"))),
		bad("huge-array", "keys claiming 2^32-1 elements", frameOf(fixmap(2), str("op"), h("06"), str("keys"), h("dd ff ff ff ff a1 61"))),
		bad("invalid-code", "0xc1 is never valid msgpack", frameOf(fixmap(2), str("op"), h("02"), str("x"), h("c1"))),
	}
}

// Helpers to write msgpack by hand.

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func fixmap(n int) []byte { return []byte{0x80 | byte(n)} }

func str(s string) []byte {
	if len(s) < 32 {
		return append([]byte{0xa0 | byte(len(s))}, s...)
	}
	return append([]byte{0xd9, byte(len(s))}, s...)
}

func bin(s string) []byte { return append([]byte{0xc4, byte(len(s))}, s...) }

// frameOf joins parts into a payload and prefixes its length.
func frameOf(parts ...[]byte) []byte {
	payload := bytes.Join(parts, nil)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}
