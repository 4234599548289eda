package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
)

func (a *app) putCommand() *cobra.Command {
	var perm string
	var minReplicas int
	cmd := &cobra.Command{
		Use:   "put KEY [FILE|-]",
		Short: "Store a value read from FILE or stdin",
		Long: `Store the contents of FILE (or of stdin, with - or no FILE) under KEY.

--perm sets the key's permissions: rw (default), r (immutable), rx (an
immutable lambda: a static Linux executable) or rwx. A put that repeats an
immutable key's exact value and permissions succeeds; any other change of an
immutable key fails with "read-only".`,
		Args: rangeArgs(1, 2, "KEY and an optional FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := client.ParsePerm(perm)
			if err != nil {
				return err
			}
			if minReplicas < 0 {
				return fmt.Errorf("--min-replicas %d: must not be negative", minReplicas)
			}
			src := "-"
			if len(args) == 2 {
				src = args[1]
			}
			value, err := a.readValue(src)
			if err != nil {
				return err
			}
			ctx, c, done, err := a.dial(cmd, a.global.timeout)
			if err != nil {
				return err
			}
			defer done()
			err = c.Put(ctx, args[0], value, client.WithPerm(p), client.WithMinReplicas(minReplicas))
			if err != nil {
				return &keyError{key: args[0], hint: "it is immutable and holds another value or permission", err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&perm, "perm", "rw", "permissions: rw, r, rx or rwx")
	cmd.Flags().IntVar(&minReplicas, "min-replicas", 0, "wait until this many replicas applied the write")
	return cmd
}

// readValue reads a put's value from the file src, or from stdin when src
// is "-", holding it in memory once.
func (a *app) readValue(src string) ([]byte, error) {
	if src != "-" {
		b, err := os.ReadFile(src) // sized from the file's length: one buffer
		if err != nil {
			return nil, fmt.Errorf("read value: %w", err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	if f, ok := a.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	if _, err := buf.ReadFrom(a.stdin); err != nil {
		return nil, fmt.Errorf("read value from stdin: %w", err)
	}
	return buf.Bytes(), nil
}

func (a *app) getCommand() *cobra.Command {
	var out string
	var replicaOK bool
	cmd := &cobra.Command{
		Use:   "get KEY [-o FILE] [--replica-ok]",
		Short: "Print a value (raw bytes) or write it to a file",
		Args:  exactArgs(1, "one KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.global.replicaOK = replicaOK
			ctx, c, done, err := a.dial(cmd, a.global.timeout)
			if err != nil {
				return err
			}
			defer done()
			v, err := c.Get(ctx, args[0])
			if err != nil {
				return &keyError{key: args[0], err: err}
			}
			if out != "" && out != "-" {
				if err := os.WriteFile(out, v, 0o644); err != nil {
					return fmt.Errorf("write value: %w", err)
				}
				return nil
			}
			if _, err := a.stdout.Write(v); err != nil {
				return fmt.Errorf("write value: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the value to `FILE` instead of stdout")
	cmd.Flags().BoolVar(&replicaOK, "replica-ok", false, "a replica of the key's slot may answer (it may lag behind the master)")
	return cmd
}

func (a *app) delCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "del KEY [--force]",
		Short: "Delete a key",
		Long: `Delete KEY. An immutable key (one without w) is deleted only with --force,
which also evicts it from every node's cache.`,
		Aliases: []string{"delete", "rm"},
		Args:    exactArgs(1, "one KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, c, done, err := a.dial(cmd, a.global.timeout)
			if err != nil {
				return err
			}
			defer done()
			if err := c.Delete(ctx, args[0], force); err != nil {
				return &keyError{key: args[0], hint: "it is immutable; use --force", err: err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete an immutable key too")
	return cmd
}

// statJSON is one entry of lkv stat --json.
type statJSON struct {
	Key   string `json:"key"`
	Found bool   `json:"found"`
	Size  int64  `json:"size"`
	Perm  string `json:"perm"`
	Slot  int    `json:"slot"`
	Owner string `json:"owner"`
	Addr  string `json:"addr"`
}

func (a *app) statCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stat KEY...",
		Short: "Describe keys: found, size, permissions, slot and owner",
		Args:  rangeArgs(1, -1, "one or more KEYs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, c, done, err := a.dial(cmd, a.global.timeout)
			if err != nil {
				return err
			}
			defer done()
			infos, err := c.Stat(ctx, args...)
			if err != nil {
				return err
			}
			if asJSON {
				return a.printStatJSON(infos)
			}
			return a.printStatTable(infos)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (a *app) printStatJSON(infos []client.KeyInfo) error {
	out := make([]statJSON, len(infos))
	for i, in := range infos {
		out[i] = statJSON{Key: in.Key, Found: in.Found, Size: in.Size, Slot: in.Slot, Owner: in.Owner, Addr: in.Addr}
		if in.Found {
			out[i].Perm = client.Perm(in.Perm).String()
		}
	}
	return writeJSON(a.stdout, out)
}

func (a *app) printStatTable(infos []client.KeyInfo) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tFOUND\tSIZE\tPERM\tSLOT\tOWNER")
	for _, in := range infos {
		size, perm := "-", "-"
		if in.Found {
			size, perm = strconv.FormatInt(in.Size, 10), client.Perm(in.Perm).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", printable(in.Key), yesNo(in.Found), size, perm, in.Slot, dash(in.Owner))
	}
	return tw.Flush()
}

// printable quotes s when it holds characters a table cannot show.
func printable(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) || r == ' ' || r == '\t' {
			return strconv.Quote(s)
		}
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine writes v as compact JSON on one line.
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
