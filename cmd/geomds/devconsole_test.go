package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/geomds/geomds/server"
)

// TestDevConsole drives the console as a user types at it: cuts and heals
// change the WAN, and bad input changes nothing and says why.
func TestDevConsole(t *testing.T) {
	wan := server.NewWAN(nil)
	sites := []string{"east", "west", "north"}
	var out bytes.Buffer
	in := strings.Join([]string{
		"cut west east", "cut west north", "cuts",
		"cut west mars", "cut west west", "explode", "heal west north", "cuts",
	}, "\n")
	devConsole(strings.NewReader(in), &out, wan, sites)
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"cut: west and east no longer reach each other",
		"cut: west and north no longer reach each other",
		"cut apart: east-west, west-north",
		`unknown site "mars" (sites: east, west, north)`,
		"a site cannot be cut from itself",
		`unknown command "explode"; ` + consoleHelp,
		"healed: west and north reach each other",
		"cut apart: east-west",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("console said:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !wan.IsCut("east", "west") || wan.IsCut("west", "north") || wan.IsCut("east", "north") {
		t.Fatal("WAN state does not match the commands")
	}
	devConsole(strings.NewReader("heal\n"), &out, wan, sites)
	if wan.IsCut("east", "west") {
		t.Fatal("heal left a cut")
	}
}
