package main

import (
	"fmt"
	"strings"
)

// markdown renders the report as a heading, the B0 probes, the B1 table
// and the single-client floor line.
func (rep *report) markdown() string {
	var b strings.Builder
	title := map[string]string{"both": "geomds vs etcd", "geomds": "geomds", "etcd": "etcd"}[rep.Only]
	fmt.Fprintf(&b, "### B1 mdtest-easy, %s, %s, %d ops per phase\n\n", title, rep.Started.Format("2006-01-02 15:04 UTC"), rep.Ops)
	for _, p := range rep.Probes {
		fmt.Fprintf(&b, "- B0 before %d clients: fsync %.3f ms, loopback gRPC RTT %.3f ms\n", p.Clients, p.FsyncMs, p.RTTMs)
	}
	b.WriteString("\n| op | clients | geomds ops/s | etcd ops/s | ratio | geomds p50/p99 ms | etcd p50/p99 ms | errors geomds/etcd | CPU µs/op geomds servers+clients | etcd servers+clients |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s/%s | %s | %s |\n", r.Op, r.Clients,
			opsCell(r.Geomds), opsCell(r.Etcd), ratioCell(r), latCell(r.Geomds), latCell(r.Etcd),
			errCell(r.Geomds), errCell(r.Etcd), cpuCell(r.Geomds), cpuCell(r.Etcd))
	}
	if fl := rep.Floor; fl != nil {
		fmt.Fprintf(&b, "\nsingle-client create p50: geomds %s ms, etcd %s ms; floor %.3f ms (2 × RTT %.3f + fsync %.3f)\n",
			msCell(fl.GeomdsP50Ms), msCell(fl.EtcdP50Ms), fl.FloorMs, fl.RTTMs, fl.FsyncMs)
	}
	return b.String()
}

func opsCell(r *phaseResult) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", r.OpsPerSec)
}

func ratioCell(r row) string {
	if r.Ratio == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.Ratio)
}

func latCell(r *phaseResult) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f / %.2f", r.P50Ms, r.P99Ms)
}

func errCell(r *phaseResult) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprint(r.Errors)
}

func cpuCell(r *phaseResult) string {
	if r == nil || r.ServerCPUUs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f + %.0f", r.ServerCPUUs, r.ClientCPUUs)
}

func msCell(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}
