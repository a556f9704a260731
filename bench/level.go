package main

import (
	"context"
	"fmt"
	"slices"
)

// benchOp is one B1 operation and how each session performs it.
type benchOp struct {
	name string
	fn   func(s session) opFunc
}

// benchOps run in this order at every level: stat reads what create made.
var benchOps = []benchOp{
	{"create", func(s session) opFunc { return s.create }},
	{"stat", func(s session) opFunc { return s.stat }},
}

// warmup runs ops untimed creates and stats on every system.
func (e *env) warmup(ctx context.Context, ops int) error {
	if ops < 1 {
		return nil
	}
	for _, sys := range e.systems {
		s, err := sys.open(ctx, "warmup", 8)
		if err != nil {
			return fmt.Errorf("%s warmup: %w", sys.name(), err)
		}
		for _, op := range benchOps {
			r := runPhase(ctx, 8, ops, op.fn(s))
			if r.Errors > 0 {
				logf("%s warmup %s: %d errors, first: %s", sys.name(), op.name, r.Errors, r.FirstErr)
			}
		}
		s.close()
	}
	return ctx.Err()
}

// runLevel runs every operation at n clients, the systems interleaved per
// operation; etcdFirst flips their order so neither always goes first.
func (e *env) runLevel(ctx context.Context, n, ops int, etcdFirst bool) ([]row, error) {
	systems := slices.Clone(e.systems)
	if etcdFirst {
		slices.Reverse(systems)
	}
	tag := fmt.Sprintf("c%d", n)
	sessions := map[string]session{}
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	for _, sys := range systems {
		s, err := sys.open(ctx, tag, n)
		if err != nil {
			return nil, fmt.Errorf("%s: connecting %d clients: %w", sys.name(), n, err)
		}
		sessions[sys.name()] = s
	}
	var rows []row
	for _, op := range benchOps {
		r := row{Op: op.name, Clients: n}
		for _, sys := range systems {
			cpu := cpuMeter{sys.pids()}
			before := cpu.sample()
			res := runPhase(ctx, n, ops, op.fn(sessions[sys.name()]))
			res.perOp(before, cpu.sample())
			r.set(sys.name(), res)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			logPhase(sys.name(), op.name, n, res)
		}
		if err := e.procs.firstExit(); err != nil {
			return nil, err
		}
		rows = append(rows, r.withRatio())
	}
	return rows, ctx.Err()
}

func logPhase(sys, op string, n int, r phaseResult) {
	logf("%s %s, %d clients: %.0f ops/s, p50 %.3f ms, p99 %.3f ms, %d errors, CPU per op %.0f µs servers + %.0f µs clients",
		sys, op, n, r.OpsPerSec, r.P50Ms, r.P99Ms, r.Errors, r.ServerCPUUs, r.ClientCPUUs)
	if r.FirstErr != "" {
		logf("%s %s, %d clients: first error: %s", sys, op, n, r.FirstErr)
	}
}
