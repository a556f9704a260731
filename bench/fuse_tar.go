//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// prepareTarball returns the tarball to extract: src itself when it is a
// file, else src (default: the Go source tree) tarred once into dir. desc
// says how many entries and bytes it holds.
func prepareTarball(ctx context.Context, src, dir string) (string, string, error) {
	if src == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
		if err != nil {
			return "", "", fmt.Errorf("go env GOROOT: %w", err)
		}
		src = filepath.Join(strings.TrimSpace(string(out)), "src")
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", "", err
	}
	tarball := src
	if st.IsDir() {
		tarball = filepath.Join(dir, filepath.Base(src)+".tar")
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", "", err
		}
		cmd := exec.CommandContext(ctx, "tar", "-cf", tarball, "-C", filepath.Dir(abs), filepath.Base(abs))
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("tar -cf %s: %v: %s", tarball, err, firstLines(out, 5))
		}
	}
	desc, err := describeTarball(ctx, tarball, src)
	return tarball, desc, err
}

// describeTarball counts the entries of tarball and gives its size.
func describeTarball(ctx context.Context, tarball, src string) (string, error) {
	out, err := exec.CommandContext(ctx, "tar", "-tf", tarball).Output()
	if err != nil {
		return "", fmt.Errorf("tar -tf %s: %w", tarball, err)
	}
	st, err := os.Stat(tarball)
	if err != nil {
		return "", err
	}
	n := bytes.Count(out, []byte("\n"))
	return fmt.Sprintf("%s: %d entries, %.0f MB tarred", src, n, float64(st.Size())/1e6), nil
}

// extractTar times `tar -xf tarball -C dst` (dst is made first, untimed).
func extractTar(ctx context.Context, tarball, dst string) (time.Duration, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", dst).CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, fmt.Errorf("tar -xf into %s: %v: %s", dst, err, firstLines(out, 5))
	}
	return elapsed, nil
}

// firstLines is the first n lines of a command's output, for an error.
func firstLines(out []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", n+1)
	if len(lines) > n {
		lines[n] = "..."
	}
	return strings.Join(lines, "\n")
}
