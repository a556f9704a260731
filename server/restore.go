package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"go.etcd.io/raft/v3/raftpb"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/fsm"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/storage"
)

// RestoreConfig prepares one node of a new cluster from a backup.
type RestoreConfig struct {
	Name, Site, DataDir string
	InitialCluster      []Peer
	Logger              *slog.Logger
}

// RestoreResult says what was restored.
type RestoreResult struct {
	Index           uint64
	NamespaceDigest [32]byte
}

// Restore fills an empty data dir with the state read from r (a storage
// state stream, already verified by the caller's file checksum; storage
// verifies its own checksum again before writing anything). The new
// cluster's members are the initial cluster, with node IDs numbered after
// every ID the source ever used, so no old member's messages are accepted
// as a member's. Every node of the new cluster is restored from the same
// file with the same flags; `geomds serve` with those flags then starts it.
func Restore(cfg RestoreConfig, r io.Reader) (*RestoreResult, error) {
	if cfg.Name == "" || cfg.Site == "" || cfg.DataDir == "" || len(cfg.InitialCluster) == 0 {
		return nil, errors.New("restore: --name, --site, --data-dir and --initial-cluster are required")
	}
	if entries, err := os.ReadDir(cfg.DataDir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("restore: %s is not empty; restore into a new directory", cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok { // leave nothing half-restored behind
			os.RemoveAll(filepath.Join(cfg.DataDir, "db"))
			os.Remove(filepath.Join(cfg.DataDir, "node.json"))
		}
	}()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	eng, err := storage.Open(filepath.Join(cfg.DataDir, "db"), storage.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if err := eng.RestoreState(shardID, r); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	f, err := fsm.Open(eng, shardID)
	if err != nil {
		return nil, err
	}
	base, err := f.NextMemberID()
	if err != nil {
		return nil, err
	}
	var members []*pb.Member
	var voters []uint64
	self := uint64(0)
	for i, p := range cfg.InitialCluster {
		id := base + uint64(i)
		members = append(members, &pb.Member{Id: id, Name: p.Name, Site: p.Site, Address: p.Address})
		voters = append(voters, id)
		if p.Name == cfg.Name {
			self = id
		}
	}
	if self == 0 {
		return nil, fmt.Errorf("restore: node %q is not in --initial-cluster", cfg.Name)
	}
	if err := f.ResetMembers(members); err != nil {
		return nil, err
	}
	v, err := eng.View(shardID)
	if err != nil {
		return nil, err
	}
	index, term := v.Applied(), v.AppliedTerm()
	digest, err := namespace.Digest(v)
	v.Close()
	if err != nil {
		return nil, err
	}
	if err := startLogAt(eng, index, term, voters); err != nil {
		return nil, err
	}
	b := []byte(fmt.Sprintf(`{"name":%q,"site":%q,"id":%d}`, cfg.Name, cfg.Site, self))
	if err := writeFileSync(filepath.Join(cfg.DataDir, "node.json"), b); err != nil {
		return nil, err
	}
	ok = true
	return &RestoreResult{Index: index, NamespaceDigest: digest}, nil
}

// startLogAt makes the Raft log begin with a snapshot at the restored
// index whose configuration is the new cluster's voters.
func startLogAt(eng *storage.Engine, index, term uint64, voters []uint64) error {
	log, err := eng.RaftLog(shardID)
	if err != nil {
		return err
	}
	term = max(term, 1)
	snap := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: &index, Term: &term, ConfState: &raftpb.ConfState{Voters: voters},
	}}
	if err := log.ApplySnapshot(snap); err != nil {
		return err
	}
	return log.Save(&raftpb.HardState{Term: &term, Commit: &index}, nil, true)
}
