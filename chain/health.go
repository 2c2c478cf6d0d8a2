package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
)

// A node halts when it can no longer follow the chain: CometBFT's consensus routine
// failed (it recovers the panic, logs "CONSENSUS FAILURE!!!" and handles no more
// messages, but the process stays up), the application failed to finalize or commit a
// block (CometBFT turns that into the same failure), or the disk fell below the stop
// threshold. A halted node refuses transactions, says so in Status and the
// ipledger_node_halted gauge, and closes Halted for its owner to stop it and exit.

// HaltLinger is how long a node whose consensus failed keeps answering (status 503,
// transactions refused) before Halted closes: long enough for a health check or a scrape
// to see why it is going. A disk stop closes Halted at once, since the node is still
// writing.
const HaltLinger = 3 * time.Second

// halter records the first reason the node halted.
type halter struct {
	log    *slog.Logger
	once   sync.Once
	reason atomic.Pointer[string]
	exit   chan struct{} // closed when the owner should stop the node
}

func newHalter(log *slog.Logger) *halter {
	return &halter{log: log, exit: make(chan struct{})}
}

// halt records reason, unless the node halted already, logs it once and closes exit
// after linger.
func (h *halter) halt(reason string, linger time.Duration) {
	h.once.Do(func() {
		h.reason.Store(&reason)
		h.log.Error("node halted: it follows the chain no more and will exit", "reason", reason)
		if linger <= 0 {
			close(h.exit)
			return
		}
		time.AfterFunc(linger, func() { close(h.exit) })
	})
}

// Reason returns why the node halted, or "" if it has not.
func (h *halter) Reason() string {
	if r := h.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// consensusFailure is the message CometBFT v1.0.1's consensus routine logs when it
// recovers a panic and stops (internal/consensus/state.go, receiveRoutine). It offers no
// other hook.
const consensusFailure = "CONSENSUS FAILURE!!!"

// Threshold is a free-space limit: the smaller of Bytes and Percent of the filesystem's
// size, each if non-zero. The zero Threshold is no limit.
type Threshold struct {
	Bytes   uint64
	Percent float64
}

// Default free-space thresholds (see ParseThreshold): below the first a node refuses new
// transactions, below the second it stops. Relative to the filesystem so that a small
// disk (a CI machine's) is not always "full".
var (
	DefaultRefuseBelow = Threshold{Bytes: 2 << 30, Percent: 5}
	DefaultStopBelow   = Threshold{Bytes: 256 << 20, Percent: 1}
)

// Limit returns the threshold in bytes for a filesystem of total bytes; 0 means none.
func (t Threshold) Limit(total uint64) uint64 {
	limit := uint64(math.MaxUint64)
	if t.Bytes > 0 {
		limit = t.Bytes
	}
	if t.Percent > 0 {
		limit = min(limit, uint64(float64(total)*t.Percent/100))
	}
	if limit == math.MaxUint64 {
		return 0
	}
	return limit
}

// String returns the threshold in ParseThreshold's syntax: "2GiB,5%", or "off".
func (t Threshold) String() string {
	var parts []string
	if t.Bytes > 0 {
		parts = append(parts, exactSize(t.Bytes))
	}
	if t.Percent > 0 {
		parts = append(parts, strconv.FormatFloat(t.Percent, 'f', -1, 64)+"%")
	}
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ",")
}

// ParseThreshold parses a free-space threshold: a size ("2GiB", "512MiB", "100KiB",
// "4096B"), a percentage of the filesystem ("5%"), both comma-separated (the smaller
// applies), or "off" (or "0") for none.
func ParseThreshold(s string) (Threshold, error) {
	var t Threshold
	if s == "off" || s == "0" {
		return t, nil
	}
	bad := func() (Threshold, error) {
		return Threshold{}, fmt.Errorf("free-space threshold %q: want a size like 2GiB, a percentage like 5%%, both as 2GiB,5%%, or off", s)
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if p, ok := strings.CutSuffix(part, "%"); ok {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || !(v > 0 && v < 100) || t.Percent != 0 {
				return bad()
			}
			t.Percent = v
			continue
		}
		n, ok := parseSize(part)
		if !ok || n == 0 || t.Bytes != 0 {
			return bad()
		}
		t.Bytes = n
	}
	return t, nil
}

// exactSize writes n in the largest binary unit that divides it: "2GiB", "1536MiB".
func exactSize(n uint64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n%(1<<u.shift) == 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatUint(n, 10) + "B"
}

func parseSize(s string) (uint64, bool) {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil || v > math.MaxUint64>>u.shift {
				return 0, false
			}
			return v << u.shift, true
		}
	}
	return 0, false
}

// formatBytes writes n with a binary unit and one decimal: "1.2 GiB", "512.0 MiB", "900 B".
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}

// DiskUsage returns the free bytes (available to an unprivileged user) and the size of
// the filesystem holding path.
func DiskUsage(path string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), uint64(st.Blocks) * uint64(st.Bsize), nil
}

// FreeSpaceFileEnv names the test hook of DiskUsageOrHook: a file holding "FREE TOTAL"
// in bytes, read instead of the filesystem's figures. End-to-end tests set it to play a
// filling disk; operators never should.
const FreeSpaceFileEnv = "IPLEDGER_TEST_FREE_SPACE_FILE"

// DiskUsageOrHook is DiskUsage, unless the environment names a FreeSpaceFileEnv file.
func DiskUsageOrHook(path string) (free, total uint64, err error) {
	hook := os.Getenv(FreeSpaceFileEnv)
	if hook == "" {
		return DiskUsage(path)
	}
	b, err := os.ReadFile(hook)
	if err != nil {
		return 0, 0, fmt.Errorf("free-space hook: %w", err)
	}
	if _, err := fmt.Sscan(string(b), &free, &total); err != nil {
		return 0, 0, fmt.Errorf("free-space hook %s: want FREE TOTAL in bytes: %w", hook, err)
	}
	return free, total, nil
}

// DiskOptions configure the free-space watch of a node's home.
type DiskOptions struct {
	// RefuseBelow is the free space below which the node refuses new transactions (they
	// would fill the disk further); StopBelow the one below which it halts and closes
	// Halted at once, and below which Start refuses to start. Zero Thresholds are off.
	RefuseBelow, StopBelow Threshold
	// Interval between two looks; zero means 2 s.
	Interval time.Duration
	// Usage reports free and total bytes for the home; nil means DiskUsageOrHook.
	Usage func(path string) (free, total uint64, err error)
}

// diskWatch keeps the last free-space figures of the node's home, cheap to read before
// admitting a transaction.
type diskWatch struct {
	path     string
	o        DiskOptions
	log      *slog.Logger
	free     atomic.Uint64
	total    atomic.Uint64
	refusing atomic.Pointer[string] // why transactions are refused; nil when they are not
	mu       sync.Mutex             // held by a look
	last     atomic.Int64           // time of the last look, Unix nanoseconds
	failing  bool                   // the last look failed (logged once); under mu
	started  bool                   // log changes of the refusal; under mu, false during Start
}

// freshness is how old the figures may be when a transaction is admitted: under load a
// small disk fills faster than the watch's interval.
const freshness = 100 * time.Millisecond

// refresh looks again if the figures are older than freshness and no look is under way,
// and halts the node below the stop threshold. A statfs costs a few microseconds.
func (d *diskWatch) refresh(h *halter) {
	if time.Now().UnixNano()-d.last.Load() < int64(freshness) || !d.mu.TryLock() {
		return
	}
	stop := d.lookLocked()
	d.mu.Unlock()
	if stop != "" {
		h.halt(stop, 0)
	}
}

func newDiskWatch(path string, o DiskOptions, log *slog.Logger) *diskWatch {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Usage == nil {
		o.Usage = DiskUsageOrHook
	}
	return &diskWatch{path: path, o: o, log: log}
}

// CheckDisk reports whether a node in home may start with the free space its filesystem
// has now, as Start checks first: an error wrapping ErrDiskFull below the stop threshold
// of o or below what the store needs to open. Callers that set up other things before
// Start call it first, so that a full disk refuses in one line.
func CheckDisk(home string, o DiskOptions) error {
	return newDiskWatch(home, o, slog.New(slog.DiscardHandler)).startable()
}

// startable is CheckDisk's check. Below the stop threshold nothing starts: a store
// opening on a full disk retries its first flush for ever (see docs/ARCHITECTURE.md,
// "Halts").
func (d *diskWatch) startable() error {
	if stop := d.look(); stop != "" {
		return fmt.Errorf("start node: %s: not starting (%w)", stop, ErrDiskFull)
	}
	if err := d.storeCanOpen(filepath.Join(d.path, "ledger")); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	return nil
}

// ErrDiskFull is the start-up refusal below the stop threshold; check with errors.Is.
var ErrDiskFull = errors.New("disk full")

// look reads the free space, updates the figures and the refusal, and returns a reason
// to stop if free space is below the stop threshold.
func (d *diskWatch) look() (stop string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookLocked()
}

func (d *diskWatch) lookLocked() (stop string) {
	d.last.Store(time.Now().UnixNano())
	free, total, err := d.o.Usage(d.path)
	if err != nil {
		// Not knowing is no reason to refuse: keep the last figures, say so once.
		if !d.failing {
			d.log.Warn("free space unknown", "path", d.path, "err", err)
			d.failing = true
		}
		return ""
	}
	d.failing = false
	d.free.Store(free)
	d.total.Store(total)
	if limit := d.o.StopBelow.Limit(total); free < limit {
		return fmt.Sprintf("free space %s below the stop threshold %s on %s", formatBytes(free), formatBytes(limit), d.path)
	}
	limit := d.o.RefuseBelow.Limit(total)
	was := d.refusing.Load()
	if free < limit {
		r := fmt.Sprintf("free space %s below %s on %s", formatBytes(free), formatBytes(limit), d.path)
		d.refusing.Store(&r)
		if was == nil && d.started {
			d.log.Warn("refusing transactions: disk nearly full", "free", formatBytes(free), "threshold", formatBytes(limit), "path", d.path)
		}
		return ""
	}
	if was != nil {
		d.refusing.Store(nil)
		if !d.started {
			return ""
		}
		d.log.Info("accepting transactions again", "free", formatBytes(free), "threshold", formatBytes(limit), "path", d.path)
	}
	return ""
}

// storeCanOpen checks, when a stop threshold is set, that the store in dir has room to
// open: Pebble flushes the write-ahead logs it finds to tables before Open returns, and a
// flush that does not fit fails and is retried for ever. The logs' size bounds the tables'.
func (d *diskWatch) storeCanOpen(dir string) error {
	if d.o.StopBelow == (Threshold{}) || d.failing {
		return nil
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var need uint64
	for _, l := range logs {
		if fi, err := os.Stat(l); err == nil {
			need += uint64(fi.Size())
		}
	}
	if free := d.free.Load(); free < need {
		return fmt.Errorf("free space %s on %s below the %s the store needs to open (it flushes its write-ahead log): not starting (%w)",
			formatBytes(free), d.path, formatBytes(need), ErrDiskFull)
	}
	return nil
}

// refusal returns why new transactions are refused, or "".
func (d *diskWatch) refusal() string {
	if r := d.refusing.Load(); r != nil {
		return *r
	}
	return ""
}

// run looks every interval until done closes, and halts the node below the stop
// threshold.
func (d *diskWatch) run(h *halter, done <-chan struct{}) {
	d.mu.Lock()
	d.started = true
	d.mu.Unlock()
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-h.exit:
			return
		case <-t.C:
		}
		if stop := d.look(); stop != "" {
			h.halt(stop, 0)
			return
		}
	}
}

// haltingApp is the App as CometBFT sees it: a block the App fails to finalize or commit
// (the store failed) halts the node with the App's own error, before CometBFT turns it
// into a consensus failure.
type haltingApp struct {
	*App
	h *halter
	d *diskWatch
}

// CheckTx is App.CheckTx, but a new transaction (submitted here or gossiped by a peer) is
// refused while the node refuses submissions (halted, or its disk below the refuse
// threshold); rechecks of what the mempool holds go on.
func (a haltingApp) CheckTx(ctx context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	if req.Type != abci.CHECK_TX_TYPE_RECHECK {
		if r := refusal(a.h, a.d); r != "" {
			return a.checkTxResponse(ipledger.Errorf(ipledger.CodeUnavailable, "%s; retry later or at another node", r)), nil
		}
	}
	return a.App.CheckTx(ctx, req)
}

// refusal returns why the node refuses new transactions now (halted, or its disk below the
// refuse threshold), or "".
func refusal(h *halter, d *diskWatch) string {
	if r := h.Reason(); r != "" {
		return "node halted: " + r
	}
	return d.refusal()
}

// FinalizeBlock is App.FinalizeBlock; an error halts the node.
func (a haltingApp) FinalizeBlock(ctx context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	res, err := a.App.FinalizeBlock(ctx, req)
	if err != nil {
		a.h.halt(err.Error(), HaltLinger)
	}
	return res, err
}

// Commit is App.Commit; an error halts the node.
func (a haltingApp) Commit(ctx context.Context, req *abci.CommitRequest) (*abci.CommitResponse, error) {
	res, err := a.App.Commit(ctx, req)
	if err != nil {
		a.h.halt(err.Error(), HaltLinger)
	}
	return res, err
}

// registerHealth registers the halt and free-space gauges.
func registerHealth(reg prometheus.Registerer, h *halter, d *diskWatch) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ipledger_node_halted", Help: "1 if the node halted (consensus failure, failed commit, disk below the stop threshold) and is about to exit; /v1/status says why."},
			func() float64 { return b2f(h.Reason() != "") }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ipledger_disk_free_bytes", Help: "Free space of the filesystem of the node's home, as last seen."},
			func() float64 { return float64(d.free.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ipledger_disk_refusing", Help: "1 while the node refuses new transactions because free space is below the refuse threshold."},
			func() float64 { return b2f(d.refusal() != "") }),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
