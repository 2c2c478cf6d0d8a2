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

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
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

// Polling periods of the served set's inputs: the ledger's committed height (cheap: one
// atomic load), and the files' metadata. A file that cannot be read (missing, unreadable)
// is tried again after fileRetryMin, then twice as long each time up to fileRetryMax.
const (
	ledgerPoll   = 150 * time.Millisecond
	filePoll     = time.Second
	fileRetryMin = time.Second
	fileRetryMax = time.Minute
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
	if o.maxVersion < 0 || o.maxVersion > 2 {
		return fmt.Errorf("--rtr-max-version %d: want 0, 1 or 2", o.maxVersion)
	}
	f, err := newVRPFeed(s.node.App().Committed, o.vrpsFile, o.slurm, s.log, reg)
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
	committed func() *chain.Snapshot // nil: no ledger (tests)
	log       *slog.Logger
	rtr       *rtr.Server // nil when RTR is off
	vrps      watchedFile
	slurm     watchedFile
	m         feedMetrics

	// Polling and retry periods: filePoll, fileRetryMin, fileRetryMax but in tests.
	poll, retryMin, retryMax time.Duration

	// Inputs, owned by the polling goroutine after start.
	height     int64
	ledgerSet  *vrp.Set
	fileSet    *vrp.Set // unexpired entries of --vrps-file
	fileInfo   vrpFileInfo
	exceptions *vrp.SLURM
	health     string // the file's condition as last logged: "" or "expired" (read errors: watchedFile)

	served  atomic.Pointer[servedSet]
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

// vrpFileInfo is what the last good read of --vrps-file found.
type vrpFileInfo struct {
	read      time.Time
	buildTime time.Time
	expired   int // entries dropped as expired, at the read and since
}

// servedSet is the set served, when it was built, and the file's condition then.
type servedSet struct {
	set    *vrp.Set
	built  time.Time
	status chain.VRPStatus
}

// watchedFile is a file re-read when its identity, size or modification time changes.
// One that cannot be opened is tried again with a growing delay.
type watchedFile struct {
	path    string
	info    os.FileInfo
	invalid error // why the file as it is now (info) does not parse; nil if it does

	next    time.Time     // no attempt before this, while failing
	delay   time.Duration // the current retry delay; 0 when the last attempt worked
	failing error         // why the last attempt failed; nil when it worked
	since   time.Time     // when failing began
	tries   int           // attempts since failing began
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

// invalidFile is a file that reads but does not parse: it is looked at again at every poll
// (a stat), not after a backoff, so that its fix is taken at once.
type invalidFile struct{ err error }

func (e *invalidFile) Error() string { return e.err.Error() }
func (e *invalidFile) Unwrap() error { return e.err }

// due reports whether the file may be looked at now: always, unless a failure put the
// next attempt off.
func (w *watchedFile) due(now time.Time) bool { return w.failing == nil || !now.Before(w.next) }

// failed records a failed attempt and, unless the file is merely invalid, puts the next
// one off: min, then twice the last delay, up to max. It reports whether this failure
// begins an episode (the file worked before, or the error is another one) and so deserves
// a log line.
func (w *watchedFile) failed(err error, now time.Time, min, max time.Duration) bool {
	if _, invalid := errors.AsType[*invalidFile](err); invalid {
		w.delay = 0
	} else {
		w.delay = clampDuration(2*w.delay, min, max)
	}
	w.next = now.Add(w.delay)
	w.tries++
	first := w.failing == nil || w.failing.Error() != err.Error()
	if w.failing == nil {
		w.since, w.tries = now, 1
	}
	w.failing = err
	return first
}

// recovered records a working attempt; it returns how long the file had been failing and
// after how many attempts, or 0 if it had not.
func (w *watchedFile) recovered(now time.Time) (time.Duration, int) {
	if w.failing == nil {
		return 0, 0
	}
	d, n := now.Sub(w.since), w.tries
	w.failing, w.delay, w.tries = nil, 0, 0
	return d, n
}

func clampDuration(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

type feedMetrics struct {
	loads       *prometheus.CounterVec
	file        prometheus.Gauge
	served      *prometheus.GaugeVec
	fileExpired prometheus.Gauge
	fileUp      prometheus.Gauge
	fileErrors  *prometheus.CounterVec
	retryDelay  *prometheus.GaugeVec
}

func newVRPFeed(committed func() *chain.Snapshot, vrpsFile, slurmFile string, log *slog.Logger, reg prometheus.Registerer) (*vrpFeed, error) {
	f := &vrpFeed{
		committed: committed,
		log:       log,
		vrps:      watchedFile{path: vrpsFile},
		slurm:     watchedFile{path: slurmFile},
		poll:      filePoll,
		retryMin:  fileRetryMin,
		retryMax:  fileRetryMax,
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		m: feedMetrics{
			loads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_file_loads_total",
				Help: "Reads of --vrps-file and --slurm, by file and result (ok, error)."}, []string{"file", "result"}),
			file: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_file_vrps",
				Help: "Unexpired VRPs read from --vrps-file."}),
			served: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ipledger_vrp_served",
				Help: "Entries of the served set (RTR, /v1/vrps.json), by kind (vrps, router_keys, aspas)."}, []string{"kind"}),
			fileExpired: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_vrp_file_dropped_expired",
				Help: "Entries of --vrps-file not served because they have expired (at the last read or since)."}),
			fileUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_vrp_file_up",
				Help: "1 if --vrps-file was read at the last attempt, 0 if it is missing, unreadable or invalid."}),
			fileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_vrp_file_errors_total",
				Help: "Failed attempts to read --vrps-file or --slurm, by file."}, []string{"file"}),
			retryDelay: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ipledger_vrp_file_retry_delay_seconds",
				Help: "Delay before the next attempt to read a file that could not be read, by file; 0 when it reads."}, []string{"file"}),
		},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{f.m.loads, f.m.file, f.m.served, f.m.fileExpired, f.m.fileUp, f.m.fileErrors, f.m.retryDelay} {
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
		f.m.fileUp.Set(1)
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
		return false, f.vrps.invalid
	}
	start := time.Now()
	r, err := os.Open(f.vrps.path)
	if err != nil {
		return false, fmt.Errorf("--vrps-file: %w", err)
	}
	defer r.Close()
	j, err := vrp.ReadJSON(r, time.Now())
	f.vrps.info = fi // an invalid file is not read again until it changes
	if err != nil {
		f.m.loads.WithLabelValues("vrps", "error").Inc()
		f.vrps.invalid = &invalidFile{fmt.Errorf("--vrps-file %s: %w", f.vrps.path, err)}
		return false, f.vrps.invalid
	}
	f.vrps.invalid = nil
	f.fileSet = j.Set
	f.fileInfo = vrpFileInfo{read: start, buildTime: j.BuildTime, expired: j.Expired}
	f.m.loads.WithLabelValues("vrps", "ok").Inc()
	f.m.file.Set(float64(j.Set.Len()))
	f.log.Info("vrps file read", "path", f.vrps.path, "vrps", j.Set.Len(), "router_keys", j.Set.KeyLen(), "aspas", j.Set.ASPALen(),
		"roas", j.ROAs, "expired", j.Expired, "buildtime", j.BuildTime, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// pollFile looks at one watched file if it is due, through load; a failure is logged
// once per episode (not per attempt) and puts the next attempt off, and the end of an
// episode is logged too. It reports whether the file brought a change.
func (f *vrpFeed) pollFile(w *watchedFile, name string, load func() (bool, error)) bool {
	now := time.Now()
	if w.path == "" || !w.due(now) {
		return false
	}
	prev := w.invalid
	ch, err := load()
	if err != nil {
		if err != prev { // not the same invalid file, unchanged since
			f.m.fileErrors.WithLabelValues(name).Inc()
		}
		if w.failed(err, now, f.retryMin, f.retryMax) {
			f.log.Error(name+" file unreadable; keeping what was read before, retrying with backoff",
				"err", err, "retry_in", w.delay, "retry_max", f.retryMax)
		}
		f.m.retryDelay.WithLabelValues(name).Set(w.delay.Seconds())
		if name == "vrps" {
			f.m.fileUp.Set(0)
		}
		return name == "vrps" // the status shows the error
	}
	if d, n := w.recovered(now); n > 0 {
		f.log.Info(name+" file readable again", "path", w.path, "failed_for", d.Round(time.Second), "attempts", n)
		f.m.retryDelay.WithLabelValues(name).Set(0)
		if name == "vrps" {
			f.m.fileUp.Set(1)
		}
		return true
	}
	return ch
}

// loadSLURM reads --slurm if it changed since the last read.
func (f *vrpFeed) loadSLURM() (bool, error) {
	ch, fi, err := f.slurm.changed()
	if err != nil {
		return false, fmt.Errorf("--slurm: %w", err)
	}
	if !ch {
		return false, f.slurm.invalid
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
		f.slurm.invalid = &invalidFile{fmt.Errorf("--slurm %s: %w", f.slurm.path, err)}
		return false, f.slurm.invalid
	}
	f.slurm.invalid = nil
	f.exceptions = sl
	f.m.loads.WithLabelValues("slurm", "ok").Inc()
	f.log.Info("slurm file read", "path", f.slurm.path, "prefix_filters", len(sl.PrefixFilters), "bgpsec_filters", len(sl.BGPsecFilters),
		"prefix_assertions", len(sl.PrefixAssertions), "bgpsec_assertions", len(sl.BGPsecAssertions))
	return true, nil
}

// loadLedger takes the ledger's authorisations if a block was committed since the last
// look; it reports whether they changed.
func (f *vrpFeed) loadLedger() bool {
	if f.committed == nil {
		return false
	}
	snap := f.committed()
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

// entries counts what s holds: VRPs, router keys and ASPAs.
func entries(s *vrp.Set) int { return s.Len() + s.KeyLen() + s.ASPALen() }

// publish recomputes the served set and hands it on if it changed.
func (f *vrpFeed) publish() {
	now := time.Now()
	// The file's entries that expired since it was read count as dropped.
	if live := f.fileSet.Expire(now); live != f.fileSet {
		f.fileInfo.expired += entries(f.fileSet) - entries(live)
		f.fileSet = live
		f.m.file.Set(float64(live.Len()))
	}
	set := f.exceptions.Apply(f.ledgerSet.Union(f.fileSet).Expire(now))
	st := f.status(set)
	f.logHealth(st)
	f.m.served.WithLabelValues("vrps").Set(float64(set.Len()))
	f.m.served.WithLabelValues("router_keys").Set(float64(set.KeyLen()))
	f.m.served.WithLabelValues("aspas").Set(float64(set.ASPALen()))
	f.m.fileExpired.Set(float64(f.fileInfo.expired))
	cur := f.current()
	if cur != nil && cur.set.Equal(set) {
		if cur.status != st {
			f.served.Store(&servedSet{set: cur.set, built: cur.built, status: st})
		}
		return
	}
	f.served.Store(&servedSet{set: set, built: now, status: st})
	if f.rtr != nil {
		f.rtr.Update(set)
	}
}

// status describes set and the file it came from, for /v1/status.
func (f *vrpFeed) status(set *vrp.Set) chain.VRPStatus {
	st := chain.VRPStatus{Served: set.Len(), RouterKeys: set.KeyLen(), ASPAs: set.ASPALen(), File: f.vrps.path}
	if f.vrps.path != "" {
		st.FileServed = entries(f.fileSet)
		st.DroppedExpired = f.fileInfo.expired
		st.FileRead = f.fileInfo.read.UTC().Truncate(time.Second)
		st.FileBuildTime = f.fileInfo.buildTime
		if err := f.vrps.failing; err != nil {
			st.Error = err.Error()
		}
	}
	return st
}

// logHealth logs the file's condition when it changes: WARN when every entry it holds has
// expired (it serves nothing), once, with the counts; INFO when it serves again. Read
// errors are logged by pollFile.
func (f *vrpFeed) logHealth(st chain.VRPStatus) {
	h := ""
	if st.File != "" && st.FileServed == 0 && st.DroppedExpired > 0 {
		h = "expired"
	}
	if h == f.health {
		return
	}
	f.health = h
	if h == "expired" {
		f.log.Warn("vrps file: every entry has expired; none of it is served", "path", st.File,
			"dropped_expired", st.DroppedExpired, "file_served", st.FileServed, "served", st.Served, "buildtime", st.FileBuildTime)
		return
	}
	f.log.Info("vrps file: unexpired entries served again", "path", st.File,
		"dropped_expired", st.DroppedExpired, "file_served", st.FileServed, "served", st.Served)
}

// Status returns the served set's counts and the file's condition.
func (f *vrpFeed) Status() chain.VRPStatus { return f.current().status }

// start polls the inputs until stop or ctx ends.
func (f *vrpFeed) start(ctx context.Context) {
	f.started.Store(true)
	go func() {
		defer close(f.done)
		lt := time.NewTicker(ledgerPoll)
		defer lt.Stop()
		ft := time.NewTicker(f.poll)
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
				changed = f.pollFile(&f.slurm, "slurm", f.loadSLURM)
				changed = f.pollFile(&f.vrps, "vrps", f.loadVRPs) || changed
			}
			// What expired since leaves the set.
			if next := f.current().set.NextExpiry(); !next.IsZero() && !time.Now().Before(next) {
				changed = true
			}
			if next := f.fileSet.NextExpiry(); !next.IsZero() && !time.Now().Before(next) {
				changed = true
			}
			if changed {
				f.publish()
			}
		}
	}()
}

// stop ends the polling started by start, if it was.
func (f *vrpFeed) stop() {
	f.once.Do(func() { close(f.quit) })
	if f.started.Load() {
		<-f.done
	}
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

// vrpStatusNode is the node as the JSON API sees it, with the served VRPs' counts and the
// file's condition in /v1/status.
type vrpStatusNode struct {
	*chain.Node
	feed *vrpFeed
}

// Status adds the VRP feed's status to the node's.
func (n vrpStatusNode) Status(ctx context.Context) (chain.Status, error) {
	st, err := n.Node.Status(ctx)
	if err == nil {
		vs := n.feed.Status()
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
