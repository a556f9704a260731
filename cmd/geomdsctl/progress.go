package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a bar of done/total on stderr while a bench runs, only
// when stderr is a terminal. The returned func stops it.
func (a *app) progress(total int64, done *atomic.Int64) (stop func()) {
	bar := func() string { return progressBar(done.Load(), total, 40) }
	return a.draw(bar, bar)
}

// draw redraws line() on stderr every 200 ms until stopped (nothing while
// it is empty), then ends with final() on the line, or clears the line
// when final() is empty and something was drawn; only when stderr is a
// terminal.
func (a *app) draw(line, final func() string) (stop func()) {
	if !isTerminal(a.stderr) {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		drawn := false
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				switch l := final(); {
				case l != "":
					a.warn("\r%s", l)
				case drawn:
					a.errMu.Lock()
					fmt.Fprint(a.stderr, "\r\x1b[K")
					a.errMu.Unlock()
				}
				return
			case <-tick.C:
				if l := line(); l != "" {
					drawn = true
					a.errMu.Lock()
					fmt.Fprintf(a.stderr, "\r%s", l)
					a.errMu.Unlock()
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// counter shows "verb N unit…" on stderr while a task of unknown size
// runs, once it has counted something and only when stderr is a terminal.
// The returned func stops it.
func (a *app) counter(verb, unit string, done *atomic.Int64) (stop func()) {
	line := func() string {
		if n := done.Load(); n > 0 {
			return fmt.Sprintf("%s %d %s…", verb, n, unit)
		}
		return ""
	}
	return a.draw(line, func() string { return "" })
}

// progressBar renders "[=====>    ]  50% 500/1000" with width cells.
func progressBar(done, total int64, width int) string {
	done = min(max(done, 0), total)
	filled := int(int64(width) * done / max(total, 1))
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("[%s] %3d%% %d/%d", bar, 100*done/max(total, 1), done, total)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
