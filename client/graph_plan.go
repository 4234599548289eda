package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of RunGraph, for errors.Is.
var (
	// ErrInvalidGraph: the graph itself is wrong (a duplicate id, a key
	// written twice, a cycle, a field missing). Nothing was run.
	ErrInvalidGraph = errors.New("invalid graph")
	// ErrMissingInputs: keys the graph reads and no thunk writes are not
	// in the store. Nothing was run.
	ErrMissingInputs = errors.New("missing inputs")
	// ErrNoExecutors: no live node of the cluster runs lambdas.
	ErrNoExecutors = errors.New("no live node runs lambdas")
)

// ParseGraph reads a graph from its JSON form (docs/graphs.md) and
// validates it. Unknown fields are an error, so that a misspelt "deps"
// does not silently drop an edge.
func ParseGraph(b []byte) (*Graph, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	g := new(Graph)
	if err := dec.Decode(g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGraph, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the graph", ErrInvalidGraph)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// Validate checks the graph's shape without looking at the store: every
// thunk has a unique id and a lambda, fields fit the thunk's mode, no key
// is written twice, and the thunks form no cycle. Its errors match
// ErrInvalidGraph.
func (g *Graph) Validate() error {
	_, err := planGraph(g)
	return err
}

// graphPlan is a validated graph with its edges.
type graphPlan struct {
	g        *Graph
	parents  []int      // thunk i waits for this many other thunks
	children [][]int    // thunks that read what thunk i writes
	writes   [][]string // keys thunk i writes
	inputs   []string   // keys read that no thunk writes, sorted
	lambdas  []string   // inputs that are lambdas, sorted
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidGraph, fmt.Sprintf(format, args...))
}

// planGraph validates g and derives its edges.
func planGraph(g *Graph) (*graphPlan, error) {
	if len(g.Thunks) == 0 {
		return nil, invalid("no thunks")
	}
	p := &graphPlan{g: g, parents: make([]int, len(g.Thunks)), children: make([][]int, len(g.Thunks)), writes: make([][]string, len(g.Thunks))}
	ids := make(map[string]int, len(g.Thunks))
	writer := make(map[string]int)
	for i := range g.Thunks {
		t := &g.Thunks[i]
		if err := checkThunk(t); err != nil {
			return nil, invalid("thunk %d %q: %v", i, t.ID, err)
		}
		if j, ok := ids[t.ID]; ok {
			return nil, invalid("thunk id %q used twice (thunks %d and %d)", t.ID, j, i)
		}
		ids[t.ID] = i
		p.writes[i] = t.writes()
		for _, k := range p.writes[i] {
			if j, ok := writer[k]; ok {
				return nil, invalid("key %q written by two thunks, %q and %q", k, g.Thunks[j].ID, t.ID)
			}
			writer[k] = i
		}
	}
	inputs, lambdas := make(map[string]bool), make(map[string]bool)
	for i := range g.Thunks {
		t := &g.Thunks[i]
		var from []int
		for _, k := range t.reads() {
			w, ok := writer[k]
			if !ok {
				inputs[k] = true
				if k == t.Lambda {
					lambdas[k] = true
				}
				continue
			}
			if !slices.Contains(from, w) {
				from = append(from, w)
				p.children[w] = append(p.children[w], i)
			}
		}
		p.parents[i] = len(from)
	}
	if cycle := p.findCycle(); cycle != nil {
		return nil, invalid("cycle: %s", strings.Join(cycle, " → "))
	}
	p.inputs = sortedKeys(inputs)
	p.lambdas = sortedKeys(lambdas)
	return p, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkThunk checks one thunk's fields.
func checkThunk(t *Thunk) error {
	switch {
	case t.ID == "":
		return errors.New("no id")
	case t.Lambda == "":
		return errors.New("no lambda")
	case t.Timeout < 0:
		return errors.New("negative timeout")
	case !t.Raw && len(t.Outputs) > 0:
		return errors.New("outputs are for raw mode; a runtime-mode thunk lists its keys in puts")
	case t.Raw && len(t.Puts) > 0:
		return errors.New("puts are for runtime mode; a raw-mode thunk declares outputs")
	case !t.Raw && len(t.Env) > 0:
		return errors.New("env is for raw mode only")
	}
	for _, d := range t.Deps {
		if d.Key == "" {
			return errors.New("a dep without a key")
		}
		if t.Raw && !d.AsFile {
			return fmt.Errorf("dep %q: raw mode has no stdin: set as_file", d.Key)
		}
	}
	for _, o := range t.Outputs {
		if o.File == "" || o.Key == "" {
			return fmt.Errorf("output %q=%q: want both file and key", o.File, o.Key)
		}
		if _, err := outputPerm(o.Perm); err != nil {
			return fmt.Errorf("output %q: %w", o.Key, err)
		}
	}
	seen := make(map[string]bool)
	for _, k := range t.writes() {
		if k == "" {
			return errors.New("an empty key in puts")
		}
		if seen[k] {
			return fmt.Errorf("key %q written twice", k)
		}
		seen[k] = true
	}
	return nil
}

// outputPerm parses an output's perm; blank means r.
func outputPerm(s string) (Perm, error) {
	if s == "" {
		return PermR, nil
	}
	return ParsePerm(s)
}

// writes lists the keys t stores.
func (t *Thunk) writes() []string {
	out := slices.Clone(t.Puts)
	for _, o := range t.Outputs {
		out = append(out, o.Key)
	}
	return out
}

// reads lists the keys t reads: its lambda and its deps. A thunk may run
// a binary that another thunk built.
func (t *Thunk) reads() []string {
	out := []string{t.Lambda}
	for _, d := range t.Deps {
		out = append(out, d.Key)
	}
	return out
}

// findCycle returns the ids of a cycle, first repeated last, or nil when
// the thunks form a DAG.
func (p *graphPlan) findCycle() []string {
	left := slices.Clone(p.parents)
	var queue []int
	for i, n := range left {
		if n == 0 {
			queue = append(queue, i)
		}
	}
	seen := 0
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		seen++
		for _, c := range p.children[i] {
			if left[c]--; left[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if seen == len(left) {
		return nil
	}
	// Every thunk still waiting has a parent still waiting: walk back
	// through such parents until one repeats.
	parentsOf := make([][]int, len(left))
	for i, cs := range p.children {
		for _, c := range cs {
			parentsOf[c] = append(parentsOf[c], i)
		}
	}
	start := slices.IndexFunc(left, func(n int) bool { return n > 0 })
	pos := map[int]int{}
	var path []int
	for i := start; ; {
		if at, ok := pos[i]; ok {
			path = append(path[at:], i)
			break
		}
		pos[i] = len(path)
		path = append(path, i)
		for _, q := range parentsOf[i] {
			if left[q] > 0 {
				i = q
				break
			}
		}
	}
	slices.Reverse(path) // parent → child order
	ids := make([]string, len(path))
	for k, i := range path {
		ids[k] = p.g.Thunks[i].ID
	}
	return ids
}

// checkInputs checks that the keys the graph reads and no thunk writes
// exist, and that those run as lambdas are executable.
func checkInputs(ctx context.Context, c *Client, p *graphPlan) error {
	if len(p.inputs) == 0 {
		return nil
	}
	infos, err := c.Stat(ctx, p.inputs...)
	if err != nil {
		return fmt.Errorf("stat the graph's inputs: %w", err)
	}
	var missing, notExec []string
	for _, in := range infos {
		switch {
		case !in.Found:
			missing = append(missing, in.Key)
		case Perm(in.Perm)&PermX == 0:
			if _, ok := slices.BinarySearch(p.lambdas, in.Key); ok {
				notExec = append(notExec, in.Key)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %d keys that no thunk writes are not in the store: %s", ErrMissingInputs, len(missing), quoteList(missing, 10))
	}
	if len(notExec) > 0 {
		return fmt.Errorf("lambdas without the execute permission: %s: %w", quoteList(notExec, 10), ErrNotExecutable)
	}
	return nil
}

// quoteList quotes up to n keys and counts the rest.
func quoteList(keys []string, n int) string {
	var b strings.Builder
	for i, k := range keys {
		if i == n {
			fmt.Fprintf(&b, " and %d more", len(keys)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", k)
	}
	return b.String()
}
