package replicatest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/geomds/geomds/server/replica"
)

// Record is one entry MemSM applied.
type Record struct {
	Index uint64
	Data  string // the payload; empty for a leader's no-op entry
	Conf  bool   // a conf change
}

// MemSM is a replica.StateMachine that records every entry it applies and
// answers "ok:"+payload. It refuses (with an error, so the replica stops)
// to apply an entry twice or to skip one, which is what tests look for.
type MemSM struct {
	mu       sync.Mutex
	state    memState // guarded by mu
	restores int      // guarded by mu
	applyErr error    // guarded by mu
}

// memState is also the snapshot format.
type memState struct {
	Applied uint64
	Records []Record
}

var _ replica.StateMachine = (*MemSM)(nil)

// NewMemSM returns an empty state machine.
func NewMemSM() *MemSM { return &MemSM{} }

// Applied implements replica.StateMachine.
func (s *MemSM) Applied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Applied
}

// Apply implements replica.StateMachine.
func (s *MemSM) Apply(_ context.Context, ents []replica.Entry) ([]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applyErr != nil {
		return nil, s.applyErr
	}
	results := make([]any, len(ents))
	for i, e := range ents {
		if e.Index != s.state.Applied+1 {
			return nil, fmt.Errorf("memsm: entry %d applied after %d (re-applied or skipped)", e.Index, s.state.Applied)
		}
		s.state.Applied = e.Index
		s.state.Records = append(s.state.Records, Record{Index: e.Index, Data: string(e.Data), Conf: e.ConfChange != nil})
		if len(e.Data) > 0 {
			results[i] = "ok:" + string(e.Data)
		}
	}
	return results, nil
}

// WriteSnapshot implements replica.StateMachine.
func (s *MemSM) WriteSnapshot(w io.Writer) (uint64, error) {
	s.mu.Lock()
	st := memState{Applied: s.state.Applied, Records: slices.Clone(s.state.Records)}
	s.mu.Unlock()
	return st.Applied, json.NewEncoder(w).Encode(st)
}

// RestoreSnapshot implements replica.StateMachine; a read error leaves the
// state unchanged.
func (s *MemSM) RestoreSnapshot(r io.Reader) error {
	var st memState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
	s.restores++
	return nil
}

// SetApplyErr makes every later Apply fail with err.
func (s *MemSM) SetApplyErr(err error) {
	s.mu.Lock()
	s.applyErr = err
	s.mu.Unlock()
}

// Records returns a copy of what was applied (or restored).
func (s *MemSM) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.Records)
}

// Payloads returns the non-empty payloads applied, in order.
func (s *MemSM) Payloads() []string {
	var out []string
	for _, r := range s.Records() {
		if r.Data != "" {
			out = append(out, r.Data)
		}
	}
	return out
}

// Restores reports how many snapshots were restored.
func (s *MemSM) Restores() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restores
}
