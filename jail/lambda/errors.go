package lambda

import "errors"

// Errors of DecodeArgs, DecodeResponse, UnmarshalArgs and UnmarshalResponse.
// The returned error wraps one of them and says what was wrong and where.
var (
	// ErrTooLarge means the input is longer than the caller's limit.
	ErrTooLarge = errors.New("lambda: message too large")
	// ErrMalformed means the input is not exactly one well-formed message:
	// bad msgpack, a wrong type or shape, trailing bytes, or a response that
	// breaks the rules in the package documentation.
	ErrMalformed = errors.New("lambda: malformed message")
)

// Errors of Args.ReadFile and Args.Get.
var (
	// ErrNoDep means the key was not declared as a dependency of this run
	// (or not in the form asked for: inline versus file).
	ErrNoDep = errors.New("lambda: no such dependency")
)
