package election

import "errors"

// Errors returned by the lifecycle calls: Start and Shutdown.
var (
	// ErrShutdown is returned by Start after Shutdown has been called.
	ErrShutdown = errors.New("election: shut down")

	// ErrStarted is returned by a second call to Start.
	ErrStarted = errors.New("election: already started")
)

// Errors returned by Message encoding and decoding: MarshalBinary,
// AppendBinary, UnmarshalBinary and Validate. They are wrapped with the
// detail; check them with errors.Is.
var (
	// ErrMessage means a message is malformed: bad version, unknown kind,
	// truncated, trailing bytes, or a field out of range.
	ErrMessage = errors.New("election: malformed message")
)
