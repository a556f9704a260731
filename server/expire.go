package server

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// expireInterval is how often the leader checks for session work no
// command has done.
const expireInterval = time.Second

// maxExpiryNoops bounds the Noops one check proposes (each releases up to
// 1,024 handles of ended sessions), should the work never seem done.
const maxExpiryNoops = 256

// expireSessions makes session expiry and the release of ended sessions'
// handles happen on an idle cluster too: every command does that work
// before its own (a bounded share of it), and while some is due and no
// command comes, the leader proposes Noops. Without it a client that
// vanished from an idle cluster would hold its open files, unlinked ones
// included, until the next command.
func (n *Node) expireSessions(ctx context.Context) {
	every(ctx, expireInterval, func() {
		for range maxExpiryNoops {
			if !n.IsLeader() || ctx.Err() != nil {
				return
			}
			due, err := n.expiryDue()
			if err != nil {
				n.log.Warn("session expiry check", "err", err)
			}
			if !due {
				return
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = n.proposeSystem(pctx, &pb.Command{Op: &pb.Command_Noop{Noop: &pb.Noop{}}})
			cancel()
			if err != nil {
				n.log.Debug("session expiry noop", "err", err)
				return
			}
		}
	})
}

func (n *Node) expiryDue() (bool, error) {
	v, err := n.eng.View(shardID)
	if err != nil {
		return false, err
	}
	defer v.Close()
	return namespace.ExpiryDue(v, time.Now().UnixNano())
}
