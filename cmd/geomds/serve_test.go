package main

import "testing"

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: "0"}, {in: "512MiB", want: 512 << 20}, {in: "2GiB", want: 2 << 30}, {in: " 3 TiB ", want: 3 << 40},
		{in: "100", want: 100}, {in: "7B", want: 7}, {in: "4KiB", want: 4096},
		{in: "", bad: true}, {in: "1.5GiB", bad: true}, {in: "-1", bad: true}, {in: "5GB", bad: true},
		{in: "MiB", bad: true}, {in: "16777216TiB", bad: true},
	} {
		got, err := parseBytes(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
