package server_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
	"github.com/geomds/geomds/server/servertest"
)

// TestBackupRestore takes a snapshot under write load, restores it into a
// fresh three-node cluster, and checks that the restored namespace has the
// source's digest at the snapshot index and serves reads and writes.
func TestBackupRestore(t *testing.T) {
	src := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := newClient(t, src, "east")
	if err := cl.MkdirAll(ctx, "/data", 0o755); err != nil {
		t.Fatal(err)
	}
	// attempted counts every create sent; a create whose reply was lost to
	// the load's cancellation may still be in the snapshot. ackedBefore holds
	// the creates acknowledged before the snapshot was asked for: all of them
	// must be in it.
	var attempted, written atomic.Int64
	var mu sync.Mutex
	acked := map[string]bool{}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				attempted.Add(1)
				if _, err := cl.Create(loadCtx, "/data/"+name, 0o644, true); err == nil {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
					written.Add(1)
				}
			}
		}()
	}
	for written.Load() < 100 {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	ackedBefore := maps.Clone(acked)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "backup.snap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cl.SaveSnapshot(ctx, f, nil)
	f.Close()
	stopLoad()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Index == 0 || len(info.NamespaceDigest) != 64 {
		t.Fatalf("snapshot info: %+v", info)
	}

	// Restore three nodes of a new cluster from the file.
	dir := t.TempDir()
	var peers []server.Peer
	var lis []net.Listener
	for i, site := range []string{"east", "west", "north"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis = append(lis, l)
		peers = append(peers, server.Peer{Name: fmt.Sprintf("r%d", i+1), Site: site, Address: l.Addr().String()})
	}
	for _, p := range peers {
		hdr, r, closer, err := client.OpenSnapshot(file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := server.Restore(server.RestoreConfig{Name: p.Name, Site: p.Site, DataDir: filepath.Join(dir, p.Name), InitialCluster: peers, Logger: quiet()}, r)
		closer.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(res.NamespaceDigest[:]); got != hdr.NamespaceDigest || res.Index != hdr.Index {
			t.Fatalf("%s restored index %d digest %s; source had index %d digest %s", p.Name, res.Index, got, hdr.Index, hdr.NamespaceDigest)
		}
	}
	var eps []string
	for i, p := range peers {
		n, err := server.Start(context.Background(), server.Config{
			Name: p.Name, Site: p.Site, DataDir: filepath.Join(dir, p.Name), Listen: p.Address, Listener: lis[i],
			InitialCluster: peers, TickInterval: 10 * time.Millisecond, HeartbeatTicks: 2, ElectionTicks: 30, Logger: quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
		eps = append(eps, p.Address)
	}
	rc, err := client.New(ctx, client.Config{Endpoints: eps, Creds: &pb.Creds{}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries, err := rc.ReadDir(ctx, "/data")
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(entries)) > attempted.Load() {
		t.Fatalf("restored /data has %d entries; %d creates were sent in all", len(entries), attempted.Load())
	}
	restored := map[string]bool{}
	for _, e := range entries {
		restored[e.Name] = true
	}
	for name := range ackedBefore {
		if !restored[name] {
			t.Errorf("create of /data/%s was acknowledged before the snapshot began but is not in the restore", name)
		}
	}
	if _, err := rc.Mkdir(ctx, "/after-restore", 0o755); err != nil {
		t.Fatalf("write to the restored cluster: %v", err)
	}
	members, err := rc.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Id <= 3 {
			t.Errorf("restored member %s reuses old ID %d", m.Name, m.Id)
		}
	}
}

// TestRestoreRejectsDamage: truncated or corrupted files are refused before
// anything is written.
func TestRestoreRejectsDamage(t *testing.T) {
	src := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, src, "east")
	if err := cl.MkdirAll(ctx, "/x/y", 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "good.snap")
	f, _ := os.Create(file)
	if _, err := cl.SaveSnapshot(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	good, _ := os.ReadFile(file)
	damaged := map[string][]byte{
		"truncated": good[:len(good)/2],
		"flipped":   flip(good, len(good)/2),
		"header":    flip(good, 3),
		"empty":     nil,
	}
	for name, b := range damaged {
		p := filepath.Join(t.TempDir(), name+".snap")
		os.WriteFile(p, b, 0o644)
		if _, _, _, err := client.OpenSnapshot(p); !errors.Is(err, client.ErrBadSnapshot) {
			t.Errorf("%s: OpenSnapshot = %v, want ErrBadSnapshot", name, err)
		}
	}
	// Past the file checksum, storage's own check still refuses a bad stream.
	dataDir := filepath.Join(t.TempDir(), "n1")
	_, err := server.Restore(server.RestoreConfig{Name: "n1", Site: "east", DataDir: dataDir,
		InitialCluster: []server.Peer{{Name: "n1", Site: "east", Address: "127.0.0.1:1"}}, Logger: quiet()},
		io.LimitReader(&zeroReader{}, 1000))
	if err == nil {
		t.Fatal("restore of a garbage stream succeeded")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "node.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed restore left node.json behind: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0xff
	return out
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
