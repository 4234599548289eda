package wire

import "fmt"

// ProtocolVersion is the version of the protocol this package speaks. A
// hello with a different major version is refused.
const ProtocolVersion = 1

// Op names the operation a request asks for. The numbers are part of the
// protocol and never change; new ops are appended.
type Op uint8

// Ops. OpInvalid is the zero value and is never valid on the wire.
const (
	OpInvalid  Op = 0
	OpHello    Op = 1
	OpPing     Op = 2
	OpGet      Op = 3
	OpPut      Op = 4
	OpDelete   Op = 5
	OpStat     Op = 6
	OpExecute  Op = 7
	OpTopology Op = 8
	// OpMigrate asks the master of a range of slots to copy them to another
	// node (coordinator to node).
	OpMigrate Op = 9
	// OpImport carries copied records of one slot to its new master (node
	// to node).
	OpImport Op = 10
	// OpSync asks a master for the writes a replica lacks (replica to
	// master).
	OpSync Op = 11
	opEnd  Op = 12 // one past the last op
)

var opNames = [...]string{"invalid", "hello", "ping", "get", "put", "delete", "stat", "execute", "topology", "migrate", "import", "sync"}

// String returns the op's lower-case name, such as "get".
func (o Op) String() string {
	if o < opEnd {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Valid reports whether o is an op this version knows.
func (o Op) Valid() bool { return o > OpInvalid && o < opEnd }

// Status is the outcome of a request. The numbers are part of the protocol
// and never change; new codes are appended.
type Status uint8

// Status codes.
const (
	StatusOK            Status = 0
	StatusNotFound      Status = 1
	StatusMoved         Status = 2
	StatusTryAgain      Status = 3
	StatusReadOnly      Status = 4
	StatusNotExecutable Status = 5
	StatusBadRequest    Status = 6
	StatusTooLarge      Status = 7
	StatusBusy          Status = 8
	StatusExecFailed    Status = 9
	StatusTimeout       Status = 10
	StatusUnauthorized  Status = 11
	StatusUnavailable   Status = 12
	StatusInternal      Status = 13
	statusEnd           Status = 14
)

var statusNames = [...]string{
	"OK", "NOT_FOUND", "MOVED", "TRYAGAIN", "READ_ONLY", "NOT_EXECUTABLE",
	"BAD_REQUEST", "TOO_LARGE", "BUSY", "EXEC_FAILED", "TIMEOUT",
	"UNAUTHORIZED", "UNAVAILABLE", "INTERNAL",
}

// String returns the status name as the protocol documents it, such as
// "NOT_FOUND".
func (s Status) String() string {
	if s < statusEnd {
		return statusNames[s]
	}
	return fmt.Sprintf("STATUS(%d)", uint8(s))
}

// ParseStatus returns the status with the given name.
func ParseStatus(name string) (Status, bool) {
	for i, n := range statusNames {
		if n == name {
			return Status(i), true
		}
	}
	return 0, false
}
