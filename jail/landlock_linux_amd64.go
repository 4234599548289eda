//go:build linux && amd64

package jail

import (
	"golang.org/x/sys/unix"
)

// Landlock access rights (linux/landlock.h), by the ABI that added them.
const (
	llExecute    = 1 << 0
	llWriteFile  = 1 << 1
	llReadFile   = 1 << 2
	llReadDir    = 1 << 3
	llRemoveDir  = 1 << 4
	llRemoveFile = 1 << 5
	llMakeChar   = 1 << 6
	llMakeDir    = 1 << 7
	llMakeReg    = 1 << 8
	llMakeSock   = 1 << 9
	llMakeFifo   = 1 << 10
	llMakeBlock  = 1 << 11
	llMakeSym    = 1 << 12
	llRefer      = 1 << 13 // ABI 2
	llTruncate   = 1 << 14 // ABI 3
	llIoctlDev   = 1 << 15 // ABI 5

	llNetBindTCP    = 1 << 0 // ABI 4
	llNetConnectTCP = 1 << 1 // ABI 4

	llScopeAbstractUnix = 1 << 0 // ABI 6
	llScopeSignal       = 1 << 1 // ABI 6

	llCreateRulesetVersion = 1 << 0
)

// landlockABI returns the kernel's Landlock ABI version, 0 if none.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, llCreateRulesetVersion)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// landlockPolicy is what the launcher asks Landlock for.
type landlockPolicy struct {
	abi      int
	fs       uint64 // handled filesystem rights
	net      uint64 // handled network rights (none granted: no TCP)
	scoped   uint64 // IPC scopes
	attrSize uint32 // bytes of struct landlock_ruleset_attr the ABI knows
}

// newLandlockPolicy handles every right the ABI knows, so that whatever
// is not granted by a rule is denied.
func newLandlockPolicy(abi int) landlockPolicy {
	p := landlockPolicy{abi: abi, fs: (1 << 13) - 1, attrSize: 8}
	if abi >= 2 {
		p.fs |= llRefer
	}
	if abi >= 3 {
		p.fs |= llTruncate
	}
	if abi >= 4 {
		p.net = llNetBindTCP | llNetConnectTCP
		p.attrSize = 16
	}
	if abi >= 5 {
		p.fs |= llIoctlDev
	}
	if abi >= 6 {
		p.scoped = llScopeAbstractUnix | llScopeSignal
		p.attrSize = 24
	}
	return p
}

// workdirRights is what a lambda may do beneath its working directory:
// read, write, create and remove regular files and directories, and move
// them around inside it. Not: execute, symlinks, devices, sockets, FIFOs.
func (p landlockPolicy) workdirRights() uint64 {
	return p.fs & (llReadFile | llReadDir | llWriteFile | llRemoveDir | llRemoveFile |
		llMakeDir | llMakeReg | llTruncate | llRefer)
}

// binaryRights lets the lambda file be executed (exec needs read, too).
func (p landlockPolicy) binaryRights() uint64 { return p.fs & (llExecute | llReadFile) }

// devNullRights lets /dev/null be opened for reading and writing.
func (p landlockPolicy) devNullRights() uint64 { return p.fs & (llReadFile | llWriteFile) }
