package main

import (
	"testing"
	"time"
)

func TestMoveSummary(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(msec int) ack {
		return ack{at: t0.Add(time.Duration(msec) * time.Millisecond), lat: 10 * time.Millisecond}
	}
	// steady every 10 ms, one 50 ms hiccup before the move, set-home at
	// 200, new leader seen at 300, a 150 ms gap across it.
	acks := []ack{at(100), at(150), at(160), at(190), at(340), at(350)}
	var r moveResult
	r.summarize(acks, t0.Add(200*time.Millisecond), t0.Add(300*time.Millisecond))
	if r.PauseMs != 150 || r.PauseAtMs != -10 || r.NoiseMs != 50 || r.Writes != 6 {
		t.Errorf("summary %+v: want pause 150 at -10, noise 50, 6 writes", r)
	}
}
