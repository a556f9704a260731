package client

// SetAttr.valid bits (command.proto).
const (
	SetAttrMode     uint32 = 1
	SetAttrUID      uint32 = 2
	SetAttrGID      uint32 = 4
	SetAttrSize     uint32 = 8
	SetAttrAtime    uint32 = 16
	SetAttrMtime    uint32 = 32
	SetAttrAtimeNow uint32 = 64
	SetAttrMtimeNow uint32 = 128
	SetAttrCtime    uint32 = 256
)

// Rename flags, as renameat2(2).
const (
	RenameNoReplace uint32 = 1
	RenameExchange  uint32 = 2
)

// SetXattr flags, as setxattr(2).
const (
	XattrCreate  uint32 = 1
	XattrReplace uint32 = 2
)

// File type bits of Attr.mode, as struct stat.
const (
	ModeType    uint32 = 0o170000
	ModeSocket  uint32 = 0o140000
	ModeSymlink uint32 = 0o120000
	ModeRegular uint32 = 0o100000
	ModeBlock   uint32 = 0o060000
	ModeDir     uint32 = 0o040000
	ModeChar    uint32 = 0o020000
	ModeFIFO    uint32 = 0o010000
)
