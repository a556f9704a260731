package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter reads the CPU time (user + system) the server processes of one
// system and this process (its clients) have used, so that a phase can be
// reported as CPU per operation beside its rate: on a small machine where
// servers and clients share the cores, throughput is CPU divided by this.
type cpuMeter struct{ pids []int }

// cpuSample is one reading; ok is false where the platform has no
// per-process accounting (then no figure is reported).
type cpuSample struct {
	server, client time.Duration
	ok             bool
}

func (m cpuMeter) sample() cpuSample {
	var s cpuSample
	for _, pid := range m.pids {
		d, err := procCPU(pid)
		if err != nil {
			return cpuSample{}
		}
		s.server += d
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSample{}
	}
	s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.ok = true
	return s
}

// perOp sets r's CPU figures from the samples before and after its phase.
func (r *phaseResult) perOp(before, after cpuSample) {
	ok := r.Ops - r.Errors
	if !before.ok || !after.ok || ok <= 0 {
		return
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ok) }
	r.ServerCPUUs = us(after.server - before.server)
	r.ClientCPUUs = us(after.client - before.client)
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on every
// Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procCPU is pid's CPU time so far, from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statCPU(string(b))
}

// statCPU is utime + stime of a /proc/PID/stat line.
func statCPU(s string) (time.Duration, error) {
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3 (state). utime and stime are
	// fields 14 and 15.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: bad times %q %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}
