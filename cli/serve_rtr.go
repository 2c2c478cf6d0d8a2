package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/rtr"
	"github.com/ipledger/ipledger/vrp"
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

func (f *rtrFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.maxVersion, "rtr-max-version", 1, "highest RTR protocol version: 1 (RFC 8210; version 0 routers are served too) or 0 (RFC 6810 only)")
	fs.DurationVar(&f.refresh, "rtr-refresh", rtr.DefaultRefresh, "RTR refresh interval told to version 1 routers (1s to 24h)")
	fs.DurationVar(&f.retry, "rtr-retry", rtr.DefaultRetry, "RTR retry interval told to version 1 routers (1s to 2h)")
	fs.DurationVar(&f.expire, "rtr-expire", rtr.DefaultExpire, "RTR expire interval told to version 1 routers (10m to 48h, above refresh and retry)")
	fs.IntVar(&f.maxConns, "rtr-max-conns", rtr.DefaultMaxConns, "most RTR connections at once")
	fs.DurationVar(&f.notify, "rtr-notify-interval", rtr.DefaultNotifyInterval, "least time between Serial Notify rounds (RFC 8210 asks for one minute; a shorter interval gets changes such as a lease's start to routers at once)")
	fs.StringVar(&f.vrpsFile, "vrps-file", "", "rpki-client JSON file of VRPs served with the ledger's route authorisations (RTR and /v1/vrps.json); re-read when it changes")
	fs.StringVar(&f.slurm, "slurm", "", "SLURM file (RFC 8416) of local filters and assertions applied to the VRPs served; re-read when it changes")
}

// Polling periods of the served set's inputs: the ledger's committed height (cheap: one
// atomic load), and the files' metadata.
const (
	ledgerPoll = 150 * time.Millisecond
	filePoll   = time.Second
)

// startRTR builds the served VRP set — the ledger's route authorisations and --vrps-file,
// without what has expired, then --slurm — keeps it current, and serves it over RTR at
// sf.rtr unless that is "off" (and over HTTP, see mountRTR).
func (s *server) startRTR(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	rtrOn := sf.rtr != "off" && sf.rtr != ""
	if !rtrOn && (sf.http == "off" || sf.http == "") {
		return nil
	}
	o := sf.rtrOpts
	if o.maxVersion != 0 && o.maxVersion != 1 {
		return fmt.Errorf("--rtr-max-version %d: want 0 or 1", o.maxVersion)
	}
	f, err := newVRPFeed(s.node, o.vrpsFile, o.slurm, s.log, reg)
	if err != nil {
		return err
	}
	if rtrOn {
		srv, err := rtr.New(rtr.Options{
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
		f.rtr = srv
		srv.Update(f.current().set)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, rtr.ErrServerClosed) {
				s.log.Error("rtr server", "err", err)
			}
		}()
	}
	f.start(ctx)
	s.vrps = f
	s.closers = append(s.closers, func() error {
		f.stop()
		if f.rtr != nil {
			return f.rtr.Close()
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

// ledgerVRPs returns the route authorisations in force on the ledger at snap (not expired
// at its block time, not suppressed by a lease: ledger.InForce) as VRPs with Source
// "ledger" and Expires the authorisation's expiry — the lease's end for a lessee's.
func ledgerVRPs(snap *chain.Snapshot) ([]vrp.VRP, error) {
	var out []vrp.VRP
	err := ledger.InForce(snap.State, snap.Block.Time.Unix(), func(ra *ipledger.RouteAuth) bool {
		v := vrp.VRP{Prefix: ra.Prefix, MaxLength: uint8(ra.MaxLength), ASN: ra.ASN, Source: "ledger"}
		if ra.Expires != 0 {
			v.Expires = time.Unix(ra.Expires, 0).UTC()
		}
		out = append(out, v)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("route authorisations at height %d: %w", snap.Height, err)
	}
	return out, nil
}

// vrpFeed keeps the served VRP set: the ledger's authorisations ∪ the external file,
// unexpired, with the SLURM exceptions applied. It polls its inputs and hands each new set
// to the RTR server.
type vrpFeed struct {
	node  *chain.Node
	log   *slog.Logger
	rtr   *rtr.Server // nil when RTR is off
	vrps  watchedFile
	slurm watchedFile
	m     feedMetrics

	// Inputs, owned by the polling goroutine after start.
	height     int64
	ledgerSet  *vrp.Set
	fileSet    *vrp.Set
	exceptions *vrp.SLURM

	served atomic.Pointer[servedSet]
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// servedSet is the set served and when it was built.
type servedSet struct {
	set   *vrp.Set
	built time.Time
}

// watchedFile is a file re-read when its identity, size or modification time changes.
type watchedFile struct {
	path string
	info os.FileInfo
}

// changed reports whether the file differs from when last read, with its new metadata.
func (w *watchedFile) changed() (bool, os.FileInfo, error) {
	fi, err := os.Stat(w.path)
	if err != nil {
		return false, nil, err
	}
	if w.info != nil && os.SameFile(w.info, fi) && fi.Size() == w.info.Size() && fi.ModTime().Equal(w.info.ModTime()) {
		return false, fi, nil
	}
	return true, fi, nil
}

type feedMetrics struct {
	loads *prometheus.CounterVec
	file  prometheus.Gauge
}

func newVRPFeed(node *chain.Node, vrpsFile, slurmFile string, log *slog.Logger, reg prometheus.Registerer) (*vrpFeed, error) {
	f := &vrpFeed{
		node:  node,
		log:   log,
		vrps:  watchedFile{path: vrpsFile},
		slurm: watchedFile{path: slurmFile},
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		m: feedMetrics{
			loads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_file_loads_total",
				Help: "Reads of --vrps-file and --slurm, by file and result (ok, error)."}, []string{"file", "result"}),
			file: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_file_vrps",
				Help: "Unexpired VRPs read from --vrps-file."}),
		},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{f.m.loads, f.m.file} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register rtr feed metrics: %w", err)
			}
		}
	}
	// Inputs that do not read at start are configuration errors: fail now.
	if slurmFile != "" {
		if _, err := f.loadSLURM(); err != nil {
			return nil, err
		}
	}
	if vrpsFile != "" {
		if _, err := f.loadVRPs(); err != nil {
			return nil, err
		}
	}
	f.loadLedger()
	f.publish()
	return f, nil
}

func (f *vrpFeed) current() *servedSet { return f.served.Load() }

// loadVRPs reads --vrps-file if it changed since the last read.
func (f *vrpFeed) loadVRPs() (bool, error) {
	ch, fi, err := f.vrps.changed()
	if err != nil {
		return false, fmt.Errorf("--vrps-file: %w", err)
	}
	if !ch {
		return false, nil
	}
	start := time.Now()
	r, err := os.Open(f.vrps.path)
	if err != nil {
		return false, fmt.Errorf("--vrps-file: %w", err)
	}
	defer r.Close()
	j, err := vrp.ReadJSON(r, time.Now())
	if err != nil {
		f.m.loads.WithLabelValues("vrps", "error").Inc()
		f.vrps.info = fi // do not retry until the file changes again
		return false, fmt.Errorf("--vrps-file %s: %w", f.vrps.path, err)
	}
	f.vrps.info = fi
	f.fileSet = j.Set
	f.m.loads.WithLabelValues("vrps", "ok").Inc()
	f.m.file.Set(float64(j.Set.Len()))
	f.log.Info("vrps file read", "path", f.vrps.path, "vrps", j.Set.Len(), "router_keys", j.Set.KeyLen(),
		"roas", j.ROAs, "expired", j.Expired, "buildtime", j.BuildTime, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// loadSLURM reads --slurm if it changed since the last read.
func (f *vrpFeed) loadSLURM() (bool, error) {
	ch, fi, err := f.slurm.changed()
	if err != nil {
		return false, fmt.Errorf("--slurm: %w", err)
	}
	if !ch {
		return false, nil
	}
	r, err := os.Open(f.slurm.path)
	if err != nil {
		return false, fmt.Errorf("--slurm: %w", err)
	}
	defer r.Close()
	sl, err := vrp.ReadSLURM(r)
	f.slurm.info = fi
	if err != nil {
		f.m.loads.WithLabelValues("slurm", "error").Inc()
		return false, fmt.Errorf("--slurm %s: %w", f.slurm.path, err)
	}
	f.exceptions = sl
	f.m.loads.WithLabelValues("slurm", "ok").Inc()
	f.log.Info("slurm file read", "path", f.slurm.path, "prefix_filters", len(sl.PrefixFilters), "bgpsec_filters", len(sl.BGPsecFilters),
		"prefix_assertions", len(sl.PrefixAssertions), "bgpsec_assertions", len(sl.BGPsecAssertions))
	return true, nil
}

// loadLedger takes the ledger's authorisations if a block was committed since the last
// look; it reports whether they changed.
func (f *vrpFeed) loadLedger() bool {
	snap := f.node.App().Committed()
	if snap == nil || snap.Height == f.height {
		return false
	}
	f.height = snap.Height
	vs, err := ledgerVRPs(snap)
	if err == nil {
		var set *vrp.Set
		if set, err = vrp.NewSet(vs, nil); err == nil {
			if set.Equal(f.ledgerSet) {
				return false
			}
			f.ledgerSet = set
			return true
		}
	}
	f.log.Error("ledger route authorisations; keeping the previous ones", "height", snap.Height, "err", err)
	return false
}

// publish recomputes the served set and hands it on if it changed.
func (f *vrpFeed) publish() {
	now := time.Now()
	set := f.exceptions.Apply(f.ledgerSet.Union(f.fileSet).Expire(now))
	if cur := f.current(); cur != nil && cur.set.Equal(set) {
		return
	}
	f.served.Store(&servedSet{set: set, built: now})
	if f.rtr != nil {
		f.rtr.Update(set)
	}
}

// start polls the inputs until stop or ctx ends.
func (f *vrpFeed) start(ctx context.Context) {
	go func() {
		defer close(f.done)
		lt := time.NewTicker(ledgerPoll)
		defer lt.Stop()
		ft := time.NewTicker(filePoll)
		defer ft.Stop()
		for {
			changed := false
			select {
			case <-ctx.Done():
				return
			case <-f.quit:
				return
			case <-lt.C:
				changed = f.loadLedger()
			case <-ft.C:
				if f.slurm.path != "" {
					ch, err := f.loadSLURM()
					if err != nil {
						f.log.Error("slurm file unreadable; keeping the previous exceptions", "err", err)
					}
					changed = changed || ch
				}
				if f.vrps.path != "" {
					ch, err := f.loadVRPs()
					if err != nil {
						f.log.Error("vrps file unreadable; keeping the previous VRPs", "err", err)
					}
					changed = changed || ch
				}
			}
			// What expired since leaves the set.
			if next := f.current().set.NextExpiry(); !next.IsZero() && !time.Now().Before(next) {
				changed = true
			}
			if changed {
				f.publish()
			}
		}
	}()
}

func (f *vrpFeed) stop() {
	f.once.Do(func() { close(f.quit) })
	<-f.done
}

// ServeHTTP writes the served set in rpki-client's JSON format.
func (f *vrpFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := f.current()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Last-Modified", cur.built.UTC().Format(http.TimeFormat))
	if err := vrp.WriteJSON(w, cur.set, cur.built); err != nil {
		f.log.Debug("vrps.json", "err", err)
	}
}
