package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

func TestFormatLong(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	recent := time.Date(2025, 6, 3, 9, 7, 0, 0, time.UTC).UnixNano()
	old := time.Date(2023, 1, 2, 9, 7, 0, 0, time.UTC).UnixNano()
	entries := []longEntry{
		{name: "dir", attr: &pb.Attr{Mode: 0o040755, Nlink: 12, Uid: 0, Gid: 0, Size: 4096, MtimeNs: recent}},
		{name: "f", attr: &pb.Attr{Mode: 0o100644, Nlink: 1, Uid: 1000, Gid: 100, Size: 7, MtimeNs: old}},
		{name: "l", attr: &pb.Attr{Mode: 0o120777, Nlink: 1, Uid: 5, Gid: 5, Size: 3, MtimeNs: recent}, target: "f"},
	}
	want := []string{
		"drwxr-xr-x 12 0    0   4096 Jun  3 09:07 dir",
		"-rw-r--r--  1 1000 100    7 Jan  2  2023 f",
		"lrwxrwxrwx  1 5    5      3 Jun  3 09:07 l -> f",
	}
	got := formatLong(entries, now)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFormatStat(t *testing.T) {
	a := &pb.Attr{Ino: 42, Mode: 0o100640, Nlink: 2, Uid: 7, Gid: 8, Size: 10, MtimeNs: 1_500_000_000_000_000_001}
	out := formatStat("/x", "", a, time.UTC)
	for _, want := range []string{"  File: /x\n", "Inode: 42", "Links: 2", "Type: regular file",
		"Access: (0640/-rw-r-----)  Uid: 7  Gid: 8", "Modify: 2017-07-14 02:40:00.000000001 +0000"} {
		if !strings.Contains(out, want) {
			t.Errorf("stat output lacks %q:\n%s", want, out)
		}
	}
}

// The JSON documents have the documented shapes.
func TestJSONShapes(t *testing.T) {
	st := &pb.StatusReply{
		Nodes: []*pb.NodeStatus{{Name: "n1", Site: "east", Address: "h:1", Healthy: true, Role: "leader", Applied: 7, DiskBytes: 4096, RttNs: 1500000}},
		Shards: []*pb.ShardStatus{{Id: 1, Leader: "n1", Term: 3, Commit: 9, HomeSite: "east",
			Replicas: []*pb.ReplicaStatus{{Name: "n1", Role: "voter", Applied: 9, Match: 9, Healthy: true}}}},
	}
	cases := []struct {
		v    any
		want string
	}{
		{toStatusJSON(st), `{"nodes":[{"name":"n1","site":"east","address":"h:1","healthy":true,"role":"leader","applied":7,"lag":2,"disk_bytes":4096,"rtt_ms":1.5}],` +
			`"shards":[{"id":1,"leader":"n1","home_site":"east","replicas":[{"name":"n1","role":"voter","applied":9}]}]}`},
		{toStatusJSON(&pb.StatusReply{}), `{"nodes":[],"shards":[]}`},
		{benchResult{Op: "create", Clients: 2, Ops: 10, Errors: 1, OpsPerSec: 5.5, P50Ms: 1.25, P99Ms: 3},
			`{"op":"create","clients":2,"ops":10,"errors":1,"ops_per_sec":5.5,"p50_ms":1.25,"p99_ms":3}`},
		{toMemberJSON(&pb.Member{Id: 4, Name: "n4", Site: "west", Address: "h:4", Learner: true, CommandVersion: 2}),
			`{"id":4,"name":"n4","site":"west","address":"h:4","learner":true,"command_version":2,"low_space":false}`},
		{toMemberJSON(&pb.Member{Id: 2, Name: "n2", Site: "east", Address: "h:2", CommandVersion: 5, LowSpace: true, FreeBytes: 1 << 20}),
			`{"id":2,"name":"n2","site":"east","address":"h:2","learner":false,"command_version":5,"low_space":true,"free_bytes":1048576}`},
		{toAttrJSON(&pb.Attr{Ino: 3, Mode: 0o040750, Nlink: 2}),
			`{"ino":3,"type":"dir","mode":"0750","nlink":2,"uid":0,"gid":0,"size":0,` +
				`"atime":"1970-01-01T00:00:00Z","mtime":"1970-01-01T00:00:00Z","ctime":"1970-01-01T00:00:00Z"}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("json %s (%v)\nwant %s", b, err, tc.want)
		}
	}
}

func TestBenchStats(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(lat, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(lat, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(lat[:1], 0.99); p != time.Millisecond {
		t.Errorf("p99 of one = %v", p)
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of none")
	}
	w := []*benchWorker{{lat: lat[:60], errs: 2}, {lat: lat[60:]}}
	r := summarize(benchSpec{op: "stat", clients: 2}, w, 2*time.Second)
	if r.Ops != 100 || r.Errors != 2 || r.OpsPerSec != 49 || r.P50Ms != 50 || r.P99Ms != 99 {
		t.Errorf("summary %+v", r)
	}
	if got := progressBar(5, 10, 10); got != "[=====>    ]  50% 5/10" {
		t.Errorf("progress bar %q", got)
	}
	if got := progressBar(10, 10, 4); got != "[====] 100% 10/10" {
		t.Errorf("progress bar %q", got)
	}
	if n := setupFiles(benchSpec{op: "readdir", dir: "shared", clients: 3}, 5); n != 34 {
		t.Errorf("shared readdir setup %d", n)
	}
}

func TestParseOwner(t *testing.T) {
	cases := map[string][2]int{"5": {5, -1}, "5:6": {5, 6}, ":6": {-1, 6}, "5:": {5, -1}, "0:0": {0, 0}}
	for spec, want := range cases {
		u, g, err := parseOwner(spec)
		if err != nil || u != want[0] || g != want[1] {
			t.Errorf("parseOwner(%q) = %d %d %v", spec, u, g, err)
		}
	}
	for _, bad := range []string{"", ":", "no-such-user-xyz"} {
		if _, _, err := parseOwner(bad); err == nil {
			t.Errorf("parseOwner(%q) accepted", bad)
		}
	}
}
