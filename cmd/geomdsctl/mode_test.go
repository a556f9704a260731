package main

import "testing"

func TestParseMode(t *testing.T) {
	cases := []struct {
		spec  string
		cur   uint32
		isDir bool
		want  uint32
	}{
		{"755", 0o600, false, 0o755},
		{"1777", 0, true, 0o1777},
		{"0", 0o777, false, 0},
		{"u+x", 0o644, false, 0o744},
		{"go-w", 0o666, false, 0o644},
		{"a=r", 0o777, false, 0o444},
		{"=rw", 0o7777, false, 0o666},
		{"u=rwx,g=rx,o=", 0o0, false, 0o750},
		{"a+X", 0o644, false, 0o644},
		{"a+X", 0o644, true, 0o755},
		{"a+X", 0o744, false, 0o755},
		{"u+s,g+s", 0o755, false, 0o6755},
		{"o+s", 0o755, false, 0o755}, // setid bits belong to u and g
		{"+t", 0o777, true, 0o1777},
		{"g=u", 0o700, false, 0o770},
		{"o=g-x", 0o750, false, 0o754},
		{"u-w+x", 0o644, false, 0o544},
		{"go=", 0o777, false, 0o700},
	}
	for _, tc := range cases {
		got, err := parseMode(tc.spec, tc.cur, tc.isDir)
		if err != nil || got != tc.want {
			t.Errorf("parseMode(%q, %o, %v) = %o, %v; want %o", tc.spec, tc.cur, tc.isDir, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "8", "17777", "u", "u+q", "x+r", "u+r,", "ug"} {
		if _, err := parseMode(bad, 0, false); err == nil {
			t.Errorf("parseMode(%q) accepted", bad)
		}
	}
}

func TestModeString(t *testing.T) {
	cases := map[uint32]string{
		0o040755: "drwxr-xr-x",
		0o100644: "-rw-r--r--",
		0o120777: "lrwxrwxrwx",
		0o104755: "-rwsr-xr-x",
		0o102645: "-rw-r-Sr-x",
		0o041777: "drwxrwxrwt",
		0o041776: "drwxrwxrwT",
		0o010600: "prw-------",
		0o140000: "s---------",
		0o020660: "crw-rw----",
		0o060660: "brw-rw----",
		0o000644: "?rw-r--r--",
		0o107777: "-rwsrwsrwt",
		0o100000: "----------",
	}
	for mode, want := range cases {
		if got := modeString(mode); got != want {
			t.Errorf("modeString(%o) = %q, want %q", mode, got, want)
		}
	}
}
