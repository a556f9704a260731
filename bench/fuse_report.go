//go:build linux

package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// fuseReport is what the fuse mode prints.
type fuseReport struct {
	Started               time.Time
	LoadBefore, LoadAfter string
	Opts                  fuseOptions
	TarDesc               string
	Results               *fuseResults
}

// fuseRow is one line of the B8 table.
type fuseRow struct {
	metric, label, unit string
	lowerIsBetter       bool // a time rather than a rate
}

func (rep *fuseReport) rows() []fuseRow {
	o := rep.Opts
	var rows []fuseRow
	if o.want("seq") {
		cold := " (page cache dropped)"
		if !rep.Results.coldReads {
			cold = " (page cache NOT dropped)"
		}
		rows = append(rows,
			fuseRow{"write", fmt.Sprintf("sequential write %s + fsync", sizeString(o.size)), "MiB/s", false},
			fuseRow{"read", fmt.Sprintf("sequential read %s%s", sizeString(o.size), cold), "MiB/s", false})
	}
	if o.want("meta") {
		for _, op := range []string{"create", "stat", "unlink"} {
			label := fmt.Sprintf("%s %d empty files, %d workers", op, o.files, o.workers)
			if op == "stat" {
				label += " (kernel caches expired)"
			}
			rows = append(rows, fuseRow{op, label, "ops/s", false})
		}
	}
	if o.want("tar") {
		rows = append(rows, fuseRow{"tar", "tar -xf", "s", true})
	}
	return rows
}

var fuseTargetNames = []string{"geomds", "loopback", "local"}

// print writes the heading, the setup and the table to stdout.
func (rep *fuseReport) print() {
	var b strings.Builder
	o := rep.Opts
	fmt.Fprintf(&b, "### B8 FUSE overhead, %s, median of %d rounds (min–max); tar: %d\n\n", rep.Started.Format("2006-01-02 15:04 UTC"), o.rounds, o.tarRounds)
	mode := "chunks through the nodes' chunk service"
	if o.direct {
		mode = "`--site east --chunk-store` n1's store: chunks written and read there directly"
	}
	fmt.Fprintf(&b, "- targets: geomds = `geomdsctl mount` of 3 local `geomds serve` nodes (%s); loopback", mode)
	fmt.Fprintf(&b, " = go-fuse v2 `fs.NewLoopbackRoot` over a local directory, same mount options; local = that disk directly\n")
	if rep.TarDesc != "" {
		fmt.Fprintf(&b, "- tarball: %s\n", rep.TarDesc)
	}
	fmt.Fprintf(&b, "- load average before %s, after %s (2 cores)\n\n", rep.LoadBefore, rep.LoadAfter)
	b.WriteString("| workload | unit | geomds | loopback | local disk | geomds/loopback |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range rep.rows() {
		fmt.Fprintf(&b, "| %s | %s |", r.label, r.unit)
		for _, t := range fuseTargetNames {
			fmt.Fprintf(&b, " %s |", rep.cell(r, t))
		}
		fmt.Fprintf(&b, " %s |\n", rep.ratio(r))
	}
	b.WriteString("\ngeomds/loopback is the ratio of medians: of rates for MiB/s and ops/s (below 1 = geomds slower), of times for tar (above 1 = geomds slower).\n")
	for _, m := range slices.Sorted(maps.Keys(rep.Results.firstErr)) {
		fmt.Fprintf(&b, "- %s first failure: %s\n", m, rep.Results.firstErr[m])
	}
	fmt.Print(b.String())
}

func (rep *fuseReport) cell(r fuseRow, target string) string {
	v := rep.Results.vals[r.metric][target]
	s := "-"
	if len(v) > 0 {
		s = fmt.Sprintf("%s (%s–%s)", num(median(v)), num(slices.Min(v)), num(slices.Max(v)))
	}
	if n := rep.Results.errs[r.metric][target]; n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	return s
}

func (rep *fuseReport) ratio(r fuseRow) string {
	g, l := rep.Results.vals[r.metric]["geomds"], rep.Results.vals[r.metric]["loopback"]
	if len(g) == 0 || len(l) == 0 || median(l) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", median(g)/median(l))
}

// median of v (the mean of the middle two for an even count).
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// num prints a figure with three significant digits or more.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
