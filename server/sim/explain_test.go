package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// explain narrows a non-linearizable history down for a human: it finds
// the earliest return after which the history stops being linearizable
// (operations still running then count as unknown) and lists the
// operations that touch the same paths as the one returning there.
func explain(h []porcupine.Operation) string {
	byReturn := slices.Clone(h)
	slices.SortFunc(byReturn, func(a, b porcupine.Operation) int { return cmpInt(a.Return, b.Return) })
	lo, hi := 0, len(byReturn)-1 // the full history fails; find the first failing cut
	for lo < hi {
		mid := (lo + hi) / 2
		if checkHistory(namespaceModel(), cutAt(h, byReturn[mid].Return)) == nil {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	culprit := byReturn[lo]
	in := culprit.Input.(opInput)
	var b strings.Builder
	fmt.Fprintf(&b, "first non-linearizable return: client %d %v -> %v [%d, %d]\noperations on related paths:\n",
		culprit.ClientId, in, culprit.Output, culprit.Call, culprit.Return)
	ops := slices.Clone(h)
	slices.SortFunc(ops, func(a, b porcupine.Operation) int { return cmpInt(a.Call, b.Call) })
	for _, op := range ops {
		if op.Call <= culprit.Return && related(op.Input.(opInput), in) {
			ret := fmt.Sprint(op.Return)
			if op.Return == math.MaxInt64 {
				ret = "-"
			}
			fmt.Fprintf(&b, "  [%4d, %4s] client %d %v -> %v\n", op.Call, ret, op.ClientId, op.Input, op.Output)
		}
	}
	return b.String()
}

// cutAt is the history as it stood at time t.
func cutAt(h []porcupine.Operation, t int64) []porcupine.Operation {
	var out []porcupine.Operation
	for _, op := range h {
		switch {
		case op.Call > t:
		case op.Return > t:
			op.Output, op.Return = opOutput{unknown: true}, math.MaxInt64
			out = append(out, op)
		default:
			out = append(out, op)
		}
	}
	return out
}

func related(a, b opInput) bool {
	for _, p := range []string{a.path, a.path2} {
		for _, q := range []string{b.path, b.path2} {
			if p != "" && q != "" && (within(p, q) || within(q, p)) {
				return true
			}
		}
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
