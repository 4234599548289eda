package gobuild

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// Key prefixes. Every key is named by a hash of what it holds (tools and
// files) or of the action that makes it (outputs), so uploading or
// running twice is harmless and a changed input gets new keys.
const (
	toolPrefix = "gobuild/t/" // + sha256 of the binary
	filePrefix = "gobuild/f/" // + sha256 of the content
	outPrefix  = "gobuild/o/" // + action hash + "/" + file name
)

// Names inside a thunk's working directory.
const (
	ownDir = "_w"   // the step's own objdir ($WORK/bN)
	depDir = "_dep" // dependencies' archives, as _dep/<import path>.a
	incDir = "_inc" // $GOROOT/pkg/include
)

// Options configure Translate.
type Options struct {
	// GOROOT is the Go installation the log was made with.
	GOROOT string
	// Env is given to every thunk (GOOS, GOARCH, GOAMD64, GOEXPERIMENT,
	// GOFIPS140 as `go env` reports them); a step's own settings (link's
	// GOROOT) are added.
	Env []string
	// Tools maps compile, asm, link, pack and buildid to static binaries.
	Tools map[string]string
	// Timeout and Limits are given to every thunk; the node caps them at
	// its maxima. Zero and nil mean the node's defaults.
	Timeout time.Duration
	Limits  *client.ExecLimits
}

// Upload is a value the graph reads that must be stored first: a tool
// (Perm rx) or a source or generated file (Perm r). Either Path or Data is
// set.
type Upload struct {
	Key  string
	Path string
	Data []byte
	Perm client.Perm
}

// Plan is a build as a graph of thunks.
type Plan struct {
	Graph client.Graph
	// Uploads are the tools and files the graph reads, one per key.
	Uploads []Upload
	// Packages maps an import path to the key of its final archive.
	Packages map[string]string
	// Binary is the key of the linked executable, if the build links one.
	Binary string
	// Work maps the key of each final archive and executable to its path
	// relative to the work directory ("b006/_pkg_.a"), for comparing with
	// a `go build -work` directory.
	Work map[string]string
}

var objdirRE = regexp.MustCompile(`\$WORK/(b[0-9]+)(/|$)`)

// translator carries the state of one Translate: what produced each $WORK
// path so far, in log order.
type translator struct {
	opts     Options
	plan     *Plan
	objPkg   map[string]string // objdir ("b006") → import path
	producer map[string]string // $WORK path → key of its current content
	uploads  map[string]int    // key → index in plan.Uploads
	hashes   map[string]string // local path → key
	ids      map[string]int
	linkOuts map[string]bool // $WORK paths written by link
}

// Translate turns a parsed build log into a Plan.
func Translate(log *Log, opts Options) (*Plan, error) {
	t := &translator{
		opts:     opts,
		plan:     &Plan{Packages: make(map[string]string), Work: make(map[string]string)},
		objPkg:   make(map[string]string),
		producer: make(map[string]string),
		uploads:  make(map[string]int),
		hashes:   make(map[string]string),
		ids:      make(map[string]int),
		linkOuts: make(map[string]bool),
	}
	for _, tool := range []string{"compile", "asm", "link", "pack", "buildid"} {
		if opts.Tools[tool] == "" {
			return nil, fmt.Errorf("no %s binary", tool)
		}
	}
	for i := range log.Ops {
		op := &log.Ops[i]
		var err error
		if op.Write != "" {
			err = t.write(op)
		} else {
			err = t.step(op)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", op.Line, err)
		}
	}
	t.finish()
	if err := criticalFirst(&t.plan.Graph); err != nil {
		return nil, err
	}
	return t.plan, nil
}

func (t *translator) write(op *Op) error {
	data := op.Data
	if op.CopyFrom != "" {
		b, err := os.ReadFile(op.CopyFrom)
		if err != nil {
			return err
		}
		data = b
	}
	t.producer[op.Write] = t.blob(data)
	return nil
}

// blob returns the key of generated content, adding it to the uploads.
func (t *translator) blob(data []byte) string {
	sum := sha256.Sum256(data)
	key := filePrefix + hex.EncodeToString(sum[:])
	t.upload(Upload{Key: key, Data: data, Perm: client.PermR})
	return key
}

func (t *translator) upload(u Upload) {
	if _, ok := t.uploads[u.Key]; ok {
		return
	}
	t.uploads[u.Key] = len(t.plan.Uploads)
	t.plan.Uploads = append(t.plan.Uploads, u)
}

// localFile returns the key of a local file, hashing it once.
func (t *translator) localFile(p string, perm client.Perm, prefix string) (string, error) {
	if k, ok := t.hashes[p]; ok {
		return k, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	key := prefix + hex.EncodeToString(h.Sum(nil))
	t.hashes[p] = key
	t.upload(Upload{Key: key, Path: p, Perm: perm})
	return key, nil
}

// action is one step being translated.
type action struct {
	op      *Op
	objdir  string            // "b006"
	pkgDir  string            // the directory the thunk's cwd stands for
	args    []string          // rewritten
	inputs  map[string]string // name in the working directory → key
	outputs []string          // $WORK paths it writes
}

func (t *translator) step(op *Op) error {
	a := &action{op: op, inputs: make(map[string]string)}
	if m := objdirRE.FindStringSubmatch(strings.Join(op.Args, " ")); m != nil {
		a.objdir = m[1]
	} else {
		return fmt.Errorf("%s step without an objdir", op.Tool)
	}
	a.pkgDir = op.Dir
	if op.Tool == "compile" {
		for _, arg := range op.Args {
			if strings.HasSuffix(arg, ".go") {
				a.pkgDir = filepath.Dir(t.abs(op, arg))
				break
			}
		}
	}
	if op.Tool == "compile" || op.Tool == "asm" {
		if p := flagValue(op.Args, "-p"); p != "" {
			t.objPkg[a.objdir] = p
		}
	}
	a.outputs = t.outputs(op)
	if err := t.rewriteArgs(a); err != nil {
		return err
	}
	if op.Tool == "asm" {
		if err := t.scanIncludes(a); err != nil {
			return err
		}
	}
	return t.emit(a)
}

// outputs lists the $WORK paths a step writes.
func (t *translator) outputs(op *Op) []string {
	var outs []string
	switch op.Tool {
	case "compile", "asm", "link":
		for _, f := range []string{"-o", "-asmhdr"} {
			if v := flagValue(op.Args, f); v != "" {
				outs = append(outs, v)
			}
		}
	case "pack", "buildid":
		// pack r A files...; buildid -w F: the file is rewritten in place.
		if len(op.Args) >= 2 {
			outs = append(outs, op.Args[1])
		}
	}
	return outs
}

// flagValue returns the value of `flag V` in args.
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// abs resolves a path of the log against the step's directory.
func (t *translator) abs(op *Op, p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, workVar+"/") {
		return p
	}
	return filepath.Join(op.Dir, p)
}

// isPath says whether an argument names a file or directory.
func isPath(s string) bool {
	return strings.HasPrefix(s, workVar+"/") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./")
}

// name maps a path of the log to its name in the working directory.
func (t *translator) name(a *action, p string) (string, error) {
	p = t.abs(a.op, p)
	if rest, ok := strings.CutPrefix(p, workVar+"/"); ok {
		dir, file, _ := strings.Cut(rest, "/")
		file = strings.TrimSuffix(file, "/")
		if dir == a.objdir {
			if file == "" {
				return ownDir, nil
			}
			return ownDir + "/" + file, nil
		}
		pkg, ok := t.objPkg[dir]
		if file != "_pkg_.a" || !ok {
			return "", fmt.Errorf("%s: not the archive of a known package", p)
		}
		return depDir + "/" + pkg + ".a", nil
	}
	inc := filepath.Join(t.opts.GOROOT, "pkg", "include")
	if p == inc {
		return incDir, nil
	}
	if rel, ok := strings.CutPrefix(p, inc+"/"); ok {
		return incDir + "/" + rel, nil
	}
	if p == a.pkgDir {
		return ".", nil
	}
	if rel, ok := strings.CutPrefix(p, a.pkgDir+"/"); ok {
		return rel, nil
	}
	return "", fmt.Errorf("%s is outside the package directory %s", p, a.pkgDir)
}

// input adds the file at log path p, named n, to the action's inputs.
func (t *translator) input(a *action, p, n string) error {
	p = t.abs(a.op, p)
	if strings.HasPrefix(p, workVar+"/") {
		if strings.HasSuffix(p, "/") || n == ownDir {
			return nil // a directory (-I $WORK/bN/)
		}
		key, ok := t.producer[p]
		if !ok {
			return fmt.Errorf("nothing produced %s", p)
		}
		a.inputs[n] = key
		return nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil
	}
	key, err := t.localFile(p, client.PermR, filePrefix)
	if err != nil {
		return err
	}
	a.inputs[n] = key
	return nil
}

// rewriteArgs maps every path argument and the files some flags name.
func (t *translator) rewriteArgs(a *action) error {
	args := a.op.Args
	a.args = make([]string, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if i > 0 {
			switch args[i-1] {
			case "-trimpath":
				v, err := t.trimpath(a, arg)
				if err != nil {
					return err
				}
				a.args[i] = v
				continue
			case "-importcfg":
				if err := t.importcfg(a, arg); err != nil {
					return err
				}
				a.args[i] = ownDir + "/" + path.Base(arg)
				continue
			case "-embedcfg":
				if err := t.embedcfg(a, arg); err != nil {
					return err
				}
				a.args[i] = ownDir + "/" + path.Base(arg)
				continue
			}
		}
		if !isPath(arg) {
			a.args[i] = arg
			continue
		}
		n, err := t.name(a, arg)
		if err != nil {
			return err
		}
		a.args[i] = n
		if strings.HasSuffix(arg, "/") {
			a.args[i] += "/" // -I $WORK/bN/: asm joins by concatenation
		}
		if slices.Contains(a.outputs, t.abs(a.op, arg)) && a.op.Tool != "pack" && a.op.Tool != "buildid" {
			continue
		}
		if err := t.input(a, arg, n); err != nil {
			return err
		}
	}
	return nil
}

// trimpath rewrites go's -trimpath value for a working directory whose
// path is only known at run time: the objdir and the include directory
// are trimmed as go does, and the working directory, which stands for the
// package directory, is rewritten to what the package directory would be.
func (t *translator) trimpath(a *action, v string) (string, error) {
	repl := a.pkgDir
	if rel, ok := strings.CutPrefix(a.pkgDir, filepath.Join(t.opts.GOROOT, "src")+"/"); ok {
		repl = "$GOROOT/src/" + rel
	}
	for _, rule := range strings.Split(v, ";") {
		from, to, ok := strings.Cut(rule, "=>")
		if ok && from == a.pkgDir {
			repl = to
		}
	}
	cwd := client.WorkDirArg
	return cwd + "/" + ownDir + "=>;" + cwd + "/" + incDir + "=>$GOROOT/pkg/include;" + cwd + "=>" + repl, nil
}

// importcfg rewrites an import config's packagefile paths to _dep names
// and adds those archives as inputs.
func (t *translator) importcfg(a *action, p string) error {
	data, err := t.generated(p)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "packagefile "); ok {
			pkg, file, ok := strings.Cut(rest, "=")
			if !ok {
				return fmt.Errorf("importcfg: bad line %q", line)
			}
			n, err := t.name(a, file)
			if err != nil {
				return fmt.Errorf("importcfg %s: %w", pkg, err)
			}
			if err := t.input(a, file, n); err != nil {
				return err
			}
			line = "packagefile " + pkg + "=" + n
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		out.Truncate(out.Len() - 1)
	}
	a.inputs[ownDir+"/"+path.Base(p)] = t.blob(out.Bytes())
	return nil
}

// embedcfg makes an embed config's file paths relative to the package
// directory and adds the files as inputs.
func (t *translator) embedcfg(a *action, p string) error {
	data, err := t.generated(p)
	if err != nil {
		return err
	}
	var cfg struct {
		Patterns map[string][]string
		Files    map[string]string
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("embedcfg: %w", err)
	}
	for k, f := range cfg.Files {
		n, err := t.name(a, f)
		if err != nil {
			return fmt.Errorf("embedcfg: %w", err)
		}
		if err := t.input(a, f, n); err != nil {
			return err
		}
		cfg.Files[k] = n
	}
	// go writes the config with json.MarshalIndent and no final newline.
	out, err := json.MarshalIndent(&cfg, "", "\t")
	if err != nil {
		return err
	}
	a.inputs[ownDir+"/"+path.Base(p)] = t.blob(out)
	return nil
}

// generated returns the content of a file the log wrote under $WORK.
func (t *translator) generated(p string) ([]byte, error) {
	key, ok := t.producer[p]
	if !ok {
		return nil, fmt.Errorf("nothing produced %s", p)
	}
	i, ok := t.uploads[key]
	if !ok {
		return nil, fmt.Errorf("%s is not a generated file", p)
	}
	if u := t.plan.Uploads[i]; u.Path != "" {
		return os.ReadFile(u.Path)
	}
	return t.plan.Uploads[i].Data, nil
}

var includeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]+"([^"]+)"`)

// scanIncludes adds the headers an asm step includes, found the way asm
// looks for them: in the current directory, then in -I _w, then -I _inc.
func (t *translator) scanIncludes(a *action) error {
	var queue []string
	for _, arg := range a.op.Args {
		if strings.HasSuffix(arg, ".s") {
			queue = append(queue, t.abs(a.op, arg))
		}
	}
	seen := make(map[string]bool)
	for len(queue) > 0 {
		src := queue[0]
		queue = queue[1:]
		data, err := t.readAny(src)
		if err != nil {
			return err
		}
		for _, m := range includeRE.FindAllSubmatch(data, -1) {
			inc := string(m[1])
			p, err := t.findInclude(a, inc)
			if err != nil {
				return err
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			n, err := t.name(a, p)
			if err != nil {
				return err
			}
			if err := t.input(a, p, n); err != nil {
				return err
			}
			queue = append(queue, p)
		}
	}
	return nil
}

// readAny reads a local file or a generated $WORK file. A header that
// compile writes (go_asm.h) is not known until the compile runs; it
// includes nothing, so it reads as empty here.
func (t *translator) readAny(p string) ([]byte, error) {
	if !strings.HasPrefix(p, workVar+"/") {
		return os.ReadFile(p)
	}
	i, ok := t.uploads[t.producer[p]]
	if !ok {
		return nil, nil
	}
	if u := t.plan.Uploads[i]; u.Path != "" {
		return os.ReadFile(u.Path)
	}
	return t.plan.Uploads[i].Data, nil
}

func (t *translator) findInclude(a *action, inc string) (string, error) {
	if p := filepath.Join(a.pkgDir, inc); fileExists(p) {
		return p, nil
	}
	if p := workVar + "/" + a.objdir + "/" + inc; t.producer[p] != "" {
		return p, nil
	}
	if p := filepath.Join(t.opts.GOROOT, "pkg", "include", inc); fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("#include %q: not found", inc)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// emit turns a translated action into a thunk with content-addressed
// output keys and records what it produced.
func (t *translator) emit(a *action) error {
	op := a.op
	toolKey, err := t.localFile(t.opts.Tools[op.Tool], client.PermRX, toolPrefix)
	if err != nil {
		return fmt.Errorf("tool %s: %w", op.Tool, err)
	}
	env := mergeEnv(t.opts.Env, op.Env)
	outNames := make([]string, len(a.outputs))
	for i, o := range a.outputs {
		if outNames[i], err = t.name(a, o); err != nil {
			return err
		}
	}
	names := slices.Sorted(maps.Keys(a.inputs))
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(toolKey)
	for _, group := range [][]string{a.args, env, outNames} {
		field(fmt.Sprint(len(group)))
		for _, s := range group {
			field(s)
		}
	}
	for _, n := range names {
		field(n)
		field(a.inputs[n])
	}
	hash := hex.EncodeToString(h.Sum(nil))[:40]

	th := client.Thunk{
		ID: t.thunkID(a), Lambda: toolKey, Args: a.args, Env: env, Raw: true,
		Timeout: client.Duration(t.opts.Timeout), Limits: t.opts.Limits,
	}
	for _, n := range names {
		th.Deps = append(th.Deps, client.GraphDep{Key: a.inputs[n], AsFile: true, Name: n})
	}
	for i, o := range a.outputs {
		key := outPrefix + hash + "/" + path.Base(outNames[i])
		th.Outputs = append(th.Outputs, client.GraphOutput{File: outNames[i], Key: key, Perm: "r"})
		t.producer[o] = key
		if op.Tool == "link" {
			t.linkOuts[o] = true
		}
	}
	if op.Tool == "pack" {
		// pack copies each member's file mode into the archive, and go's
		// members are 0644 where a node's inputs are read-only. An input
		// that is also an output is written writable (0644), so the
		// members are declared outputs too (small: the asm objects).
		for _, n := range names {
			if n != outNames[0] {
				key := outPrefix + hash + "/" + path.Base(n)
				th.Outputs = append(th.Outputs, client.GraphOutput{File: n, Key: key, Perm: "r"})
			}
		}
	}
	t.plan.Graph.Thunks = append(t.plan.Graph.Thunks, th)
	return nil
}

// thunkID names a step for reports: "compile fmt", "asm runtime/asm_amd64.s".
func (t *translator) thunkID(a *action) string {
	pkg := t.objPkg[a.objdir]
	if pkg == "" {
		pkg = a.objdir
	}
	id := a.op.Tool + " " + pkg
	if a.op.Tool == "asm" {
		if slices.Contains(a.op.Args, "-gensymabis") {
			id = "symabis " + pkg
		} else if o := flagValue(a.op.Args, "-o"); o != "" {
			id += "/" + strings.TrimSuffix(path.Base(o), ".o") + ".s"
		}
	}
	t.ids[id]++
	if n := t.ids[id]; n > 1 {
		id = fmt.Sprintf("%s#%d", id, n)
	}
	return id
}

// finish records the final archive of every package and the linked
// binary.
func (t *translator) finish() {
	for p, key := range t.producer {
		rest, ok := strings.CutPrefix(p, workVar+"/")
		if !ok {
			continue
		}
		dir, file, _ := strings.Cut(rest, "/")
		switch {
		case file == "_pkg_.a":
			t.plan.Work[key] = rest
			if pkg := t.objPkg[dir]; pkg != "" && pkg != "main" {
				t.plan.Packages[pkg] = key
			}
		case t.linkOuts[p]:
			t.plan.Work[key] = rest
			t.plan.Binary = key
		}
	}
}

// mergeEnv returns base with the step's settings added or replacing,
// sorted by name.
func mergeEnv(base, step []string) []string {
	m := make(map[string]string)
	for _, kv := range append(slices.Clone(base), step...) {
		k, _, _ := strings.Cut(kv, "=")
		m[k] = kv
	}
	out := make([]string, 0, len(m))
	for _, kv := range m {
		out = append(out, kv)
	}
	sort.Strings(out)
	return out
}
