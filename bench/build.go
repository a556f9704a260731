package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// buildCommands compiles ./cmd/NAME from the geomds module at src into dir
// for each name, and returns the binaries in the same order.
func buildCommands(ctx context.Context, src, dir string, names ...string) ([]string, error) {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	var bins []string
	for _, n := range names {
		args = append(args, "./cmd/"+n)
		bins = append(bins, filepath.Join(dir, n))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), src, err, out)
	}
	return bins, nil
}

// loadAvg is the 1, 5 and 15 minute load averages, for the report: the
// machine is shared, and every figure depends on what else ran.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
