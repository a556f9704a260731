package replica

import (
	"context"
	"fmt"
	"log/slog"
)

// raftLogger adapts slog to raft.Logger. Fatal panics instead of exiting:
// only main may exit, and raft treats Fatal as not returning.
type raftLogger struct{ l *slog.Logger }

func (g raftLogger) logf(level slog.Level, format string, v ...any) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (g raftLogger) Debug(v ...any)                 { g.logf(slog.LevelDebug, "%s", fmt.Sprint(v...)) }
func (g raftLogger) Debugf(format string, v ...any) { g.logf(slog.LevelDebug, format, v...) }
func (g raftLogger) Info(v ...any)                  { g.logf(slog.LevelInfo, "%s", fmt.Sprint(v...)) }
func (g raftLogger) Infof(format string, v ...any)  { g.logf(slog.LevelInfo, format, v...) }
func (g raftLogger) Warning(v ...any)               { g.logf(slog.LevelWarn, "%s", fmt.Sprint(v...)) }
func (g raftLogger) Warningf(format string, v ...any) {
	g.logf(slog.LevelWarn, format, v...)
}
func (g raftLogger) Error(v ...any)                 { g.logf(slog.LevelError, "%s", fmt.Sprint(v...)) }
func (g raftLogger) Errorf(format string, v ...any) { g.logf(slog.LevelError, format, v...) }
func (g raftLogger) Fatal(v ...any)                 { g.Panic(v...) }
func (g raftLogger) Fatalf(format string, v ...any) { g.Panicf(format, v...) }
func (g raftLogger) Panic(v ...any) {
	s := fmt.Sprint(v...)
	g.logf(slog.LevelError, "%s", s)
	panic(s)
}
func (g raftLogger) Panicf(format string, v ...any) {
	s := fmt.Sprintf(format, v...)
	g.logf(slog.LevelError, "%s", s)
	panic(s)
}
