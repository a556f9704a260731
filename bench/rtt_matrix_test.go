package main

import (
	"testing"
	"time"
)

func TestRTTMatrix(t *testing.T) {
	m, err := parseRTTMatrix("east-west=30ms,east-north=40ms,west-north=35ms")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.covers(clusterSites); err != nil {
		t.Fatal(err)
	}
	if got := m.between("north", "west"); got != 35*time.Millisecond {
		t.Errorf("between(north, west) = %v", got)
	}
	if got := m.nearest("east", clusterSites); got != 30*time.Millisecond {
		t.Errorf("nearest(east) = %v", got)
	}
	if got := m.farthest("north", clusterSites); got != 40*time.Millisecond {
		t.Errorf("farthest(north) = %v", got)
	}
	if _, err := parseRTTMatrix("east-west"); err == nil {
		t.Error("a pair without a duration parsed")
	}
	partial, _ := parseRTTMatrix("east-west=1ms")
	if err := partial.covers(clusterSites); err == nil {
		t.Error("a matrix missing pairs covers all sites")
	}
}
