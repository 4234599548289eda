package membership

import "errors"

// Errors returned by New and Config.Validate.
var (
	// ErrInvalidConfig wraps every validation failure; the message names
	// the field at fault.
	ErrInvalidConfig = errors.New("invalid membership config")

	// ErrMetaTooLarge is returned when a Meta does not fit in memberlist's
	// node metadata limit (MetaMaxSize bytes once encoded).
	ErrMetaTooLarge = errors.New("node metadata too large")
)

// Errors returned by the lifecycle methods.
var (
	// ErrNotStarted is returned by calls that need a running node before
	// Start has succeeded.
	ErrNotStarted = errors.New("membership not started")

	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("membership already started")

	// ErrShutdown is returned by calls made after Shutdown.
	ErrShutdown = errors.New("membership shut down")

	// ErrLeft is returned by Join, UpdateMeta and Broadcast after Leave.
	ErrLeft = errors.New("membership left the cluster")
)

// Errors returned by Broadcast and SendTo.
var (
	// ErrUnknownNode is returned by SendTo when no alive member has the id.
	ErrUnknownNode = errors.New("unknown or dead node")

	// ErrTooLarge is returned when a message exceeds what the transport
	// carries (MaxMessageSize for SendTo).
	ErrTooLarge = errors.New("message too large")

	// ErrNoState is returned by Broadcast when the Config has no State.
	ErrNoState = errors.New("no state delegate configured")
)
