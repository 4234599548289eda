package jail

import "errors"

// Errors returned by LoadBinary.
var (
	// ErrNotExecutable means the bytes are not a static ELF64 x86-64
	// executable (ET_EXEC, or ET_DYN without PT_INTERP).
	ErrNotExecutable = errors.New("jail: not a static x86-64 executable")
)

// Errors returned by New, Start, LoadBinary and Run.
var (
	// ErrUnsupported means the platform or kernel cannot sandbox lambdas
	// (not Linux on x86-64, or no way to confine the filesystem).
	ErrUnsupported = errors.New("jail: unsupported platform")

	// ErrClosed means Shutdown was called.
	ErrClosed = errors.New("jail: closed")

	// ErrNotStarted means Start has not been called (or did not succeed).
	ErrNotStarted = errors.New("jail: not started")
)

// Errors returned by Run for a bad Spec.
var (
	// ErrBadName means a File or Output name is not a clean relative path
	// inside the working directory (empty, absolute, "..", NUL, too long).
	ErrBadName = errors.New("jail: bad file name")

	// ErrBadSpec means another Spec field is invalid (argv or env strings
	// with NUL bytes, negative limits, duplicate file names).
	ErrBadSpec = errors.New("jail: bad spec")
)

// KillError is returned by Run when the jail killed the lambda: a sandbox
// violation, a limit, a timeout or cancellation. Reason is short and meant
// for clients, for example "sandbox: socket denied", "memory limit",
// "timeout 30s", "output limit", "cpu limit", "process limit",
// "sandbox: execve denied". The zero value has an empty Reason.
type KillError struct {
	Reason string
}

// Error returns Reason.
func (e *KillError) Error() string { return e.Reason }
