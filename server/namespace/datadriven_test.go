package namespace

import (
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScripts replays the scripts in testdata/scripts. Each directive is a shell
// command (see shell_test.go); "exec" runs the lines of its input. State
// carries over within a file. Regenerate with -rewrite after checking.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		s := newShell(t)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			s.t = t
			if td.Cmd == "exec" {
				return s.run(td.Input) + "\n"
			}
			return s.exec(strings.TrimSpace(td.FullCmd())) + "\n"
		})
	})
}
