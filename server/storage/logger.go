package storage

import (
	"context"
	"fmt"
	"log/slog"
)

// pebbleLogger routes Pebble's log lines to slog. Pebble's informational
// chatter (WAL recovery, compactions) goes to Debug.
//
// Pebble calls Fatalf when it cannot continue (for example a failed WAL
// write or sync) and expects it not to return. Exiting is main's decision,
// so Fatalf panics with a fatalError instead; the engine recovers that panic
// on its own commit path and turns it into a sticky error (the replica then
// fail-stops). On Pebble's background goroutines the panic ends the
// process, which is the fail-stop Pebble asked for.
type pebbleLogger struct{ log *slog.Logger }

type fatalError struct {
	msg   string
	cause error // the first error among Fatalf's arguments, if any
}

func (f *fatalError) Error() string { return "pebble: " + f.msg }
func (f *fatalError) Unwrap() error { return f.cause }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "pebble", "fatal", true)
	f := &fatalError{msg: msg}
	for _, a := range args {
		if err, ok := a.(error); ok {
			f.cause = err
			break
		}
	}
	panic(f)
}
