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
	if !isTerminal(a.stderr) {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				a.warn("\r%s", progressBar(done.Load(), total, 40))
				return
			case <-tick.C:
				a.errMu.Lock()
				fmt.Fprintf(a.stderr, "\r%s", progressBar(done.Load(), total, 40))
				a.errMu.Unlock()
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
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
