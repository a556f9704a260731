package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
)

// runArgs runs one command line with no GEOMDS_ variables in the way.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for _, v := range []string{"ENDPOINTS", "SITE", "CONSISTENCY", "OUTPUT", "TIMEOUT", "EXPLAIN", "MAX_STALENESS"} {
		t.Setenv("GEOMDS_"+v, "")
	}
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"ls", "--nosuchflag"},
		{"ls", "/a", "/b"},
		{"mv", "/a"},
		{"--consistency", "eventual", "ls"},
		{"-o", "yaml", "ls"},
		{"chmod", "u+q", "/a"},
		{"chown", "no-such-user-xyz", "/a"},
		{"bench", "--op", "fly"},
		{"bench", "--clients", "0"},
		{"members", "add", "n4"},
		{"members", "bogus"},
	} {
		code, _, stderr := runArgs(t, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "geomdsctl: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// An unreachable cluster is an operation failure: exit 1, one message.
func TestUnreachableExit1(t *testing.T) {
	start := time.Now()
	code, stdout, stderr := runArgs(t, "--endpoints", "127.0.0.1:1", "--timeout", "300ms", "stat", "/")
	if code != exitError || stdout != "" || !strings.HasPrefix(stderr, "geomdsctl: lstat /: ") ||
		strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	// Commands over several paths report each failure.
	code, _, stderr = runArgs(t, "--endpoints", "127.0.0.1:1", "--timeout", "200ms", "rm", "/a", "/b")
	if code != exitError || strings.Count(stderr, "geomdsctl: ") != 2 {
		t.Fatalf("rm: exit %d, stderr %q", code, stderr)
	}
}

func TestHelpExit0(t *testing.T) {
	code, stdout, _ := runArgs(t, "--help")
	if code != exitOK || !strings.Contains(stdout, "bench") || !strings.Contains(stdout, "--endpoints") {
		t.Fatalf("exit %d, help %q", code, stdout)
	}
}

// Environment variables fill global flags not given on the command line.
func TestEnvMirrorsFlags(t *testing.T) {
	env := map[string]string{
		"GEOMDS_ENDPOINTS": "h1:1,h2:2", "GEOMDS_SITE": "west", "GEOMDS_CONSISTENCY": "session",
		"GEOMDS_MAX_STALENESS": "250ms", "GEOMDS_OUTPUT": "json",
	}
	a := newApp(nil, nil)
	a.getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	root := a.rootCommand()
	root.SetArgs([]string{"--site", "east", "status"})
	root.RunE = nil
	var prepared bool
	for _, c := range root.Commands() {
		if c.Name() == "status" {
			c.RunE = func(*cobra.Command, []string) error { prepared = true; return nil }
		}
	}
	if err := root.Execute(); err != nil || !prepared {
		t.Fatalf("execute: %v", err)
	}
	cfg := a.config()
	if strings.Join(cfg.Endpoints, ",") != "h1:1,h2:2" || cfg.Site != "east" || cfg.Consistency != pb.Consistency_SESSION ||
		cfg.MaxStaleness != 250*time.Millisecond || !a.json() || cfg.RequestTimeout != 30*time.Second {
		t.Fatalf("config %+v json=%v", cfg, a.json())
	}
	if defaults := newApp(nil, nil); defaults.rootCommand() != nil && defaults.endpoints != defaultEndpoints {
		t.Fatalf("default endpoints %q", defaults.endpoints)
	}
}

var errTest = errors.New("boom")

func TestFormatTrace(t *testing.T) {
	tr := formatTrace(client.Trace{Method: "GetAttr", Node: "n2", Site: "west", Duration: 31234567 * time.Nanosecond,
		Consistency: pb.Consistency_STRONG, WANRoundTrips: 1, ServerTime: 30 * time.Millisecond})
	if tr != "explain: GetAttr n2@west 31.235ms (server 30ms, transport 1.235ms) STRONG wan-round-trips=1" {
		t.Fatalf("trace %q", tr)
	}
	tr = formatTrace(client.Trace{Method: "Mutate", Endpoint: "h:1", Duration: time.Millisecond, Attempt: 1, Err: errTest})
	if tr != "explain: Mutate h:1 1ms attempt=2 error: boom" {
		t.Fatalf("trace %q", tr)
	}
}
