package cli

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/rtr"
	"github.com/ipledger/ipledger/vrpfeed"
)

// rtrFlags are the RTR cache's settings beyond its address.
type rtrFlags struct {
	maxVersion             int
	refresh, retry, expire time.Duration
	maxConns               int
	notify                 time.Duration
	vrpsFile               string
	slurm                  string
}

// startRTR builds the served VRP set — the ledger's route authorisations and --vrps-file,
// without what has expired, then --slurm — keeps it current, and serves it over RTR at
// sf.rtr unless that is "off" (and over HTTP, see mountRTR).
func (s *server) startRTR(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	rtrOn := sf.rtr != "off" && sf.rtr != ""
	if !rtrOn && (sf.http == "off" || sf.http == "") {
		return nil
	}
	o := sf.rtrOpts
	if o.maxVersion < 0 || o.maxVersion > 2 {
		return fmt.Errorf("--rtr-max-version %d: want 0, 1 or 2", o.maxVersion)
	}
	f, err := vrpfeed.New(vrpfeed.Options{Ledger: ledgerAuths(s.node.App().Committed), VRPsFile: o.vrpsFile, SLURMFile: o.slurm,
		Logger: s.log, Registerer: reg})
	if err != nil {
		return err
	}
	var srv *rtr.Server
	if rtrOn {
		srv, err = rtr.New(rtr.Options{
			MaxVersion:     rtr.Version(o.maxVersion),
			Refresh:        o.refresh,
			Retry:          o.retry,
			Expire:         o.expire,
			MaxConns:       min(o.maxConns, s.guard.budget.Conns(listenRTR)),
			NotifyInterval: o.notify,
			// rtr caps per client itself: rtr.Server.Serve.
			MaxConnsPerClient: sf.guard.rtrPerClient,
			Trusted:           s.guard.trusted,
			Logger:            s.log,
			Registerer:        reg,
		})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", sf.rtr)
		if err != nil {
			return fmt.Errorf("rtr listener: %w", err)
		}
		f.Start(ctx, srv.Update)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, rtr.ErrServerClosed) {
				s.log.Error("rtr server", "err", err)
			}
		}()
	} else {
		f.Start(ctx, nil)
	}
	s.vrps = f
	s.closers = append(s.closers, func() error {
		f.Stop()
		if srv != nil {
			return srv.Close()
		}
		return nil
	})
	return nil
}

// mountRTR adds GET /v1/vrps.json: the served set in rpki-client's JSON format.
func (s *server) mountRTR(m map[string]http.Handler, sf serveFlags, reg prometheus.Registerer) error {
	if s.vrps != nil {
		m["GET /v1/vrps.json"] = s.vrps
	}
	return nil
}

// ledgerAuths is the VRP feed's view of the node's ledger: the committed height and the
// route authorisations in force at its block time (ledger.InForce: not expired, not
// suppressed by a lease), as root types.
func ledgerAuths(committed func() *ipledger.Snapshot) vrpfeed.Ledger {
	return func() (int64, iter.Seq2[ipledger.RouteAuth, error]) {
		snap := committed()
		if snap == nil {
			return 0, nil
		}
		return snap.Height, func(yield func(ipledger.RouteAuth, error) bool) {
			stopped := false
			err := ledger.InForce(snap.State, snap.Block.Time.Unix(), func(ra *ipledger.RouteAuth) bool {
				stopped = !yield(*ra, nil)
				return !stopped
			})
			if err != nil && !stopped {
				yield(ipledger.RouteAuth{}, fmt.Errorf("route authorisations at height %d: %w", snap.Height, err))
			}
		}
	}
}

// vrpStatusNode is the node as the JSON API sees it, with the served VRPs' counts and the
// file's condition in /v1/status.
type vrpStatusNode struct {
	*chain.Node
	feed *vrpfeed.Feed
}

// Status adds the VRP feed's status to the node's.
func (n vrpStatusNode) Status(ctx context.Context) (ipledger.NodeStatus, error) {
	st, err := n.Node.Status(ctx)
	if err == nil {
		vs := ipledger.VRPStatus(n.feed.Status())
		st.VRPs = &vs
	}
	return st, err
}

// statusBackend returns what the JSON API serves: the node, with the VRP feed's status
// when there is one.
func (s *server) statusBackend(n *chain.Node) httpapi.Backend {
	if s.vrps == nil {
		return n
	}
	return vrpStatusNode{Node: n, feed: s.vrps}
}
