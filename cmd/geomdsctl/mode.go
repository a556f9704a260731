package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/geomds/geomds/client"
)

// parseMode applies a chmod(1) mode to cur: octal ("755", "1777") or
// symbolic clauses ("u+x,go-w", "a=rX", "g=u"). isDir decides X. Without
// a who letter a clause applies to all (no umask: the namespace is remote).
func parseMode(spec string, cur uint32, isDir bool) (uint32, error) {
	if spec == "" {
		return 0, usagef("empty mode")
	}
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		if n > 0o7777 {
			return 0, usagef("mode %q out of range", spec)
		}
		return uint32(n), nil
	}
	mode := cur & 0o7777
	for _, clause := range strings.Split(spec, ",") {
		var err error
		if mode, err = applyClause(clause, mode, isDir); err != nil {
			return 0, usagef("mode %q: %v", spec, err)
		}
	}
	return mode, nil
}

// whoBits are the bits each class letter may change.
var whoBits = map[byte]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007, 'a': 0o7777}

// applyClause applies one symbolic clause: [ugoa]*([-+=]([rwxXst]*|[ugo]))+.
func applyClause(clause string, mode uint32, isDir bool) (uint32, error) {
	i, who := 0, uint32(0)
	for ; i < len(clause) && whoBits[clause[i]] != 0; i++ {
		who |= whoBits[clause[i]]
	}
	if who == 0 {
		who = whoBits['a']
	}
	if i == len(clause) {
		return 0, fmt.Errorf("clause %q has no operator", clause)
	}
	for i < len(clause) {
		op := clause[i]
		if op != '+' && op != '-' && op != '=' {
			return 0, fmt.Errorf("clause %q: unexpected %q", clause, op)
		}
		j := i + 1
		for j < len(clause) && !strings.ContainsRune("+-=", rune(clause[j])) {
			j++
		}
		bits, err := permBits(clause[i+1:j], mode, isDir)
		if err != nil {
			return 0, err
		}
		mode = applyOp(op, mode, bits&who, who)
		i = j
	}
	return mode, nil
}

func applyOp(op byte, mode, bits, who uint32) uint32 {
	switch op {
	case '+':
		return mode | bits
	case '-':
		return mode &^ bits
	}
	return mode&^who | bits
}

// permBits returns the bits a permission list names, for every class; the
// caller masks them with the clause's classes.
func permBits(perms string, mode uint32, isDir bool) (uint32, error) {
	if len(perms) == 1 && strings.Contains("ugo", perms) {
		shift := map[byte]uint{'u': 6, 'g': 3, 'o': 0}[perms[0]]
		return (mode >> shift & 7) * 0o111, nil
	}
	var bits uint32
	for _, p := range perms {
		switch p {
		case 'r':
			bits |= 0o444
		case 'w':
			bits |= 0o222
		case 'x':
			bits |= 0o111
		case 'X':
			if isDir || mode&0o111 != 0 {
				bits |= 0o111
			}
		case 's':
			bits |= 0o6000
		case 't':
			bits |= 0o1000
		default:
			return 0, fmt.Errorf("unknown permission %q", p)
		}
	}
	return bits, nil
}

// modeString renders mode as ls -l does: "drwxr-xr-x", "-rwsr-x--T".
func modeString(mode uint32) string {
	b := []byte{typeChar(mode), 'r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'}
	for i := range 9 {
		if mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := []struct {
		bit     uint32
		pos     int
		set, no byte
	}{{0o4000, 3, 's', 'S'}, {0o2000, 6, 's', 'S'}, {0o1000, 9, 't', 'T'}}
	for _, s := range special {
		if mode&s.bit == 0 {
			continue
		}
		if b[s.pos] == 'x' {
			b[s.pos] = s.set
		} else {
			b[s.pos] = s.no
		}
	}
	return string(b)
}

// fileTypes names each S_IFMT value: ls's letter, a short name (JSON), and
// stat(1)'s name.
var fileTypes = map[uint32]struct {
	char        byte
	short, long string
}{
	client.ModeDir:     {'d', "dir", "directory"},
	client.ModeRegular: {'-', "file", "regular file"},
	client.ModeSymlink: {'l', "symlink", "symbolic link"},
	client.ModeFIFO:    {'p', "fifo", "fifo"},
	client.ModeSocket:  {'s', "socket", "socket"},
	client.ModeChar:    {'c', "char", "character special file"},
	client.ModeBlock:   {'b', "block", "block special file"},
}

func typeChar(mode uint32) byte {
	if t, ok := fileTypes[mode&client.ModeType]; ok {
		return t.char
	}
	return '?'
}

func typeName(mode uint32) string {
	if t, ok := fileTypes[mode&client.ModeType]; ok {
		return t.short
	}
	return "unknown"
}

func typeLongName(mode uint32) string {
	if t, ok := fileTypes[mode&client.ModeType]; ok {
		return t.long
	}
	return "unknown"
}
