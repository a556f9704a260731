package namespace

import (
	"encoding/binary"
	"math"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// ClientID names a client session; HandleID an open handle within it.
type (
	ClientID uint64
	HandleID uint64
)

// DefaultSessionTimeout applies when a session has not set one (ns).
const DefaultSessionTimeout int64 = 60e9

// maxExpiriesPerCommand bounds the sessions one command expires; the rest
// follow with the next commands (nextExpiry stays due).
const maxExpiriesPerCommand = 64

// session is a client's record: its exactly-once watermark and liveness.
// Any command from the client renews it; KeepAlive also sets the timeout.
type session struct {
	client    ClientID
	exists    bool   // a record was read or created
	closed    bool   // CloseSession or expiry removed it during this command
	acked     uint64 // results with seq <= acked are gone
	maxSeq    uint64 // highest seq applied; a larger seq cannot be a retry
	lastSeen  int64  // command time of the latest command (ns)
	timeout   int64  // ns; 0 means DefaultSessionTimeout
	expiryKey int64  // time of this session's row in the expiry index
}

const sessionRecordSize = 1 + 8*5

func (s *session) deadline() int64 {
	t := s.timeout
	if t == 0 {
		t = DefaultSessionTimeout
	}
	if s.lastSeen > math.MaxInt64-t {
		return math.MaxInt64
	}
	return s.lastSeen + t
}

func (s *session) encode(b []byte) []byte {
	b = append(b[:0], 1)
	for _, v := range [...]uint64{s.acked, s.maxSeq, uint64(s.lastSeen), uint64(s.timeout), uint64(s.expiryKey)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeSession(c ClientID, v []byte) (session, bool) {
	if len(v) != sessionRecordSize || v[0] != 1 {
		return session{}, false
	}
	d := decoder{b: v[1:]}
	s := session{client: c, exists: true, acked: d.u64(), maxSeq: d.u64(), lastSeen: int64(d.u64())}
	s.timeout, s.expiryKey = int64(d.u64()), int64(d.u64())
	return s, d.done()
}

func getSession(r Reader, kb []byte, c ClientID) (session, error) {
	v, ok, err := r.Get(clientKey(kb, c))
	if err != nil || !ok {
		return session{client: c}, err
	}
	s, good := decodeSession(c, v)
	if !good {
		return session{}, corrupt("session record")
	}
	return s, nil
}

// beginSession loads and renews the client's session and answers a retried
// command from its stored result. A non-nil result ends the command.
func (a *applier) beginSession() (*pb.Result, error) {
	c, seq := ClientID(a.cmd.GetClientId()), a.cmd.GetSeq()
	if c == 0 {
		return nil, nil
	}
	s, err := getSession(a.tx, a.kb, c)
	if err != nil {
		return nil, err
	}
	if acked := max(s.acked, a.cmd.GetAckedSeq()); a.cluster >= boundedResultsVersion && seq > acked && seq-acked > MaxUnackedResults {
		// Nothing is written: the client acknowledges and sends it again.
		return &pb.Result{Errno: pb.Errno_EAGAIN, Detail: "too many results not acknowledged: acknowledge the results you have (acked_seq)"}, nil
	}
	if seq > 0 && s.exists {
		if seq <= s.acked {
			return &pb.Result{Errno: pb.Errno_ESTALE, Detail: "sequence already acknowledged"}, nil
		}
		if seq <= s.maxSeq {
			if res, err := a.storedResult(c, seq); res != nil || err != nil {
				return res, err
			}
		}
	}
	a.sess = s
	a.sess.maxSeq = max(s.maxSeq, seq)
	if err := a.ackResults(a.cmd.GetAckedSeq()); err != nil {
		return nil, err
	}
	if !s.exists {
		a.sess.exists, a.sess.lastSeen = true, a.now
		return nil, a.addExpiry(a.sess.deadline())
	}
	a.sess.lastSeen = max(s.lastSeen, a.now) // proposers' clocks may disagree
	return nil, nil
}

// moveExpiry moves the session's expiry-index row to time at.
func (a *applier) moveExpiry(at int64) error {
	if err := a.tx.Delete(expiryKey(a.kb, a.sess.expiryKey, a.sess.client)); err != nil {
		return err
	}
	return a.addExpiry(at)
}

func (a *applier) addExpiry(at int64) error {
	s := &a.sess
	s.expiryKey = at
	if at < a.meta.nextExpiry {
		a.meta.nextExpiry, a.metaDirty = at, true
	}
	return a.tx.Put(expiryKey(a.kb, at, s.client), nil)
}

// finish stores the result for exactly-once and writes back the session and
// the counters.
func (a *applier) finish(res *pb.Result) error {
	s := &a.sess
	if s.exists && !s.closed {
		if seq := a.cmd.GetSeq(); seq > s.acked {
			a.vb = encodeResult(a.vb, res)
			if err := a.tx.Put(resultKey(a.kb, s.client, seq), a.vb); err != nil {
				return err
			}
		}
		if err := a.putSession(); err != nil {
			return err
		}
	}
	return a.flushMeta()
}

func (a *applier) putSession() error {
	a.vb = a.sess.encode(a.vb)
	return a.tx.Put(clientKey(a.kb, a.sess.client), a.vb)
}

func (a *applier) flushMeta() error {
	if !a.metaDirty {
		return nil
	}
	a.vb = a.meta.encode(a.vb)
	return a.tx.Put(keyMeta, a.vb)
}

// expireSessions ends the sessions whose deadline is at or before now. The
// expiry index is lazy: a renewed session keeps its old row until the row
// comes due, then the row moves to the real deadline. Reap rows (handles
// left by sessions that ended) sort first and are worked off first, within
// the command's release budget; due rows it cannot reach stay due for the
// commands that follow.
func (a *applier) expireSessions() error {
	if a.now < a.meta.nextExpiry {
		return nil
	}
	due, err := a.dueExpiries()
	if err != nil {
		return err
	}
	for _, e := range due {
		if a.releaseBudget() == 0 {
			break
		}
		if e.at == reapAt {
			err = a.reap(e.client)
		} else {
			err = a.expireOne(e.at, e.client)
		}
		if err != nil {
			return err
		}
	}
	return a.resetNextExpiry()
}

type expiryRow struct {
	at     int64
	client ClientID
}

func (a *applier) dueExpiries() ([]expiryRow, error) {
	var due []expiryRow
	start := []byte{pfxExpiry}
	end := expiryKey(nil, a.now, math.MaxUint64)
	err := a.tx.Scan(start, prefixEnd(end), func(k, _ []byte) bool {
		at, c, ok := decodeExpiryKey(k)
		if ok {
			due = append(due, expiryRow{at, c})
		}
		return len(due) < maxExpiriesPerCommand
	})
	return due, err
}

func (a *applier) expireOne(at int64, c ClientID) error {
	s, err := getSession(a.tx, a.kb, c)
	if err != nil {
		return err
	}
	if !s.exists || s.expiryKey != at {
		return a.tx.Delete(expiryKey(a.kb, at, c)) // stale row
	}
	a.sess = s
	defer func() { a.sess = session{} }()
	if d := s.deadline(); d > a.now {
		if err := a.moveExpiry(d); err != nil {
			return err
		}
		return a.putSession()
	}
	return a.endSession()
}

func (a *applier) resetNextExpiry() error {
	next := int64(math.MaxInt64)
	err := a.tx.Scan([]byte{pfxExpiry}, []byte{pfxExpiry + 1}, func(k, _ []byte) bool {
		if at, _, ok := decodeExpiryKey(k); ok {
			next = at
		}
		return false
	})
	if next != a.meta.nextExpiry {
		a.meta.nextExpiry, a.metaDirty = next, true
	}
	return err
}

// A session's end is bounded from command version 4: one command releases
// at most maxSessionReleases handles of sessions that ended, and a reap row
// carries a session's remaining handles to the commands that follow. Before
// it, a session's end released every handle it held in one command.
const (
	boundedSessionEndVersion = 4
	maxSessionReleases       = 1024
)

// reapAt is the expiry-index time of reap rows: before every deadline, so
// they are always due. A reap row's value is the highest handle ID its
// client's ended sessions had; the client's later handles are not reaped.
const reapAt = math.MinInt64

// releaseBudget is how many more handles of ended sessions this command
// may release.
func (a *applier) releaseBudget() int {
	if a.cluster < boundedSessionEndVersion {
		return math.MaxInt
	}
	return sessionReleaseBudget - a.sessionReleases
}

// sessionReleaseBudget is maxSessionReleases; tests lower it to drive
// reaping with small sessions.
var sessionReleaseBudget = maxSessionReleases

// endSession releases a.sess's handles (within the budget; a reap row keeps
// the rest), drops its stored results and removes its record.
func (a *applier) endSession() error {
	s := &a.sess
	last := a.meta.nextHandle - 1 // no handle of the session is above it
	done, err := a.releaseHandlesUpTo(s.client, last)
	if err != nil {
		return err
	}
	if !done {
		if err := a.tx.Put(expiryKey(a.kb, reapAt, s.client), binary.BigEndian.AppendUint64(a.vb[:0], uint64(last))); err != nil {
			return err
		}
		a.meta.nextExpiry, a.metaDirty = reapAt, true
	}
	if err := a.deleteRange(key1(nil, pfxResult, uint64(s.client))); err != nil {
		return err
	}
	if err := a.tx.Delete(expiryKey(a.kb, s.expiryKey, s.client)); err != nil {
		return err
	}
	s.closed = true
	return a.tx.Delete(clientKey(a.kb, s.client))
}

// reap goes on releasing the handles of c's ended sessions; the reap row
// goes once none is left.
func (a *applier) reap(c ClientID) error {
	last, ok, err := a.reapLimit(c)
	if err != nil || !ok {
		return err
	}
	done, err := a.releaseHandlesUpTo(c, last)
	if err != nil || !done {
		return err
	}
	return a.tx.Delete(expiryKey(a.kb, reapAt, c))
}

// reapLimit returns the highest handle ID of c's that awaits reaping.
func (a *applier) reapLimit(c ClientID) (HandleID, bool, error) {
	v, ok, err := a.tx.Get(expiryKey(a.kb, reapAt, c))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, corrupt("reap row")
	}
	return HandleID(binary.BigEndian.Uint64(v)), true, nil
}

// releaseHandlesUpTo releases c's handles with IDs up to last, as many as
// the budget allows, and reports whether none is left.
func (a *applier) releaseHandlesUpTo(c ClientID, last HandleID) (bool, error) {
	budget := a.releaseBudget()
	hs, err := a.clientHandles(c, last, budget)
	if err != nil {
		return false, err
	}
	done := len(hs) <= budget
	if !done {
		hs = hs[:budget]
	}
	for _, h := range hs {
		if err := a.releaseHandle(h); err != nil {
			return false, err
		}
	}
	a.sessionReleases += len(hs)
	return done, nil
}

// deleteRange deletes every key with prefix p (collected first: no writes
// during a scan).
func (a *applier) deleteRange(p []byte) error {
	var keys [][]byte
	err := a.tx.Scan(p, prefixEnd(p), func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := a.tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) keepAlive(op *pb.KeepAlive) (*pb.Result, error) {
	if op.GetTimeoutNs() < 0 {
		return nil, fail(pb.Errno_EINVAL, "negative session timeout")
	}
	if !a.sess.exists {
		return nil, fail(pb.Errno_EINVAL, "keepalive needs a client id")
	}
	a.sess.timeout = op.GetTimeoutNs()
	if d := a.sess.deadline(); d < a.sess.expiryKey {
		if err := a.moveExpiry(d); err != nil {
			return nil, err
		}
	}
	return &pb.Result{}, nil
}

func (a *applier) closeSession() (*pb.Result, error) {
	if !a.sess.exists {
		return &pb.Result{}, nil
	}
	return &pb.Result{}, a.endSession()
}

// ExpiryDue reports whether a command applied at time now would have
// session work to do: a session whose deadline passed, or handles of ended
// sessions still to release. Commands do that work as they come; a node
// proposes a Noop when none come.
func ExpiryDue(r Reader, now int64) (bool, error) {
	m, err := readMeta(r)
	if err != nil {
		return false, err
	}
	return now >= m.nextExpiry, nil
}
