package lambda

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Handler is the function a lambda author writes: it gets the ExecArgs and
// returns the ExecResponse. A returned error becomes return_code 1 with the
// error's text as output; nil, nil is a success with no output.
type Handler func(*Args) (*Response, error)

// Exit statuses of a lambda that uses Serve. In runtime mode the node reads
// the response; the status matters only when no response could be written.
const (
	exitOK        = 0 // a response was written (whatever its return_code)
	exitWriteFail = 1 // writing the response to stdout failed
	exitBadArgs   = 2 // stdin did not hold valid ExecArgs; nothing was run
)

// failCode is the return_code of a handler that failed or panicked.
const failCode = 1

// Serve runs h once as a runtime-mode lambda and exits the process: it reads
// ExecArgs from stdin (at most MaxArgsSize bytes), calls h, writes the
// ExecResponse to stdout and exits with status 0. A handler error, a panic
// or an invalid response becomes a response with return_code 1 (see the
// package documentation). While h runs, os.Stdout points to os.Stderr.
//
// If stdin does not hold ExecArgs (for example, the lambda was run with
// --raw), Serve runs nothing, prints the reason on stdout and stderr and
// exits with status 2; if stdout cannot be written it exits with status 1.
// Call Serve once, from main.
func Serve(h Handler) {
	out := os.Stdout
	os.Stdout = os.Stderr // stray prints must not corrupt the response
	os.Exit(serve(os.Stdin, out, os.Stderr, h))
}

// serve is Serve without the process: it returns the exit status.
func serve(in io.Reader, out, errOut io.Writer, h Handler) int {
	a, err := readArgs(in)
	if err != nil {
		fmt.Fprintln(out, err)
		fmt.Fprintln(errOut, err)
		return exitBadArgs
	}
	if err := EncodeResponse(out, Call(h, a)); err != nil {
		fmt.Fprintln(errOut, "lambda:", err)
		return exitWriteFail
	}
	return exitOK
}

// errNoArgs explains an empty stdin, which is what raw mode gives.
var errNoArgs = errors.New("lambda: no ExecArgs on stdin: this is a runtime-mode lambda (lambda.Serve); run it without --raw")

// readArgs reads the ExecArgs a lambda gets on stdin.
func readArgs(in io.Reader) (*Args, error) {
	b, err := readAll(in, MaxArgsSize)
	if err != nil {
		return nil, fmt.Errorf("lambda: read ExecArgs: %w", err)
	}
	if len(b) == 0 {
		return nil, errNoArgs
	}
	return UnmarshalArgs(b)
}

// Handle is one run of Serve without exiting: it reads ExecArgs from r (at
// most MaxArgsSize bytes), calls h through Call and writes the ExecResponse
// to w. It returns an error, having run nothing, if r does not hold ExecArgs,
// or if writing w fails. Tests use it to run a handler through the real
// encoding; it is safe to call concurrently if h is.
func Handle(r io.Reader, w io.Writer, h Handler) error {
	a, err := readArgs(r)
	if err != nil {
		return err
	}
	return EncodeResponse(w, Call(h, a))
}

// Call runs h on a and always returns a valid Response: h's own, or, if h
// returned an error, panicked or returned a response that fails Validate, a
// response with return_code 1 that says why and has no puts. A nil response
// with a nil error becomes the zero Response. It is safe to call
// concurrently if h is.
func Call(h Handler, a *Args) (resp *Response) {
	defer func() {
		if v := recover(); v != nil {
			resp = failure(fmt.Sprintf("panic: %v\n\n%s", v, debug.Stack()))
		}
	}()
	resp, err := h(a)
	switch {
	case err != nil:
		return failure(err.Error())
	case resp == nil:
		return &Response{}
	}
	if err := resp.Validate(); err != nil {
		return failure("lambda: invalid response: " + err.Error())
	}
	return resp
}

// failure is the response of a failed handler: return_code 1 and msg, with
// a final newline so that lkv exec prints a whole line.
func failure(msg string) *Response {
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		msg += "\n"
	}
	return &Response{ReturnCode: failCode, Output: []byte(msg)}
}
