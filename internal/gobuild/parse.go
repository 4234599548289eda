package gobuild

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Op is one thing a build log does that matters: writing a file under
// $WORK (Write) or running a tool (Tool). Paths under the build's work
// directory are written "$WORK/bN/...".
type Op struct {
	Line int    // line number in the log, from 1
	Dir  string // the current directory (absolute) when the op ran

	// Write is the $WORK path of a generated file; its content is Data,
	// or, when CopyFrom is set, the content of that local file.
	Write    string
	Data     []byte
	CopyFrom string

	// Tool is compile, asm, link, pack or buildid; Args are its arguments
	// as the log gives them; Env the K=V settings printed before it.
	Tool string
	Args []string
	Env  []string
}

// Log is a parsed build log.
type Log struct {
	Ops []Op
}

// workVar is how the log names the build's work directory.
const workVar = "$WORK"

// ParseLog reads the output of `go build -n` or `go build -x` (stderr).
// cwd is the directory go ran in (the log's "cd ." goes back to it). It
// fails on any command it does not understand, so that a build never
// silently loses a step.
func ParseLog(log []byte, cwd string) (*Log, error) {
	p := &logParser{dir: cwd, cwd: cwd}
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text(), sc); err != nil {
			return nil, fmt.Errorf("build log line %d: %w", p.line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read build log: %w", err)
	}
	return &Log{Ops: p.ops}, nil
}

type logParser struct {
	line int
	dir  string // current directory
	cwd  string // where go ran
	work string // the work directory's real path (from WORK=, with -x)
	ops  []Op
}

func (p *logParser) parseLine(line string, sc *bufio.Scanner) error {
	if w, ok := strings.CutPrefix(line, "WORK="); ok && p.work == "" {
		p.work = w
		return nil
	}
	line = p.unwork(line)
	line = strings.TrimSuffix(line, " # internal")
	switch {
	case line == "" || strings.HasPrefix(line, "#"):
		return nil
	case strings.HasPrefix(line, "cd "):
		d := strings.TrimPrefix(line, "cd ")
		switch {
		case d == ".":
			p.dir = p.cwd
		case filepath.IsAbs(d):
			p.dir = d
		default:
			p.dir = filepath.Join(p.dir, d)
		}
		return nil
	case strings.HasPrefix(line, "mkdir "), strings.HasPrefix(line, "mv "), strings.HasPrefix(line, "rm "):
		return nil
	case strings.HasPrefix(line, "cp "):
		return p.parseCopy(line)
	case strings.HasPrefix(line, "echo -n > "):
		return p.write(strings.TrimPrefix(line, "echo -n > "), nil)
	case strings.HasPrefix(line, "echo '"):
		i := strings.LastIndex(line, "' > ")
		if i < len("echo '") {
			return fmt.Errorf("cannot parse %q", line)
		}
		return p.write(line[i+len("' > "):], []byte(line[len("echo '"):i]+"\n"))
	case strings.HasPrefix(line, "cat >"):
		return p.parseHeredoc(line, sc)
	}
	return p.parseTool(line)
}

// unwork writes the work directory as $WORK (heredocs print it as is).
func (p *logParser) unwork(s string) string {
	if p.work == "" {
		return s
	}
	return strings.ReplaceAll(s, p.work, workVar)
}

func (p *logParser) write(file string, data []byte) error {
	if !strings.HasPrefix(file, workVar+"/") {
		return fmt.Errorf("write outside $WORK: %q", file)
	}
	p.ops = append(p.ops, Op{Line: p.line, Dir: p.dir, Write: file, Data: data})
	return nil
}

// parseCopy keeps copies into $WORK (runtime's asm_GOARCH.h) and drops the
// others (go's copies into its cache).
func (p *logParser) parseCopy(line string) error {
	f := strings.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("cannot parse %q", line)
	}
	src, dst := f[1], f[2]
	if !strings.HasPrefix(dst, workVar+"/") {
		return nil
	}
	if strings.HasPrefix(src, workVar+"/") {
		return fmt.Errorf("copy inside $WORK is not supported: %q", line)
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(p.dir, src)
	}
	p.ops = append(p.ops, Op{Line: p.line, Dir: p.dir, Write: dst, CopyFrom: src})
	return nil
}

// parseHeredoc reads `cat >F << 'EOF'` and the lines up to EOF. go prints
// the content as is followed by "EOF", so content without a final newline
// ends in "...EOF" on its last line.
func (p *logParser) parseHeredoc(line string, sc *bufio.Scanner) error {
	file, ok := strings.CutSuffix(strings.TrimPrefix(line, "cat >"), " << 'EOF'")
	if !ok {
		return fmt.Errorf("cannot parse %q", line)
	}
	var buf bytes.Buffer
	for sc.Scan() {
		p.line++
		l := p.unwork(sc.Text())
		if l == "EOF" {
			return p.write(file, buf.Bytes())
		}
		if s, ok := strings.CutSuffix(l, "EOF"); ok && strings.HasSuffix(s, "}") {
			buf.WriteString(s)
			return p.write(file, buf.Bytes())
		}
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return fmt.Errorf("heredoc for %s not closed", file)
}

// parseTool reads `[K=V...] TOOL args` and `go tool pack|buildid args`.
func (p *logParser) parseTool(line string) error {
	toks, err := splitCommand(line)
	if err != nil {
		return err
	}
	var env []string
	for len(toks) > 0 && isEnvAssign(toks[0]) {
		env = append(env, toks[0])
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return fmt.Errorf("cannot parse %q", line)
	}
	var tool string
	var args []string
	if toks[0] == "go" && len(toks) >= 3 && toks[1] == "tool" {
		tool, args = toks[2], toks[3:]
	} else {
		tool, args = filepath.Base(toks[0]), toks[1:]
	}
	switch tool {
	case "compile", "asm", "link", "pack", "buildid":
	case "cgo", "gcc", "cc", "clang":
		return fmt.Errorf("%s step: only CGO_ENABLED=0 builds are supported", tool)
	default:
		return fmt.Errorf("unsupported command %q", line)
	}
	p.ops = append(p.ops, Op{Line: p.line, Dir: p.dir, Tool: tool, Args: args, Env: env})
	return nil
}

func isEnvAssign(tok string) bool {
	name, _, ok := strings.Cut(tok, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitCommand splits a command line as go prints it: words separated by
// spaces, Go-quoted "..." strings (joinUnambiguously) and shell '...'
// strings (env values).
func splitCommand(line string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); {
		switch c := line[i]; c {
		case ' ':
			if in {
				toks = append(toks, cur.String())
				cur.Reset()
				in = false
			}
			i++
		case '"':
			q, err := strconv.QuotedPrefix(line[i:])
			if err != nil {
				return nil, fmt.Errorf("bad quoting in %q", line)
			}
			s, _ := strconv.Unquote(q)
			cur.WriteString(s)
			in = true
			i += len(q)
		case '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("bad quoting in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			in = true
			i += j + 2
		default:
			cur.WriteByte(c)
			in = true
			i++
		}
	}
	if in {
		toks = append(toks, cur.String())
	}
	return toks, nil
}
