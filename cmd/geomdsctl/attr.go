package main

import (
	"fmt"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// attrJSON is an inode's attributes in -o json output.
type attrJSON struct {
	Path   string `json:"path,omitempty"`
	Name   string `json:"name,omitempty"`
	Ino    uint64 `json:"ino"`
	Type   string `json:"type"`
	Mode   string `json:"mode"` // permission bits in octal, "0755"
	Nlink  uint32 `json:"nlink"`
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Size   uint64 `json:"size"`
	Rdev   uint64 `json:"rdev,omitempty"`
	Atime  string `json:"atime"`
	Mtime  string `json:"mtime"`
	Ctime  string `json:"ctime"`
	Target string `json:"target,omitempty"` // symlinks
}

func toAttrJSON(a *pb.Attr) attrJSON {
	return attrJSON{Ino: a.GetIno(), Type: typeName(a.GetMode()), Mode: fmt.Sprintf("%04o", a.GetMode()&0o7777),
		Nlink: a.GetNlink(), UID: a.GetUid(), GID: a.GetGid(), Size: a.GetSize(), Rdev: a.GetRdev(),
		Atime: nsTime(a.GetAtimeNs()), Mtime: nsTime(a.GetMtimeNs()), Ctime: nsTime(a.GetCtimeNs())}
}

func nsTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
