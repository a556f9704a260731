package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/geomds/geomds/client"
)

// copyBuf is the size of one read or write against the cluster: a whole
// chunk, so uploads and downloads go a chunk at a time.
const copyBuf = client.ChunkSize

// progressMin: files smaller than this get no progress bar.
const progressMin = 8 << 20

func (a *app) putCommand() *cobra.Command {
	var mode uint32
	cmd := &cobra.Command{
		Use:   "put LOCAL PATH",
		Short: "copy a local file into the namespace (its data goes to the caller's site)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			src, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			fi, err := src.Stat()
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("put: %s is not a regular file", args[0])
			}
			dst, err := c.OpenFile(cmd.Context(), absPath(args[1]), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(mode))
			if err != nil {
				return err
			}
			n, err := a.copyWithProgress(fi.Size(), func(w *atomic.Int64) (int64, error) {
				return io.CopyBuffer(&fileWriter{f: dst, n: w}, src, make([]byte, copyBuf))
			})
			if cerr := dst.Close(); err == nil {
				err = cerr // Close commits the new contents
			}
			if err != nil {
				return fmt.Errorf("put %s: %w", args[1], err)
			}
			if a.json() {
				return a.printJSON(map[string]any{"path": absPath(args[1]), "bytes": n})
			}
			return nil
		},
	}
	cmd.Flags().Uint32Var(&mode, "mode", 0o644, "permission bits of a new file")
	return cmd
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get PATH LOCAL",
		Short: "copy a file out of the namespace (read from the nearest site that holds it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := os.Create(args[1])
			if err != nil {
				return err
			}
			err = a.download(cmd.Context(), absPath(args[0]), out)
			if serr := out.Sync(); err == nil {
				err = serr
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}

func (a *app) catCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cat PATH",
		Short: "write a file's contents to standard output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.download(cmd.Context(), absPath(args[0]), a.stdout)
		},
	}
}

func (a *app) download(ctx context.Context, path string, w io.Writer) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	f, err := c.OpenFile(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = a.copyWithProgress(int64(st.Size), func(n *atomic.Int64) (int64, error) {
		return io.CopyBuffer(&countingWriter{w: w, n: n}, io.NewSectionReader(f, 0, int64(st.Size)), make([]byte, copyBuf))
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// copyWithProgress runs copy with a progress bar on a terminal for big files.
func (a *app) copyWithProgress(total int64, copy func(*atomic.Int64) (int64, error)) (int64, error) {
	var done atomic.Int64
	stop := func() {}
	if total >= progressMin {
		stop = a.progress(total, &done)
	}
	n, err := copy(&done)
	stop()
	return n, err
}

// fileWriter appends to a File (which has WriteAt, not Write).
type fileWriter struct {
	f   *client.File
	off int64
	n   *atomic.Int64
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	w.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n.Add(int64(n))
	return n, err
}
