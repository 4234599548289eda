package wire_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// The "meaning" of a test vector is a JSON object that mirrors the msgpack
// map of the frame: same keys, same order as the Go encoder writes them,
// absent fields left out. Integers are JSON numbers, str fields JSON
// strings, the bin fields (value, output) lower-case hex strings, op and
// status their names (or numbers when unknown). A field present with an
// empty value (an empty put, keys: []) is shown, as it is on the wire.

type jsonRequest struct {
	ID          uint64        `json:"id"`
	Op          jsonOp        `json:"op"`
	Key         string        `json:"key,omitempty"`
	Perm        uint8         `json:"perm,omitempty"`
	MinReplicas int           `json:"min_replicas,omitempty"`
	Force       bool          `json:"force,omitempty"`
	Keys        *[]string     `json:"keys,omitempty"`
	Proto       int           `json:"proto,omitempty"`
	Token       string        `json:"token,omitempty"`
	Client      string        `json:"client,omitempty"`
	Args        *[]string     `json:"args,omitempty"`
	Deps        *[]jsonDep    `json:"deps,omitempty"`
	Outputs     *[]jsonOutput `json:"outputs,omitempty"`
	Raw         bool          `json:"raw,omitempty"`
	TimeoutMS   int64         `json:"timeout_ms,omitempty"`
	ReplicaOK   bool          `json:"replica_ok,omitempty"`
	Env         *[]string     `json:"env,omitempty"`
	SlotStart   int           `json:"slot_start,omitempty"`
	SlotEnd     int           `json:"slot_end,omitempty"`
	Target      string        `json:"target,omitempty"`
	Reset       bool          `json:"reset,omitempty"`
	Records     *[]jsonRecord `json:"records,omitempty"`
	Node        string        `json:"node,omitempty"`
	ReplID      string        `json:"repl_id,omitempty"`
	Offset      uint64        `json:"offset,omitempty"`
	WaitMS      int64         `json:"wait_ms,omitempty"`
	Snapshot    bool          `json:"snapshot,omitempty"`
	Value       *hexBytes     `json:"value,omitempty"`
}

type jsonRecord struct {
	Key    string   `json:"key"`
	Value  hexBytes `json:"value"`
	Perm   uint8    `json:"perm"`
	Offset uint64   `json:"offset,omitempty"`
}

type jsonEntry struct {
	Offset uint64   `json:"offset"`
	Kind   uint8    `json:"kind"`
	Key    string   `json:"key,omitempty"`
	Value  hexBytes `json:"value,omitempty"`
	Perm   uint8    `json:"perm,omitempty"`
	Slot   int      `json:"slot,omitempty"`
}

type jsonExecStats struct {
	QueueMicros int64 `json:"queue_us,omitempty"`
	FetchMicros int64 `json:"fetch_us,omitempty"`
	RunMicros   int64 `json:"run_us,omitempty"`
	StoreMicros int64 `json:"store_us,omitempty"`
	BytesLocal  int64 `json:"bytes_local,omitempty"`
	BytesCache  int64 `json:"bytes_cache,omitempty"`
	BytesRemote int64 `json:"bytes_remote,omitempty"`
}

type jsonResponse struct {
	ID         uint64         `json:"id"`
	Status     jsonStatus     `json:"status"`
	Error      string         `json:"error,omitempty"`
	Perm       uint8          `json:"perm,omitempty"`
	Offset     uint64         `json:"offset,omitempty"`
	Stats      *[]jsonStat    `json:"stats,omitempty"`
	NodeID     string         `json:"node_id,omitempty"`
	Version    string         `json:"version,omitempty"`
	Proto      int            `json:"proto,omitempty"`
	Addr       string         `json:"addr,omitempty"`
	Slot       int            `json:"slot,omitempty"`
	Topology   *jsonTopology  `json:"topology,omitempty"`
	ReturnCode int            `json:"return_code,omitempty"`
	Puts       *[]string      `json:"puts,omitempty"`
	ExecNode   string         `json:"exec_node,omitempty"`
	Exec       *jsonExecStats `json:"exec,omitempty"`
	ReplID     string         `json:"repl_id,omitempty"`
	Entries    *[]jsonEntry   `json:"entries,omitempty"`
	FullSync   bool           `json:"full_sync,omitempty"`
	Records    *[]jsonRecord  `json:"records,omitempty"`
	More       bool           `json:"more,omitempty"`
	Output     *hexBytes      `json:"output,omitempty"`
	Value      *hexBytes      `json:"value,omitempty"`
}

// The nested types have the fields of their wire counterparts, so that Go
// converts between them; only the tags differ.

type jsonDep struct {
	Key    string `json:"key"`
	AsFile bool   `json:"as_file,omitempty"`
	Name   string `json:"name,omitempty"`
}

type jsonOutput struct {
	File string `json:"file"`
	Key  string `json:"key"`
	Perm uint8  `json:"perm,omitempty"`
}

type jsonStat struct {
	Key   string `json:"key"`
	Found bool   `json:"found"`
	Size  int64  `json:"size,omitempty"`
	Perm  uint8  `json:"perm,omitempty"`
	Slot  int    `json:"slot"`
	Owner string `json:"owner,omitempty"`
	Addr  string `json:"addr,omitempty"`
}

type jsonTopology struct {
	Epoch uint64          `json:"epoch"`
	Nodes []jsonNode      `json:"nodes"`
	Slots []jsonSlotRange `json:"slots"`
}

type jsonNode struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	GossipAddr  string `json:"gossip_addr,omitempty"`
	HTTPAddr    string `json:"http_addr,omitempty"`
	Role        string `json:"role"`
	State       string `json:"state"`
	Master      string `json:"master,omitempty"`
	Coordinator bool   `json:"coordinator,omitempty"`
	Slots       int    `json:"slots"`
	Version     string `json:"version,omitempty"`
	Offset      uint64 `json:"offset,omitempty"`
	Executors   int    `json:"executors,omitempty"`
	Pipeline    int    `json:"pipeline,omitempty"`
	Lag         uint64 `json:"lag,omitempty"`
	LagMillis   int64  `json:"lag_ms,omitempty"`
	Link        string `json:"link,omitempty"`
}

type jsonSlotRange struct {
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Master   string   `json:"master"`
	Replicas []string `json:"replicas,omitempty"`
	Epoch    uint64   `json:"epoch"`
}

// hexBytes is a bin field, shown as lower-case hex.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = append(hexBytes{}, v...) // never nil: the field is present
	return err
}

// jsonOp is an op by name, or by number when this version does not know it.
type jsonOp wire.Op

func (o jsonOp) MarshalJSON() ([]byte, error) {
	if wire.Op(o).Valid() {
		return json.Marshal(wire.Op(o).String())
	}
	return json.Marshal(uint8(o))
}

func (o *jsonOp) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		for i := range 256 {
			if op := wire.Op(i); op.Valid() && op.String() == name {
				*o = jsonOp(op)
				return nil
			}
		}
		return fmt.Errorf("unknown op %q", name)
	}
	n, err := strconv.ParseUint(string(b), 10, 8)
	*o = jsonOp(n)
	return err
}

// jsonStatus is a status by name, or by number when this version does not
// know it.
type jsonStatus wire.Status

func (s jsonStatus) MarshalJSON() ([]byte, error) {
	if _, ok := wire.ParseStatus(wire.Status(s).String()); ok {
		return json.Marshal(wire.Status(s).String())
	}
	return json.Marshal(uint8(s))
}

func (s *jsonStatus) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		st, ok := wire.ParseStatus(name)
		if !ok {
			return fmt.Errorf("unknown status %q", name)
		}
		*s = jsonStatus(st)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 8)
	*s = jsonStatus(n)
	return err
}

func bytesPtr(b []byte) *hexBytes {
	if b == nil {
		return nil
	}
	h := hexBytes(b)
	return &h
}

func (h *hexBytes) bytes() []byte {
	if h == nil {
		return nil
	}
	return append([]byte{}, *h...)
}

func strsPtr(s []string) *[]string {
	if s == nil {
		return nil
	}
	return &s
}

func strsOf(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

// convertList converts a slice element by element; nil stays nil.
func convertList[T, U any](in []T, conv func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}

func listPtr[T any](s []T) *[]T {
	if s == nil {
		return nil
	}
	return &s
}

func listOf[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

func requestMeaning(r *wire.Request) *jsonRequest {
	return &jsonRequest{
		ID: r.ID, Op: jsonOp(r.Op), Key: r.Key, Perm: r.Perm,
		MinReplicas: r.MinReplicas, Force: r.Force, Keys: strsPtr(r.Keys),
		Proto: r.Proto, Token: r.Token, Client: r.Client, Args: strsPtr(r.Args),
		Deps:      listPtr(convertList(r.Deps, func(d wire.Dep) jsonDep { return jsonDep(d) })),
		Outputs:   listPtr(convertList(r.Outputs, func(o wire.Output) jsonOutput { return jsonOutput(o) })),
		Raw:       r.Raw,
		TimeoutMS: r.Timeout.Milliseconds(), ReplicaOK: r.ReplicaOK, Value: bytesPtr(r.Value),
		SlotStart: r.SlotStart, SlotEnd: r.SlotEnd, Target: r.Target, Reset: r.Reset,
		Records: listPtr(convertList(r.Records, recordMeaning)),
		Env:     strsPtr(r.Env), Node: r.Node, ReplID: r.ReplID, Offset: r.Offset,
		WaitMS: r.Wait.Milliseconds(), Snapshot: r.Snapshot,
	}
}

func recordMeaning(x wire.Record) jsonRecord {
	return jsonRecord{Key: x.Key, Value: hexBytes(x.Value), Perm: x.Perm, Offset: x.Offset}
}

func (x jsonRecord) record() wire.Record {
	return wire.Record{Key: x.Key, Value: append([]byte{}, x.Value...), Perm: x.Perm, Offset: x.Offset}
}

func (j *jsonRequest) request() *wire.Request {
	return &wire.Request{
		ID: j.ID, Op: wire.Op(j.Op), Key: j.Key, Perm: j.Perm,
		MinReplicas: j.MinReplicas, Force: j.Force, Keys: strsOf(j.Keys),
		Proto: j.Proto, Token: j.Token, Client: j.Client, Args: strsOf(j.Args),
		Deps:    convertList(listOf(j.Deps), func(d jsonDep) wire.Dep { return wire.Dep(d) }),
		Outputs: convertList(listOf(j.Outputs), func(o jsonOutput) wire.Output { return wire.Output(o) }),
		Raw:     j.Raw, Timeout: time.Duration(j.TimeoutMS) * time.Millisecond,
		ReplicaOK: j.ReplicaOK, Value: j.Value.bytes(),
		SlotStart: j.SlotStart, SlotEnd: j.SlotEnd, Target: j.Target, Reset: j.Reset,
		Records: convertList(listOf(j.Records), jsonRecord.record),
		Env:     strsOf(j.Env), Node: j.Node, ReplID: j.ReplID, Offset: j.Offset,
		Wait: time.Duration(j.WaitMS) * time.Millisecond, Snapshot: j.Snapshot,
	}
}

func responseMeaning(r *wire.Response) *jsonResponse {
	j := &jsonResponse{
		ID: r.ID, Status: jsonStatus(r.Status), Error: r.Error, Perm: r.Perm,
		Offset: r.Offset,
		Stats:  listPtr(convertList(r.Stats, func(s wire.StatEntry) jsonStat { return jsonStat(s) })),
		NodeID: r.NodeID, Version: r.Version, Proto: r.Proto, Addr: r.Addr, Slot: r.Slot,
		ReturnCode: r.ReturnCode, Puts: strsPtr(r.Puts), ExecNode: r.ExecNode,
		Output: bytesPtr(r.Output), Value: bytesPtr(r.Value),
		ReplID: r.ReplID, FullSync: r.FullSync, More: r.More,
		Records: listPtr(convertList(r.Records, recordMeaning)),
		Entries: listPtr(convertList(r.Entries, func(e wire.Entry) jsonEntry {
			return jsonEntry{Offset: e.Offset, Kind: e.Kind, Key: e.Key, Value: hexBytes(e.Value), Perm: e.Perm, Slot: e.Slot}
		})),
	}
	if r.Exec != nil {
		x := jsonExecStats(*r.Exec)
		j.Exec = &x
	}
	if t := r.Topology; t != nil {
		j.Topology = &jsonTopology{
			Epoch: t.Epoch,
			Nodes: convertList(t.Nodes, func(n wire.NodeInfo) jsonNode { return jsonNode(n) }),
			Slots: convertList(t.Slots, func(s wire.SlotRange) jsonSlotRange { return jsonSlotRange(s) }),
		}
	}
	return j
}

func (j *jsonResponse) response() *wire.Response {
	r := &wire.Response{
		ID: j.ID, Status: wire.Status(j.Status), Error: j.Error, Perm: j.Perm,
		Offset: j.Offset,
		Stats:  convertList(listOf(j.Stats), func(s jsonStat) wire.StatEntry { return wire.StatEntry(s) }),
		NodeID: j.NodeID, Version: j.Version, Proto: j.Proto, Addr: j.Addr, Slot: j.Slot,
		ReturnCode: j.ReturnCode, Puts: strsOf(j.Puts), ExecNode: j.ExecNode,
		Output: j.Output.bytes(), Value: j.Value.bytes(),
		ReplID: j.ReplID, FullSync: j.FullSync, More: j.More,
		Records: convertList(listOf(j.Records), jsonRecord.record),
		Entries: convertList(listOf(j.Entries), func(e jsonEntry) wire.Entry {
			var v []byte
			if len(e.Value) > 0 {
				v = append([]byte{}, e.Value...)
			}
			return wire.Entry{Offset: e.Offset, Kind: e.Kind, Key: e.Key, Value: v, Perm: e.Perm, Slot: e.Slot}
		}),
	}
	if j.Exec != nil {
		x := wire.ExecStats(*j.Exec)
		r.Exec = &x
	}
	if t := j.Topology; t != nil {
		r.Topology = &wire.Topology{
			Epoch: t.Epoch,
			Nodes: convertList(t.Nodes, func(n jsonNode) wire.NodeInfo { return wire.NodeInfo(n) }),
			Slots: convertList(t.Slots, func(s jsonSlotRange) wire.SlotRange { return wire.SlotRange(s) }),
		}
	}
	return r
}
