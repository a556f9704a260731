package namespace

// File type and permission bits, as in struct stat (Linux values).
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sISUID  = 0o4000
	sISGID  = 0o2000
	sISVTX  = 0o1000
	sIXGRP  = 0o0010

	permMask = 0o7777
)

// Access bits for permission checks.
const (
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

func isDir(mode uint32) bool { return mode&sIFMT == sIFDIR }
func isReg(mode uint32) bool { return mode&sIFMT == sIFREG }
func isLnk(mode uint32) bool { return mode&sIFMT == sIFLNK }

// validType reports whether t (type bits only) is a file type.
func validType(t uint32) bool {
	switch t {
	case sIFSOCK, sIFLNK, sIFREG, sIFBLK, sIFDIR, sIFCHR, sIFIFO:
		return true
	}
	return false
}
