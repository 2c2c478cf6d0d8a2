// Package vrpfeed keeps the set of route authorisations a node serves to routers (over
// RTR, package rtr, and as rpki-client JSON at /v1/vrps.json): the ledger's route
// authorisations in force, joined with an rpki-client JSON file of VRPs, router keys and
// ASPAs (--vrps-file), without what has expired, with a SLURM file's local exceptions
// (RFC 8416, --slurm) applied. It polls its inputs, hands each new set on, and reports the
// file's health in logs, metrics and a Status for /v1/status.
//
// It speaks root and vrp types only: the ledger reaches it as a Ledger function that the
// node's wiring writes over its committed snapshot.
package vrpfeed

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/vrp"
)

// Polling periods of the served set's inputs: the ledger's committed height (cheap: one
// atomic load), and the files' metadata. A file that cannot be read (missing, unreadable)
// is tried again after fileRetryMin, then twice as long each time up to fileRetryMax.
const (
	ledgerPoll   = 150 * time.Millisecond
	filePoll     = time.Second
	fileRetryMin = time.Second
	fileRetryMax = time.Minute
)

// Ledger is where a Feed takes the ledger's route authorisations from. Called at every
// ledger poll, it returns the committed height, cheaply, and the authorisations in force
// at that height (not expired at its block time, not suppressed by a lease), which the
// feed reads only when the height is new. auths yields each with a nil error, or a
// non-nil error and stops when they cannot be read; the feed then keeps the ones it had.
// A height of 0 means nothing is committed yet.
type Ledger func() (height int64, auths iter.Seq2[ipledger.RouteAuth, error])

// Options configure a Feed. The zero Options is a feed of nothing.
type Options struct {
	// Ledger gives the ledger's route authorisations; nil serves none (tests).
	Ledger Ledger
	// VRPsFile is an rpki-client JSON file; SLURMFile a SLURM file. Empty: none.
	VRPsFile, SLURMFile string
	// Logger takes the feed's log lines; nil discards them.
	Logger *slog.Logger
	// Registerer takes the feed's metrics (ipledger_rtr_file_*, ipledger_vrp_*); nil
	// leaves them unregistered.
	Registerer prometheus.Registerer
}

// Feed keeps the served VRP set: the ledger's authorisations ∪ the external file,
// unexpired, with the SLURM exceptions applied. Its methods are safe for concurrent use.
type Feed struct {
	ledger Ledger // nil: no ledger (tests)
	log    *slog.Logger
	update func(*vrp.Set) // set by Start; nil when nothing takes the sets
	vrps   watchedFile
	slurm  watchedFile
	m      metrics

	// Polling and retry periods: filePoll, fileRetryMin, fileRetryMax but in tests.
	poll, retryMin, retryMax time.Duration

	// Inputs, owned by the polling goroutine after Start.
	height     int64
	ledgerSet  *vrp.Set
	fileSet    *vrp.Set // unexpired entries of --vrps-file
	fileInfo   fileInfo
	exceptions *vrp.SLURM
	health     string // the file's condition as last logged: "" or "expired" (read errors: watchedFile)

	served  atomic.Pointer[servedSet]
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

// fileInfo is what the last good read of --vrps-file found.
type fileInfo struct {
	read      time.Time
	buildTime time.Time
	expired   int // entries dropped as expired, at the read and since
}

// servedSet is the set served, when it was built, and the file's condition then.
type servedSet struct {
	set    *vrp.Set
	built  time.Time
	status Status
}

// Status counts what a Feed serves and says how its VRP file fares: what /v1/status shows
// as "vrps" (ipledger.VRPStatus has the same fields).
type Status struct {
	Served     int // VRPs
	RouterKeys int
	ASPAs      int
	// File is the VRP file's path; empty without one, and then the fields below are zero.
	File string
	// FileServed counts the file's unexpired entries (VRPs, router keys, ASPAs);
	// DroppedExpired those dropped as expired, at the last read or since.
	FileServed     int
	DroppedExpired int
	// FileRead is when the file was last read, FileBuildTime its metadata.buildtime.
	FileRead      time.Time
	FileBuildTime time.Time
	// Error says why the file could not be read at the last attempt; what it held before
	// is still served.
	Error string
}

type metrics struct {
	loads       *prometheus.CounterVec
	file        prometheus.Gauge
	served      *prometheus.GaugeVec
	fileExpired prometheus.Gauge
	fileUp      prometheus.Gauge
	fileErrors  *prometheus.CounterVec
	retryDelay  *prometheus.GaugeVec
}

// New reads the feed's inputs and builds the first served set. A file given but not
// readable or not valid now is an error (a configuration error: the node should not
// start); later failures keep what was read before. The feed polls nothing until Start.
func New(o Options) (*Feed, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Feed{
		ledger:   o.Ledger,
		log:      log,
		vrps:     watchedFile{path: o.VRPsFile},
		slurm:    watchedFile{path: o.SLURMFile},
		poll:     filePoll,
		retryMin: fileRetryMin,
		retryMax: fileRetryMax,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		m: metrics{
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
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{f.m.loads, f.m.file, f.m.served, f.m.fileExpired, f.m.fileUp, f.m.fileErrors, f.m.retryDelay} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register rtr feed metrics: %w", err)
			}
		}
	}
	// Inputs that do not read at start are configuration errors: fail now.
	if o.SLURMFile != "" {
		if _, err := f.loadSLURM(); err != nil {
			return nil, err
		}
	}
	if o.VRPsFile != "" {
		if _, err := f.loadVRPs(); err != nil {
			return nil, err
		}
		f.m.fileUp.Set(1)
	}
	f.loadLedger()
	f.publish()
	return f, nil
}

func (f *Feed) current() *servedSet { return f.served.Load() }

// Set returns the set served now. It is never nil after New.
func (f *Feed) Set() *vrp.Set { return f.current().set }

// Status returns the served set's counts and the file's condition.
func (f *Feed) Status() Status { return f.current().status }

// loadLedger takes the ledger's authorisations if a block was committed since the last
// look; it reports whether they changed.
func (f *Feed) loadLedger() bool {
	if f.ledger == nil {
		return false
	}
	height, auths := f.ledger()
	if height == 0 || height == f.height {
		return false
	}
	f.height = height
	var readErr error
	set, err := vrp.FromRouteAuths(func(yield func(ipledger.RouteAuth) bool) {
		for ra, err := range auths {
			if err != nil {
				readErr = err
				return
			}
			if !yield(ra) {
				return
			}
		}
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		f.log.Error("ledger route authorisations; keeping the previous ones", "height", height, "err", err)
		return false
	}
	if set.Equal(f.ledgerSet) {
		return false
	}
	f.ledgerSet = set
	return true
}

// entries counts what s holds: VRPs, router keys and ASPAs.
func entries(s *vrp.Set) int { return s.Len() + s.KeyLen() + s.ASPALen() }

// publish recomputes the served set and hands it on if it changed.
func (f *Feed) publish() {
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
	if f.update != nil {
		f.update(set)
	}
}

// status describes set and the file it came from.
func (f *Feed) status(set *vrp.Set) Status {
	st := Status{Served: set.Len(), RouterKeys: set.KeyLen(), ASPAs: set.ASPALen(), File: f.vrps.path}
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
func (f *Feed) logHealth(st Status) {
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

// Start hands the current set to update, if update is not nil, and then polls the inputs
// until Stop or ctx ends, handing each new set to update (rtr.Server.Update, say). Call
// it once.
func (f *Feed) Start(ctx context.Context, update func(*vrp.Set)) {
	if update != nil {
		update(f.Set())
	}
	f.update = update
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

// Stop ends the polling Start began, if it did, and waits for it to end.
func (f *Feed) Stop() {
	f.once.Do(func() { close(f.quit) })
	if f.started.Load() {
		<-f.done
	}
}

// ServeHTTP writes the served set in rpki-client's JSON format, with its build time as
// Last-Modified.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := f.current()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Last-Modified", cur.built.UTC().Format(http.TimeFormat))
	if err := vrp.WriteJSON(w, cur.set, cur.built); err != nil {
		f.log.Debug("vrps.json", "err", err)
	}
}
