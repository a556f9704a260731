package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the operation failed
	exitUsage = 2 // the command line was wrong
)

// run executes one command line and returns its exit code. It is main
// without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newApp(stdout, stderr)
	root := a.rootCommand()
	markRunErrors(root)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.close()
	var re runError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &re):
		if !re.reported {
			fmt.Fprintf(stderr, "geomdsctl: %v\n", re.err)
		}
		return exitError
	}
	fmt.Fprintf(stderr, "geomdsctl: %v\nRun 'geomdsctl --help' for usage.\n", err)
	return exitUsage
}

// usageError is a command-line mistake found while running (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runError is an operation failure (exit 1); reported means it was already
// printed (commands that go on after a failed path).
type runError struct {
	err      error
	reported bool
}

func (e runError) Error() string { return e.err.Error() }

// errReported ends a command whose failures have been printed one by one.
var errReported = runError{err: errors.New("failed"), reported: true}

// markRunErrors wraps every RunE so its errors count as operation failures;
// errors from cobra itself (unknown command or flag, wrong arguments) and
// usageErrors stay usage errors.
func markRunErrors(cmd *cobra.Command) {
	if runE := cmd.RunE; runE != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := runE(c, args)
			var ue usageError
			var re runError
			if err == nil || errors.As(err, &ue) || errors.As(err, &re) {
				return err
			}
			return runError{err: err}
		}
	}
	for _, sub := range cmd.Commands() {
		markRunErrors(sub)
	}
}
