package main

import (
	"context"
)

// benchOp performs operation i of a worker.
type benchOp func(ctx context.Context, w *benchWorker, i int) error

var benchOps = map[string]benchOp{
	"create": opCreate,
	"mkdir":  opMkdir,
	"stat":   opStat,
	"unlink": func(ctx context.Context, w *benchWorker, i int) error { return w.c.Remove(ctx, w.live[i]) },
	"rename": func(ctx context.Context, w *benchWorker, i int) error {
		return w.c.Rename(ctx, w.live[i], w.newName("r"), 0)
	},
	"readdir": opReaddir,
	"mixed":   opMixed,
}

func opCreate(ctx context.Context, w *benchWorker, _ int) error {
	p := w.newName("f")
	_, err := w.c.Create(ctx, p, 0o644, true)
	if err == nil {
		w.live = append(w.live, p)
	}
	return err
}

func opMkdir(ctx context.Context, w *benchWorker, _ int) error {
	_, err := w.c.Mkdir(ctx, w.newName("d"), 0o755)
	return err
}

func opStat(ctx context.Context, w *benchWorker, i int) error {
	if len(w.live) == 0 {
		return opCreate(ctx, w, i)
	}
	_, err := w.c.Stat(ctx, w.live[i%len(w.live)])
	return err
}

func opReaddir(ctx context.Context, w *benchWorker, _ int) error {
	_, err := w.c.ReadDir(ctx, w.dir)
	return err
}

// opMixed is 70% stat, 15% create, 5% unlink, 5% rename, 5% readdir, on the
// worker's own files.
func opMixed(ctx context.Context, w *benchWorker, i int) error {
	r := w.rng.IntN(100)
	switch {
	case r < 70:
		return opStat(ctx, w, w.rng.IntN(max(len(w.live), 1)))
	case r < 85 || len(w.live) == 0:
		return opCreate(ctx, w, i)
	case r < 90:
		p := w.live[len(w.live)-1]
		w.live = w.live[:len(w.live)-1]
		return w.c.Remove(ctx, p)
	case r < 95:
		k := w.rng.IntN(len(w.live))
		to := w.newName("r")
		err := w.c.Rename(ctx, w.live[k], to, 0)
		if err == nil {
			w.live[k] = to
		}
		return err
	}
	return opReaddir(ctx, w, i)
}
