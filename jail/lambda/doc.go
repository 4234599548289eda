// Package lambda is the runtime a Go lambda links: it reads the request the
// lambdakv node writes to the lambda's stdin, calls the author's handler and
// writes the answer to stdout. It also holds the encoders and the hardened
// decoders the node uses for the same two messages.
//
// # Basics
//
// A lambda is a static executable stored as a value with the X permission.
// A Go lambda is a main package whose main calls [Serve]:
//
//	func main() {
//		lambda.Serve(func(a *lambda.Args) (*lambda.Response, error) {
//			resp := &lambda.Response{Output: []byte(strings.Join(a.Args, " "))}
//			resp.AddPut("greeting", []byte("hello"), lambda.R)
//			return resp, nil
//		})
//	}
//
// Build it with CGO_ENABLED=0 go build, upload it with
// lkv put NAME ./bin --perm rx, and run it with lkv exec NAME.
// docs/lambdas.md walks through the whole flow.
//
// # Runtime-mode protocol
//
// This is a contract between the node and every runtime (this package,
// jail/lambda/c/lambda.h, and any a user writes in another language). It
// changes only with a version bump.
//
// The node writes ONE msgpack map, ExecArgs, to the lambda's stdin and
// closes stdin:
//
//	{"args": [str...], "values": {key(str): bin}, "files": {key(str): path(str)}}
//
// "args" are the lkv exec --arg strings, in order. "values" holds the deps
// passed inline. "files" maps the keys of the deps passed as files to
// relative paths in the current working directory (the lambda's workdir).
// Runtimes must ignore fields they do not know (forward compatibility).
//
// The lambda writes ONE msgpack map, ExecResponse, to stdout and exits:
//
//	{"return_code": int, "return_output": bin, "puts": [{"key": str, "value": bin, "perm": uint}]}
//
// perm is a bit set: R=1, W=2, X=4 (R is required, as on every put). The
// node then stores the puts and answers the client with return_code and
// return_output.
//
// Encoders in this package write every field, map keys in sorted order,
// strings as msgpack str and byte strings as bin (nil as an empty bin), so
// equal messages encode to equal bytes. Decoders accept the fields in any
// order, str where bin is expected, and nil for an empty bin, array or map.
// In ExecArgs a missing field reads as empty; in ExecResponse, and in each
// put, every field is required.
//
// # Response rules
//
// [DecodeResponse], which the node applies to the untrusted bytes a lambda
// wrote, refuses with [ErrMalformed] anything but exactly one ExecResponse:
// trailing bytes, wrong types, non-string map keys, a missing or duplicated
// field, return_code outside the int32 range, a put key that is empty,
// longer than [MaxKeyLen] or contains NUL, the same put key twice, a perm
// without R or with bits beyond R|W|X, and unknown fields nested deeper
// than 32 levels. Input longer than the caller's cap is [ErrTooLarge]. It
// never panics, and a declared length or count larger than the bytes left
// is refused before anything is allocated for it. Unknown fields are
// skipped.
//
// # Errors and panics in a handler
//
// [Serve] (through [Call]) turns a handler's error into a response with
// return_code 1 and the error's text, plus a newline if it has none, as
// return_output; a panic into return_code 1 and "panic: VALUE" followed by
// the stack; a response that breaks the rules above into return_code 1 and
// "lambda: invalid response: REASON". The puts of such a run are dropped.
// The response is checked before the first byte is written, so stdout never
// holds half a response.
//
// Serve exits with status 0 whenever it wrote a response, whatever its
// return_code. If stdin does not hold ExecArgs (for example, the lambda was
// run with lkv exec --raw, which gives it an empty stdin), it runs nothing,
// prints the reason on stdout and stderr and exits with status 2; if stdout
// cannot be written it exits with status 1. lambda.h behaves the same way.
//
// # Caveats
//
// While the handler runs, [Serve] points os.Stdout at os.Stderr, so
// fmt.Println and friends cannot corrupt the response; a handler that writes
// to file descriptor 1 directly still can. A panic in another goroutine the
// handler started kills the process before a response is written; the node
// then reports "bad response". Serve reads at most [MaxArgsSize] bytes of
// ExecArgs.
package lambda
