package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// longEntry is one line of ls -l.
type longEntry struct {
	name   string
	attr   *pb.Attr
	target string // symlink target, "" when none
}

// formatLong renders entries as ls -l does, columns aligned: mode, links,
// owner, group (numeric), size, mtime, name [-> target]. Times within six
// months of now show the clock, older ones the year; all in now's zone.
func formatLong(entries []longEntry, now time.Time) []string {
	cols := make([][5]string, len(entries))
	var width [5]int
	for i, e := range entries {
		a := e.attr
		cols[i] = [5]string{modeString(a.GetMode()), strconv.FormatUint(uint64(a.GetNlink()), 10),
			strconv.FormatUint(uint64(a.GetUid()), 10), strconv.FormatUint(uint64(a.GetGid()), 10), sizeField(a)}
		for j, s := range cols[i] {
			width[j] = max(width[j], len(s))
		}
	}
	lines := make([]string, len(entries))
	for i, e := range entries {
		c := cols[i]
		line := fmt.Sprintf("%s %*s %-*s %-*s %*s %s %s", c[0], width[1], c[1], width[2], c[2],
			width[3], c[3], width[4], c[4], lsTime(time.Unix(0, e.attr.GetMtimeNs()), now), e.name)
		if e.target != "" {
			line += " -> " + e.target
		}
		lines[i] = line
	}
	return lines
}

// sizeField is the size column: major, minor for devices.
func sizeField(a *pb.Attr) string {
	if t := typeChar(a.GetMode()); t == 'c' || t == 'b' {
		return fmt.Sprintf("%d, %d", a.GetRdev()>>8&0xfff, a.GetRdev()&0xff|a.GetRdev()>>12&0xfff00)
	}
	return strconv.FormatUint(a.GetSize(), 10)
}

const sixMonths = 182 * 24 * time.Hour

func lsTime(t, now time.Time) string {
	t = t.In(now.Location())
	if t.After(now.Add(-sixMonths)) && t.Before(now.Add(time.Hour)) {
		return t.Format("Jan _2 15:04")
	}
	return t.Format("Jan _2  2006")
}

// formatStat renders attributes as stat(1) does.
func formatStat(path, target string, a *pb.Attr, loc *time.Location) string {
	var b strings.Builder
	name := path
	if target != "" {
		name += " -> " + target
	}
	fmt.Fprintf(&b, "  File: %s\n", name)
	fmt.Fprintf(&b, "  Size: %-10d Inode: %-10d Links: %d\n", a.GetSize(), a.GetIno(), a.GetNlink())
	fmt.Fprintf(&b, "  Type: %s\n", typeLongName(a.GetMode()))
	fmt.Fprintf(&b, "Access: (%04o/%s)  Uid: %d  Gid: %d\n", a.GetMode()&0o7777, modeString(a.GetMode()), a.GetUid(), a.GetGid())
	for _, t := range []struct {
		label string
		ns    int64
	}{{"Access", a.GetAtimeNs()}, {"Modify", a.GetMtimeNs()}, {"Change", a.GetCtimeNs()}} {
		fmt.Fprintf(&b, "%s: %s\n", t.label, time.Unix(0, t.ns).In(loc).Format("2006-01-02 15:04:05.000000000 -0700"))
	}
	return b.String()
}
