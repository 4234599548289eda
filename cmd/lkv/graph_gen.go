package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
)

// defaultBurnKey is where lkv graph gen expects (or, with --lambda-file,
// stores) cmd/lambdas/c/burn.c.
const defaultBurnKey = "lkv-graph/burn"

// genParams describe a synthetic graph. The same params give the same
// graph and the same objects, byte for byte.
type genParams struct {
	Thunks    int           // in all
	Layers    int           // thunks are spread evenly over the layers
	FanIn     int           // deps per thunk, besides the shared object
	Inputs    int           // input objects that layer 0 reads; 0: layer 0's thunks × FanIn
	SizeDist  string        // fixed, uniform or lognormal
	SizeMean  int64         // mean size of inputs and outputs, bytes
	SizeSigma float64       // lognormal: σ of the underlying normal
	Shared    int64         // size of the object every thunk reads; 0: none
	Compute   time.Duration // CPU time of each thunk
	Seed      uint64
	Prefix    string // of every key; blank: derived from the other params
	Lambda    string // key of the burn lambda
}

// genObject is an object the graph reads that no thunk writes.
type genObject struct {
	Key  string
	Size int64
}

// check validates the params and says which flag is wrong.
func (p *genParams) check() error {
	switch {
	case p.Thunks < 1:
		return fmt.Errorf("--thunks %d: want at least 1", p.Thunks)
	case p.Layers < 1 || p.Layers > p.Thunks:
		return fmt.Errorf("--layers %d: want 1 to --thunks (%d)", p.Layers, p.Thunks)
	case p.FanIn < 1:
		return fmt.Errorf("--fan-in %d: want at least 1", p.FanIn)
	case p.Inputs < 0:
		return fmt.Errorf("--inputs %d: must not be negative", p.Inputs)
	case p.SizeDist != "fixed" && p.SizeDist != "uniform" && p.SizeDist != "lognormal":
		return fmt.Errorf("--size-dist %q: want fixed, uniform or lognormal", p.SizeDist)
	case p.SizeSigma <= 0 || p.SizeSigma > 10:
		return fmt.Errorf("--size-sigma %v: want more than 0, at most 10", p.SizeSigma)
	case p.Compute < 0:
		return fmt.Errorf("--compute %v: must not be negative", p.Compute)
	case p.Lambda == "":
		return errors.New("--lambda: empty key")
	}
	return nil
}

// prefix returns the key prefix: the one given, or one derived from the
// params, so that graphs made with other params never share keys (they
// are immutable) and the same params reuse them.
func (p *genParams) prefix() string {
	if p.Prefix != "" {
		return p.Prefix
	}
	q := *p
	q.Prefix = ""
	b, _ := json.Marshal(q)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("gg-%x/", sum[:4])
}

// layerSizes spreads n thunks over k layers, the first ones taking the
// remainder.
func layerSizes(n, k int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}

// generate builds the graph and lists the objects it reads: layer 0 reads
// FanIn inputs each, every later layer FanIn outputs of the layer before,
// and every thunk the shared object. Deps are dealt from a shuffled deck
// so that each input and output is read at least once where the counts
// allow.
func generate(p genParams) (*client.Graph, []genObject) {
	rng := rand.New(rand.NewPCG(p.Seed, 0x6c6b762d67726170))
	prefix := p.prefix()
	sizes := layerSizes(p.Thunks, p.Layers)
	var objects []genObject
	shared := ""
	if p.Shared > 0 {
		shared = prefix + "toolchain"
		objects = append(objects, genObject{Key: shared, Size: p.Shared})
	}
	nIn := p.Inputs
	if nIn == 0 {
		nIn = sizes[0] * p.FanIn
	}
	var prev []string // keys the next layer reads from
	for i := range nIn {
		k := fmt.Sprintf("%sin/%05d", prefix, i)
		objects = append(objects, genObject{Key: k, Size: p.size(rng)})
		prev = append(prev, k)
	}
	g := &client.Graph{}
	for layer, n := range sizes {
		deck := newDeck(prev, rng)
		var outs []string
		for i := range n {
			out := fmt.Sprintf("%sobj/%d/%05d", prefix, layer, i)
			th := burnThunkFor(fmt.Sprintf("L%d-%d", layer, i), p, p.size(rng), out, shared, deck.deal(p.FanIn))
			g.Thunks = append(g.Thunks, th)
			outs = append(outs, out)
		}
		prev = outs
	}
	return g, objects
}

// burnThunkFor is a thunk running burn: it reads the shared object (if
// any) and deps, and writes size bytes to out.
func burnThunkFor(id string, p genParams, size int64, out, shared string, deps []string) client.Thunk {
	th := client.Thunk{
		ID: id, Lambda: p.Lambda, Raw: true,
		Args:    []string{strconv.FormatInt(p.Compute.Milliseconds(), 10), strconv.FormatInt(size, 10), "out"},
		Outputs: []client.GraphOutput{{File: "out", Key: out}},
	}
	if shared != "" {
		th.Args = append(th.Args, "toolchain")
		th.Deps = append(th.Deps, client.GraphDep{Key: shared, AsFile: true, Name: "toolchain"})
	}
	for i, d := range deps {
		name := "d" + strconv.Itoa(i)
		th.Args = append(th.Args, name)
		th.Deps = append(th.Deps, client.GraphDep{Key: d, AsFile: true, Name: name})
	}
	return th
}

// size draws an object size from the distribution.
func (p *genParams) size(rng *rand.Rand) int64 {
	mean := float64(p.SizeMean)
	var v float64
	switch p.SizeDist {
	case "uniform":
		v = rng.Float64() * 2 * mean
	case "lognormal":
		// exp(N(μ, σ²)) has mean exp(μ + σ²/2).
		mu := math.Log(max(mean, 1)) - p.SizeSigma*p.SizeSigma/2
		v = math.Exp(mu + p.SizeSigma*rng.NormFloat64())
	default:
		v = mean
	}
	return int64(min(math.Round(v), maxGenSize))
}

// maxGenSize caps a drawn size at the nodes' default value limit.
const maxGenSize = 256 << 20

// deck deals keys in a shuffled order, reshuffling when it runs out, and
// never deals one key twice to the same thunk.
type deck struct {
	keys []string
	next int
	rng  *rand.Rand
}

func newDeck(keys []string, rng *rand.Rand) *deck {
	d := &deck{keys: append([]string(nil), keys...), rng: rng}
	d.shuffle()
	return d
}

func (d *deck) shuffle() {
	d.rng.Shuffle(len(d.keys), func(i, j int) { d.keys[i], d.keys[j] = d.keys[j], d.keys[i] })
	d.next = 0
}

func (d *deck) deal(n int) []string {
	n = min(n, len(d.keys))
	var out []string
	for len(out) < n {
		if d.next == len(d.keys) {
			d.shuffle()
		}
		k := d.keys[d.next]
		d.next++
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// objectBytes returns the contents of a generated object: a ChaCha8
// stream keyed by the seed and the object's key.
func objectBytes(seed uint64, o genObject) []byte {
	var key [32]byte
	h := sha256.Sum256([]byte(o.Key))
	copy(key[:], h[:])
	binary.LittleEndian.PutUint64(key[:8], binary.LittleEndian.Uint64(key[:8])^seed)
	b := make([]byte, o.Size)
	_, _ = rand.NewChaCha8(key).Read(b) // never fails
	return b
}

// genFlags are lkv graph gen's options.
type genFlags struct {
	p          genParams
	sizeMean   string
	shared     string
	out        string
	put        bool
	lambdaFile string
}

func (a *app) graphGenCommand() *cobra.Command {
	var f genFlags
	cmd := &cobra.Command{
		Use:   "gen [flags] [-o FILE.json] [--put [--lambda-file BURN]]",
		Short: "Write a synthetic build-like graph of thunks; --put also stores its inputs",
		Long: `Write a synthetic graph shaped like a build (gg): --thunks thunks in --layers
layers; a thunk of layer 0 reads --fan-in input objects, a thunk of a later
layer --fan-in outputs of the layer before, and every thunk reads one large
shared object (--shared-size, the toolchain). Each thunk runs the burn
lambda (cmd/lambdas/c/burn.c) in raw mode: it reads its inputs, uses
--compute of CPU time and writes an output. Input and output sizes follow
--size-dist with mean --size. The same flags and --seed give the same
graph and objects; keys start with --prefix (default: derived from the
flags).

--put stores the inputs, the shared object and, with --lambda-file, the
burn binary (built with gcc -static -O2 -o burn cmd/lambdas/c/burn.c) in
the cluster at --addr, so that "lkv graph run FILE.json" can run it.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.graphGen(cmd, &f) },
	}
	fs := cmd.Flags()
	fs.IntVar(&f.p.Thunks, "thunks", 100, "thunks in the graph")
	fs.IntVar(&f.p.Layers, "layers", 3, "layers (depth): layer i reads the outputs of layer i-1")
	fs.IntVar(&f.p.FanIn, "fan-in", 4, "deps of each thunk, besides the shared object")
	fs.IntVar(&f.p.Inputs, "inputs", 0, "input objects layer 0 reads (default: its thunks × fan-in, each read once)")
	fs.StringVar(&f.p.SizeDist, "size-dist", "lognormal", "distribution of input and output sizes: fixed, uniform (0 to 2×mean) or lognormal")
	fs.StringVar(&f.sizeMean, "size", "64KiB", "mean size of inputs and outputs")
	fs.Float64Var(&f.p.SizeSigma, "size-sigma", 1, "lognormal: σ of the underlying normal (larger: more spread)")
	fs.StringVar(&f.shared, "shared-size", "32MiB", "size of the object every thunk reads (the toolchain); 0 for none")
	fs.DurationVar(&f.p.Compute, "compute", 50*time.Millisecond, "CPU time of each thunk (ms resolution)")
	fs.Uint64Var(&f.p.Seed, "seed", 1, "random seed: the same flags and seed give the same graph")
	fs.StringVar(&f.p.Prefix, "prefix", "", "prefix of every key (default: gg-HASH/, from the flags)")
	fs.StringVar(&f.p.Lambda, "lambda", defaultBurnKey, "key of the burn lambda")
	fs.StringVarP(&f.out, "output", "o", "-", "write the graph to `FILE` (- for stdout)")
	fs.BoolVar(&f.put, "put", false, "store the graph's inputs, shared object and (with --lambda-file) lambda in the cluster")
	fs.StringVar(&f.lambdaFile, "lambda-file", "", "with --put: upload this `FILE` (a static build of burn.c) as --lambda")
	return cmd
}

func (a *app) graphGen(cmd *cobra.Command, f *genFlags) error {
	var err error
	if f.p.SizeMean, err = parseSize(f.sizeMean); err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	if f.p.Shared, err = parseSize(f.shared); err != nil {
		return fmt.Errorf("--shared-size: %w", err)
	}
	if err := f.p.check(); err != nil {
		return err
	}
	if f.lambdaFile != "" && !f.put {
		return usageErrorf("--lambda-file needs --put")
	}
	g, objects := generate(f.p)
	if err := g.Validate(); err != nil {
		return fmt.Errorf("generated graph: %w", err) // a bug here
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if f.out == "-" {
		if _, err := a.stdout.Write(b); err != nil {
			return err
		}
	} else if err := os.WriteFile(f.out, b, 0o644); err != nil {
		return err
	}
	var total int64
	for _, o := range objects {
		total += o.Size
	}
	stored := "not stored: use --put"
	if f.put {
		if err := a.putGenerated(cmd, f, objects); err != nil {
			return err
		}
		stored = "stored"
	}
	fmt.Fprintf(a.stderr, "lkv graph gen: %d thunks in %d layers; %d objects to read (%s) under %s, %s\n",
		len(g.Thunks), f.p.Layers, len(objects), fmtBytes(total), f.p.prefix(), stored)
	return nil
}

// putGenerated stores the lambda and the objects in the cluster.
func (a *app) putGenerated(cmd *cobra.Command, f *genFlags, objects []genObject) error {
	ctx, c, done, err := a.dial(cmd, a.longTimeout())
	if err != nil {
		return err
	}
	defer done()
	if err := a.putLambda(ctx, c, f.p.Lambda, f.lambdaFile); err != nil {
		return err
	}
	return putObjects(ctx, c, f.p.Seed, objects)
}

// putLambda uploads the burn binary, or checks that it is there.
func (a *app) putLambda(ctx context.Context, c *client.Client, key, file string) error {
	if file == "" {
		infos, err := c.Stat(ctx, key)
		if err != nil {
			return err
		}
		if !infos[0].Found {
			return fmt.Errorf("lambda %q is not in the store: build it (gcc -static -O2 -o burn cmd/lambdas/c/burn.c) and add --lambda-file burn", key)
		}
		return nil
	}
	bin, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := c.Put(ctx, key, bin, client.WithPerm(client.PermRX)); err != nil {
		if errors.Is(err, client.ErrReadOnly) {
			return &keyError{key: key, err: err, hint: "another binary is stored there: pick another --lambda"}
		}
		return &keyError{key: key, err: err}
	}
	return nil
}

// putObjects stores the objects immutably, several at a time.
func putObjects(ctx context.Context, c *client.Client, seed uint64, objects []genObject) error {
	const window = 64 << 20 // bytes in flight
	type put struct {
		key  string
		size int64
		f    *client.Future[uint64]
	}
	var inflight []put
	var bytes int64
	wait := func() error {
		p := inflight[0]
		inflight = inflight[1:]
		bytes -= p.size
		if _, err := p.f.Wait(); err != nil {
			if errors.Is(err, client.ErrReadOnly) {
				return &keyError{key: p.key, err: err, hint: "it holds other bytes: pick another --prefix"}
			}
			return &keyError{key: p.key, err: err}
		}
		return nil
	}
	for _, o := range objects {
		for len(inflight) > 0 && bytes+o.Size > window {
			if err := wait(); err != nil {
				return err
			}
		}
		f := c.PutAsync(ctx, o.Key, objectBytes(seed, o), client.WithPerm(client.PermR))
		inflight = append(inflight, put{o.Key, o.Size, f})
		bytes += o.Size
	}
	for len(inflight) > 0 {
		if err := wait(); err != nil {
			return err
		}
	}
	return nil
}
