package wire

import "time"

// Request is one client request. Which fields matter depends on Op; the
// rest stay zero and are not sent. The zero value is not a valid request.
type Request struct {
	ID  uint64 // echoed in the response
	Op  Op
	Key string // get, put, delete, execute: the key (for execute, the lambda)

	// Value is the value of a put. Decoding aliases it into the frame.
	Value       []byte
	Perm        uint8 // put: permission bits, R=1 W=2 X=4
	MinReplicas int   // put: replicas that must apply the write first
	Force       bool  // delete: also remove an immutable key

	Keys []string // stat

	Proto  int    // hello: the client's ProtocolVersion
	Token  string // hello: the shared secret, if the node has one
	Client string // hello: a name for logs

	Args    []string      // execute: argv after the key (raw) or ExecArgs.args
	Deps    []Dep         // execute: values the lambda reads
	Outputs []Output      // execute, raw mode: files stored as keys afterwards
	Raw     bool          // execute: run an unmodified binary (argv, stdout, exit status)
	Timeout time.Duration // execute: wall-clock limit; zero means the node's default; sent in ms

	ReplicaOK bool // get, stat, execute: a replica may answer

	// Limits lowers or raises the sandbox limits of an execution; zero
	// fields keep the node's defaults, and the node caps each at its
	// maximum. Nil means all defaults.
	Limits *ExecLimits

	SlotStart int      // migrate: first slot of the range; import: the slot
	SlotEnd   int      // migrate: last slot of the range (inclusive)
	Target    string   // migrate: id of the node to copy the slots to
	Epoch     uint64   // migrate: the highest epoch of the range in the table the move was planned from
	Reset     bool     // import: drop what the receiver holds of the slot first
	Records   []Record // import: the slot's records

	// Env is, in raw mode, the lambda's environment as NAME=value entries;
	// only the names in docs/lambdas.md are accepted.
	Env []string

	// Replication (sync): a replica asks its master for the writes after
	// Offset in the history ReplID, or, with Snapshot, for the next page of
	// a full copy after the key in Key. Node is the replica's id; Wait is
	// how long the master may hold the request for new writes (sent in ms).
	// Offset also tells the master how far the replica has applied.
	Node     string
	ReplID   string
	Offset   uint64
	Wait     time.Duration
	Snapshot bool
}

// ExecLimits are per-request sandbox limits of an execution. A zero field
// means the node's default. Timeout (the wall clock) is the request's own
// timeout_ms field.
type ExecLimits struct {
	CPUMillis int64 `msgpack:"cpu_ms,omitempty" json:"cpu_ms,omitempty"`         // CPU time, ms (rounded up to seconds)
	Memory    int64 `msgpack:"memory,omitempty" json:"memory,omitempty"`         // bytes
	Procs     int   `msgpack:"procs,omitempty" json:"procs,omitempty"`           // processes and threads
	FileSize  int64 `msgpack:"file_size,omitempty" json:"file_size,omitempty"`   // largest file written, bytes
	OpenFiles int   `msgpack:"open_files,omitempty" json:"open_files,omitempty"` // open file descriptors
	Stdout    int64 `msgpack:"stdout,omitempty" json:"stdout,omitempty"`         // stdout bytes read (raw output, runtime response)
}

// Record is one stored key with its value and permissions, as carried by
// import.
type Record struct {
	Key   string `msgpack:"key"`
	Value []byte `msgpack:"value"`
	Perm  uint8  `msgpack:"perm"`
	// Offset is the write offset of the record on its master (sync
	// snapshots); zero elsewhere.
	Offset uint64 `msgpack:"offset,omitempty"`
}

// Kinds of replication log entries.
const (
	EntryPut      uint8 = 1 // Key was stored with Value and Perm
	EntryDelete   uint8 = 2 // Key was removed
	EntryDropSlot uint8 = 3 // every key of Slot was removed (it moved away)
)

// Entry is one write of a master's replication log, as shipped to a
// replica by sync.
type Entry struct {
	Offset uint64 `msgpack:"offset"`
	Kind   uint8  `msgpack:"kind"`
	Key    string `msgpack:"key,omitempty"`
	Value  []byte `msgpack:"value,omitempty"`
	Perm   uint8  `msgpack:"perm,omitempty"`
	Slot   int    `msgpack:"slot,omitempty"`
}

// ExecStats breaks an execution's time down, in microseconds, and counts
// where its dependencies' bytes came from.
type ExecStats struct {
	QueueMicros int64 `msgpack:"queue_us,omitempty"` // waiting for an executor, after the deps were fetched
	FetchMicros int64 `msgpack:"fetch_us,omitempty"` // fetching dependencies
	RunMicros   int64 `msgpack:"run_us,omitempty"`   // the sandboxed process, from start to exit
	StoreMicros int64 `msgpack:"store_us,omitempty"` // storing puts and outputs
	BytesLocal  int64 `msgpack:"bytes_local,omitempty"`
	BytesCache  int64 `msgpack:"bytes_cache,omitempty"`
	BytesRemote int64 `msgpack:"bytes_remote,omitempty"`
}

// Dep is a dependency of an execution: a key the node fetches before the
// lambda starts.
type Dep struct {
	Key    string `msgpack:"key"`
	AsFile bool   `msgpack:"as_file,omitempty"` // write into the working directory instead of passing inline
	Name   string `msgpack:"name,omitempty"`    // file name for AsFile; empty means the key
}

// Output declares a file that a raw-mode lambda leaves in its working
// directory and that the node stores as Key with Perm after it exits.
type Output struct {
	File string `msgpack:"file"`
	Key  string `msgpack:"key"`
	Perm uint8  `msgpack:"perm,omitempty"` // zero means R (immutable)
}

// Response answers the request with the same ID. The zero value is an OK
// response to request 0.
type Response struct {
	ID     uint64
	Status Status
	Error  string // human-readable reason when Status is not OK

	// Value is the value of a get. Decoding aliases it into the frame;
	// a present but empty value decodes as a non-nil empty slice.
	Value  []byte
	Perm   uint8  // get: the value's permission bits
	Offset uint64 // put, delete: the write's offset in the node's log

	Stats []StatEntry // stat: one entry per requested key, in order

	NodeID  string // hello: the answering node's id
	Version string // hello: the node's software version
	Proto   int    // hello: the node's ProtocolVersion

	Addr string // MOVED: client address of the node that owns the slot
	Slot int    // MOVED: the slot of the key

	Topology *Topology // topology

	ReturnCode int        // execute: the lambda's return code
	Output     []byte     // execute: the lambda's output; aliases the frame when decoded
	Puts       []string   // execute: keys the lambda stored
	ExecNode   string     // execute: id of the node that ran the lambda
	Stderr     []byte     // execute, raw mode: the end of the lambda's stderr (at most 64 KiB)
	Exec       *ExecStats // execute: where the time went

	// sync: the master's history id and (in Offset) its last offset; the
	// writes after the replica's offset; FullSync when it cannot send them
	// and the replica must take a snapshot; a snapshot page in Records,
	// with More when pages follow.
	ReplID   string
	Entries  []Entry
	FullSync bool
	Records  []Record
	More     bool
}

// StatEntry describes one key for a stat request.
type StatEntry struct {
	Key   string `msgpack:"key"`
	Found bool   `msgpack:"found"`
	Size  int64  `msgpack:"size,omitempty"`
	Perm  uint8  `msgpack:"perm,omitempty"`
	Slot  int    `msgpack:"slot"`
	Owner string `msgpack:"owner,omitempty"` // id of the master of the slot
	Addr  string `msgpack:"addr,omitempty"`  // client address of the owner
}

// Topology is a node's view of the cluster: its members and the slot table.
type Topology struct {
	Cluster    string `msgpack:"cluster,omitempty"`    // the cluster's name
	Epoch      uint64 `msgpack:"epoch"`                // highest epoch in the slot table
	Migrations int    `msgpack:"migrations,omitempty"` // slot ranges this node is copying to another
	// MigratingSlots is, on the coordinator, how many slots the moves it is
	// running still have to move; 0 elsewhere.
	MigratingSlots int         `msgpack:"migrating_slots,omitempty"`
	Nodes          []NodeInfo  `msgpack:"nodes"`
	Slots          []SlotRange `msgpack:"slots"`
}

// NodeInfo describes one member of the cluster.
type NodeInfo struct {
	ID          string `msgpack:"id"`
	Addr        string `msgpack:"addr"`                  // client address, host:port
	GossipAddr  string `msgpack:"gossip_addr,omitempty"` // host:port
	HTTPAddr    string `msgpack:"http_addr,omitempty"`   // host:port
	Role        string `msgpack:"role"`                  // master, replica or compute
	State       string `msgpack:"state"`                 // alive, suspect, dead, left
	Master      string `msgpack:"master,omitempty"`      // for a replica: the id it follows
	Coordinator bool   `msgpack:"coordinator,omitempty"`
	Slots       int    `msgpack:"slots"` // how many slots it masters
	Version     string `msgpack:"version,omitempty"`
	Offset      uint64 `msgpack:"offset,omitempty"`    // last write offset it holds
	Executors   int    `msgpack:"executors,omitempty"` // lambdas it runs at once; 0: it stores only
	Pipeline    int    `msgpack:"pipeline,omitempty"`  // executions it admits beyond Executors before BUSY
	// For a replica, as it reports itself: offsets behind its master, how
	// long since it last had everything, and its link (connecting,
	// snapshot, streaming).
	Lag       uint64 `msgpack:"lag,omitempty"`
	LagMillis int64  `msgpack:"lag_ms,omitempty"`
	Link      string `msgpack:"link,omitempty"`
}

// SlotRange assigns the slots Start..End (inclusive) to a master.
type SlotRange struct {
	Start    int      `msgpack:"start"`
	End      int      `msgpack:"end"`
	Master   string   `msgpack:"master"`
	Replicas []string `msgpack:"replicas,omitempty"`
	Epoch    uint64   `msgpack:"epoch"`
}
