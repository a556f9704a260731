package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/geomds/geomds/server"
)

// The dev console: `geomds dev` reads commands on standard input that change
// its emulated WAN while the cluster runs, so a network split can be shown
// without network namespaces:
//
//	cut west east     cut two sites apart (peer traffic lost, client calls refused)
//	heal west east    join them again
//	heal              join every pair
//	cuts              list the pairs cut apart
//	help              this list
const consoleHelp = `commands: cut SITE SITE | heal [SITE SITE] | cuts | help`

// devConsole serves console commands from in until it ends, answering on out.
func devConsole(in io.Reader, out io.Writer, wan *server.WAN, sites []string) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			fmt.Fprintln(out, consoleCommand(line, wan, sites))
		}
	}
}

// consoleCommand runs one command line and returns what to print.
func consoleCommand(line string, wan *server.WAN, sites []string) string {
	f := strings.Fields(line)
	switch {
	case f[0] == "help":
		return consoleHelp
	case f[0] == "cuts":
		return describeCuts(wan, sites)
	case f[0] == "heal" && len(f) == 1:
		wan.HealAll()
		return "healed: every site reaches every other"
	case (f[0] == "cut" || f[0] == "heal") && len(f) == 3:
		if err := checkPair(f[1], f[2], sites); err != nil {
			return err.Error()
		}
		if f[0] == "cut" {
			wan.Cut(f[1], f[2])
			return fmt.Sprintf("cut: %s and %s no longer reach each other", f[1], f[2])
		}
		wan.Heal(f[1], f[2])
		return fmt.Sprintf("healed: %s and %s reach each other", f[1], f[2])
	}
	return fmt.Sprintf("unknown command %q; %s", line, consoleHelp)
}

func checkPair(a, b string, sites []string) error {
	for _, s := range []string{a, b} {
		if !slices.Contains(sites, s) {
			return fmt.Errorf("unknown site %q (sites: %s)", s, strings.Join(sites, ", "))
		}
	}
	if a == b {
		return fmt.Errorf("a site cannot be cut from itself")
	}
	return nil
}

// describeCuts lists the cut pairs, in site order.
func describeCuts(wan *server.WAN, sites []string) string {
	var cut []string
	for i, a := range sites {
		for _, b := range sites[i+1:] {
			if wan.IsCut(a, b) {
				cut = append(cut, a+"-"+b)
			}
		}
	}
	if len(cut) == 0 {
		return "no sites cut apart"
	}
	return "cut apart: " + strings.Join(cut, ", ")
}
