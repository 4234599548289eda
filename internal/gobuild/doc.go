// Package gobuild turns a `go build -a` into a graph of hermetic raw-mode
// thunks that a lambdakv cluster can run: one thunk per tool run (compile,
// asm, pack, buildid, link), each in a fresh working directory holding only
// its declared inputs, with content-addressed keys for the tools, the
// sources and every output.
//
// # Basics
//
// [Plan] asks the go command for the build's commands (`go build -a -n`,
// or `-x -work` for a real local build whose build IDs match exactly),
// [ParseLog] reads that log into [Op]s, and [Translate] maps every path to
// a name inside the thunk's working directory:
//
//	$WORK/bN/x (own objdir)        _w/x
//	$WORK/bM/_pkg_.a (a dependency) _dep/<import path>.a
//	$GOROOT/pkg/include            _inc
//	a file in the package dir D    its path relative to D
//
// The thunk's working directory plays the role of D, and -trimpath is
// rewritten with the @CWD@ placeholder (client.WorkDirArg) so that the
// outputs do not depend on where the node puts the directory.
//
// [UploadFiles] stores the tools and sources a cluster lacks, [Pending]
// leaves out the steps whose outputs are stored already, and
// client.RunGraph runs the rest. [Run] drives a graph through an
// [Executor] instead: [LocalExecutor] runs the steps on this machine the
// way a node does, unsandboxed (for tests and for comparing).
//
// # Caveats
//
// Only CGO_ENABLED=0 builds are supported: cgo steps need gcc, headers and
// libc, which a static tool in an empty directory does not have. With
// `-n`, the build IDs of packages that have dependencies are go's
// placeholders, so those archives differ from a real `go build` in the
// build ID bytes only; `-x` gives byte-identical archives at the price of
// building locally first.
package gobuild
