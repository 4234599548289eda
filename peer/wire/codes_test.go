package wire_test

import (
	"testing"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// The numbers are the protocol: these tables may only grow.

func TestOp_numbersAreFixed(t *testing.T) {
	tests := []struct {
		op   wire.Op
		num  uint8
		name string
	}{
		{wire.OpInvalid, 0, "invalid"},
		{wire.OpHello, 1, "hello"},
		{wire.OpPing, 2, "ping"},
		{wire.OpGet, 3, "get"},
		{wire.OpPut, 4, "put"},
		{wire.OpDelete, 5, "delete"},
		{wire.OpStat, 6, "stat"},
		{wire.OpExecute, 7, "execute"},
		{wire.OpTopology, 8, "topology"},
		{wire.OpMigrate, 9, "migrate"},
		{wire.OpImport, 10, "import"},
		{wire.OpSync, 11, "sync"},
	}
	for _, tt := range tests {
		if uint8(tt.op) != tt.num || tt.op.String() != tt.name {
			t.Errorf("op %q = %d; want %q = %d", tt.op, uint8(tt.op), tt.name, tt.num)
		}
		if got, want := tt.op.Valid(), tt.num != 0; got != want {
			t.Errorf("%s.Valid() = %v; want %v", tt.op, got, want)
		}
	}
	if wire.Op(12).Valid() || wire.Op(255).Valid() {
		t.Error("an op past the last is valid")
	}
	if got := wire.Op(200).String(); got != "op(200)" {
		t.Errorf("Op(200).String() = %q; want op(200)", got)
	}
}

func TestStatus_numbersAreFixed(t *testing.T) {
	tests := []struct {
		status wire.Status
		num    uint8
		name   string
	}{
		{wire.StatusOK, 0, "OK"},
		{wire.StatusNotFound, 1, "NOT_FOUND"},
		{wire.StatusMoved, 2, "MOVED"},
		{wire.StatusTryAgain, 3, "TRYAGAIN"},
		{wire.StatusReadOnly, 4, "READ_ONLY"},
		{wire.StatusNotExecutable, 5, "NOT_EXECUTABLE"},
		{wire.StatusBadRequest, 6, "BAD_REQUEST"},
		{wire.StatusTooLarge, 7, "TOO_LARGE"},
		{wire.StatusBusy, 8, "BUSY"},
		{wire.StatusExecFailed, 9, "EXEC_FAILED"},
		{wire.StatusTimeout, 10, "TIMEOUT"},
		{wire.StatusUnauthorized, 11, "UNAUTHORIZED"},
		{wire.StatusUnavailable, 12, "UNAVAILABLE"},
		{wire.StatusInternal, 13, "INTERNAL"},
	}
	for _, tt := range tests {
		if uint8(tt.status) != tt.num || tt.status.String() != tt.name {
			t.Errorf("status %q = %d; want %q = %d", tt.status, uint8(tt.status), tt.name, tt.num)
		}
		if got, ok := wire.ParseStatus(tt.name); !ok || got != tt.status {
			t.Errorf("ParseStatus(%q) = %d, %v; want %d", tt.name, got, ok, tt.num)
		}
	}
	if _, ok := wire.ParseStatus(wire.Status(14).String()); ok {
		t.Error("status 14 has a name; add it to this table and to docs/protocol.md")
	}
	for _, bad := range []string{"", "ok", "STATUS(99)", "op(1)"} {
		if _, ok := wire.ParseStatus(bad); ok {
			t.Errorf("ParseStatus(%q) ok", bad)
		}
	}
	if got := wire.Status(99).String(); got != "STATUS(99)" {
		t.Errorf("Status(99).String() = %q; want STATUS(99)", got)
	}
}

func TestDefaultMaxFrame(t *testing.T) {
	if wire.DefaultMaxValue != 256<<20 || wire.DefaultMaxFrame != 257<<20 || wire.HeaderSize != 4 {
		t.Errorf("DefaultMaxValue %d, DefaultMaxFrame %d, HeaderSize %d; the protocol documents 256 MiB, 257 MiB and 4",
			wire.DefaultMaxValue, wire.DefaultMaxFrame, wire.HeaderSize)
	}
	if wire.ProtocolVersion != 1 {
		t.Errorf("ProtocolVersion = %d; docs/protocol.md documents 1", wire.ProtocolVersion)
	}
}
