package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// row is one operation at one level: each system's figures, and
// geomds ops/s over etcd ops/s when both ran.
type row struct {
	Op      string       `json:"op"`
	Clients int          `json:"clients"`
	Geomds  *phaseResult `json:"geomds,omitempty"`
	Etcd    *phaseResult `json:"etcd,omitempty"`
	Ratio   float64      `json:"ratio,omitempty"`
}

func (r *row) set(sys string, res phaseResult) {
	if sys == "geomds" {
		r.Geomds = &res
	} else {
		r.Etcd = &res
	}
}

func (r row) withRatio() row {
	if r.Geomds != nil && r.Etcd != nil && r.Etcd.OpsPerSec > 0 {
		r.Ratio = r.Geomds.OpsPerSec / r.Etcd.OpsPerSec
	}
	return r
}

// floor sets the single-client create latency beside what it cannot beat.
type floor struct {
	GeomdsP50Ms float64 `json:"geomds_p50_ms,omitempty"`
	EtcdP50Ms   float64 `json:"etcd_p50_ms,omitempty"`
	FloorMs     float64 `json:"floor_ms"` // 2 loopback RTT + 1 fsync
	RTTMs       float64 `json:"rtt_ms"`
	FsyncMs     float64 `json:"fsync_ms"`
}

// report is a whole run: the -o json document.
type report struct {
	Started time.Time `json:"started"`
	Ops     int       `json:"ops_per_phase"`
	Only    string    `json:"only"`
	Probes  []probes  `json:"probes"`
	Rows    []row     `json:"rows"`
	Floor   *floor    `json:"single_client_create,omitempty"`
}

// write prints the report to stdout and appends the markdown to o.out.
func (rep *report) write(o options) error {
	rep.Floor = rep.singleClientFloor()
	md := rep.markdown()
	if o.format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Print(md)
	}
	if o.out == "" {
		return nil
	}
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, md+"\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// singleClientFloor pairs the 1-client create row with that level's probes.
func (rep *report) singleClientFloor() *floor {
	for _, p := range rep.Probes {
		if p.Clients != 1 {
			continue
		}
		fl := &floor{FloorMs: p.createFloorMs(), RTTMs: p.RTTMs, FsyncMs: p.FsyncMs}
		for _, r := range rep.Rows {
			if r.Op == "create" && r.Clients == 1 {
				fl.GeomdsP50Ms, fl.EtcdP50Ms = p50(r.Geomds), p50(r.Etcd)
			}
		}
		return fl
	}
	return nil
}

func p50(r *phaseResult) float64 {
	if r == nil {
		return 0
	}
	return r.P50Ms
}
