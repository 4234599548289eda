package client

import (
	"errors"
	"fmt"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// Errors a node answers with, for errors.Is. Every error returned for a
// node's answer is a *StatusError that matches one of these.
var (
	ErrNotFound      = errors.New("not found")
	ErrMoved         = errors.New("moved")
	ErrTryAgain      = errors.New("try again")
	ErrReadOnly      = errors.New("read-only")
	ErrNotExecutable = errors.New("not executable")
	ErrBadRequest    = errors.New("bad request")
	ErrTooLarge      = errors.New("too large")
	ErrBusy          = errors.New("busy")
	ErrExecFailed    = errors.New("execution failed")
	ErrTimeout       = errors.New("timeout")
	ErrUnauthorized  = errors.New("unauthorized")
	ErrUnavailable   = errors.New("unavailable")
	ErrInternal      = errors.New("internal error")
)

// Errors of the client itself.
var (
	// ErrClosed is returned by calls on a closed Client.
	ErrClosed = errors.New("client closed")
	// ErrNoNodes is returned by Dial when no seed could be reached.
	ErrNoNodes = errors.New("no node reachable")
)

var statusErrs = map[wire.Status]error{
	wire.StatusNotFound:      ErrNotFound,
	wire.StatusMoved:         ErrMoved,
	wire.StatusTryAgain:      ErrTryAgain,
	wire.StatusReadOnly:      ErrReadOnly,
	wire.StatusNotExecutable: ErrNotExecutable,
	wire.StatusBadRequest:    ErrBadRequest,
	wire.StatusTooLarge:      ErrTooLarge,
	wire.StatusBusy:          ErrBusy,
	wire.StatusExecFailed:    ErrExecFailed,
	wire.StatusTimeout:       ErrTimeout,
	wire.StatusUnauthorized:  ErrUnauthorized,
	wire.StatusUnavailable:   ErrUnavailable,
	wire.StatusInternal:      ErrInternal,
}

// StatusError is a node's answer other than OK.
type StatusError struct {
	Status  wire.Status
	Message string // the node's explanation
	Node    string // address of the node that answered
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return e.Status.String()
	}
	return fmt.Sprintf("%s: %s", e.Status, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) and the like work.
func (e *StatusError) Is(target error) bool {
	return statusErrs[e.Status] == target
}

// errorOf returns nil for an OK response and a *StatusError otherwise.
func errorOf(resp *wire.Response, node string) error {
	if resp.Status == wire.StatusOK {
		return nil
	}
	return &StatusError{Status: resp.Status, Message: resp.Error, Node: node}
}
