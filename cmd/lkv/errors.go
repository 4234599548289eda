package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
)

// usageError is a command line that does not parse: a wrong number of
// arguments, an unknown flag or a flag value of the wrong type. Only these
// print the command's usage.
type usageError struct {
	err error
	cmd *cobra.Command // the command whose usage to print; nil means none
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exactArgs is cobra.ExactArgs with a usage error and a readable message.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return rangeArgs(n, n, names)
}

// rangeArgs accepts between lo and hi arguments (hi < 0: no limit).
func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || (hi >= 0 && len(args) > hi) {
			return &usageError{err: fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), names, len(args)), cmd: cmd}
		}
		return nil
	}
}

// exitStatus reports err (one line on stderr; usage errors add the usage)
// and returns the process's exit status.
func (a *app) exitStatus(root *cobra.Command, err error) int {
	if err == nil {
		if a.code != nil {
			return *a.code
		}
		return 0
	}
	fmt.Fprintf(a.stderr, "lkv: %s\n", oneLine(describe(err)))
	var ue *usageError
	if errors.As(err, &ue) {
		cmd := ue.cmd
		if cmd == nil {
			cmd = root
		}
		fmt.Fprint(a.stderr, cmd.UsageString())
	}
	return 1
}

// sentinels are the client's errors in the order describe checks them;
// the text is what the user sees before the detail.
var sentinels = []struct {
	err  error
	text string
}{
	{client.ErrUnauthorized, "unauthorized"},
	{client.ErrNotFound, "not found"},
	{client.ErrReadOnly, "read-only"},
	{client.ErrNotExecutable, "not executable"},
	{client.ErrExecFailed, "execution failed"},
	{client.ErrBadRequest, "bad request"},
	{client.ErrTooLarge, "too large"},
	{client.ErrBusy, "busy"},
	{client.ErrTimeout, "timeout"},
	{client.ErrUnavailable, "unavailable"},
	{client.ErrInternal, "internal error"},
	{client.ErrMoved, "moved"},
	{client.ErrTryAgain, "try again"},
}

// keyError is an error about one key; describe names the key.
type keyError struct {
	key  string
	hint string // appended for some errors, e.g. "use --force"
	err  error
}

func (e *keyError) Error() string { return fmt.Sprintf("key %q: %v", e.key, e.err) }
func (e *keyError) Unwrap() error { return e.err }

// describe turns err into the message lkv prints after "lkv: ", such as
// `not found: key "x"` or `unauthorized: hello with a valid token required`.
func describe(err error) string {
	var ke *keyError
	keyed := errors.As(err, &ke)
	var se *client.StatusError
	isStatus := errors.As(err, &se)
	for _, s := range sentinels {
		if !errors.Is(err, s.err) {
			continue
		}
		switch {
		case keyed && (s.err == client.ErrNotFound || s.err == client.ErrReadOnly):
			msg := fmt.Sprintf("%s: key %q", s.text, ke.key)
			if ke.hint != "" {
				msg += " (" + ke.hint + ")"
			}
			return msg
		case isStatus && se.Message != "":
			msg := s.text + ": " + se.Message
			if keyed {
				msg = fmt.Sprintf("%s: key %q: %s", s.text, ke.key, se.Message)
			}
			return msg
		}
		return s.text
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout: no answer in time (raise --timeout)"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, client.ErrNoNodes):
		return strings.Replace(err.Error(), client.ErrNoNodes.Error(), "cannot reach the node", 1)
	}
	return err.Error()
}

// oneLine folds a multi-line message (errors.Join) into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "; ")
}
