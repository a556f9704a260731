package main

import (
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50.
	line := "1234 (geomds (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 2000000 500\n"
	if d, err := statCPU(line); err != nil || d != 3*time.Second {
		t.Fatalf("statCPU = %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"1234 geomds S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0"} {
		if _, err := statCPU(bad); err == nil {
			t.Errorf("statCPU(%q): no error", bad)
		}
	}
}

func TestPerOp(t *testing.T) {
	r := phaseResult{Ops: 1000, Errors: 0}
	r.perOp(cpuSample{server: time.Second, client: 0, ok: true}, cpuSample{server: 3 * time.Second, client: time.Second, ok: true})
	if r.ServerCPUUs != 2000 || r.ClientCPUUs != 1000 {
		t.Fatalf("per op %v + %v µs, want 2000 + 1000", r.ServerCPUUs, r.ClientCPUUs)
	}
	var none phaseResult
	none.Ops = 10
	none.perOp(cpuSample{}, cpuSample{ok: true})
	if none.ServerCPUUs != 0 {
		t.Fatal("a failed sample gave a figure")
	}
}
