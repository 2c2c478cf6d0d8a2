package vrpfeed

import (
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/vrp"
)

// logLines is a log sink tests count lines of.
type logLines struct{ ipledgertest.LockedBuffer }

// count returns the lines at level (INFO, WARN, ERROR) that contain msg.
func (l *logLines) count(level, msg string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, "level="+level) && strings.Contains(line, msg) {
			n++
		}
	}
	return n
}

// writeVRPs writes an rpki-client file atomically: live and expired VRPs (10.i.0.0/16
// and 11.i.0.0/16) and one expired ASPA when expired > 0; live ones expire at exp.
func writeVRPs(t *testing.T, path string, live, expired int, exp time.Time) {
	t.Helper()
	var roas []string
	for i := range live {
		roas = append(roas, fmt.Sprintf(`{"asn": 64496, "prefix": "10.%d.0.0/16", "maxLength": 16, "ta": "test", "expires": %d}`, i, exp.Unix()))
	}
	past := time.Now().Add(-time.Hour).Unix()
	for i := range expired {
		roas = append(roas, fmt.Sprintf(`{"asn": 64497, "prefix": "11.%d.0.0/16", "maxLength": 16, "ta": "test", "expires": %d}`, i, past))
	}
	aspas := ""
	if expired > 0 {
		aspas = fmt.Sprintf(`{"customer_asid": 64496, "providers": [64497], "expires": %d}`, past)
	}
	doc := fmt.Sprintf(`{"metadata": {"buildtime": "2025-07-20T10:01:43Z"}, "roas": [%s], "aspas": [%s]}`, strings.Join(roas, ",\n"), aspas)
	if err := os.WriteFile(path+".tmp", []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// testFeed starts a feed of path with fast polling and retries.
func testFeed(t *testing.T, path string) (*Feed, *logLines) {
	t.Helper()
	logs := &logLines{}
	f, err := New(Options{VRPsFile: path, Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	f.poll, f.retryMin, f.retryMax = 10*time.Millisecond, 10*time.Millisecond, 80*time.Millisecond
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	return f, logs
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestVRPFileAllExpired: a file whose every entry has expired is one WARN with the counts
// when that first appears, none while it stays so, an INFO line when entries are served
// again, and a WARN again when they expire while served; /v1/status's counts and the
// metric follow.
func TestVRPFileAllExpired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPs(t, path, 0, 3, time.Time{})
	f, logs := testFeed(t, path)
	const warn = "every entry has expired"
	if n := logs.count("WARN", warn); n != 1 || !strings.Contains(logs.String(), "dropped_expired=4") {
		t.Fatalf("%d WARN lines %q with dropped_expired=4, want 1", n, warn)
	}
	if st := f.Status(); st.Served != 0 || st.DroppedExpired != 4 || st.FileServed != 0 || st.File != path || st.Error != "" {
		t.Fatalf("status %+v, want 0 served, 4 dropped", st)
	}
	f.Start(t.Context(), nil)

	writeVRPs(t, path, 0, 5, time.Time{}) // still all expired: no new line
	waitFor(t, "the second file", func() bool { return f.Status().DroppedExpired == 6 })
	if n := logs.count("WARN", warn); n != 1 {
		t.Errorf("%d WARN lines after a second expired file, want 1", n)
	}

	writeVRPs(t, path, 2, 1, time.Now().Add(2*time.Second)) // live for 2 s
	waitFor(t, "the live file", func() bool { return f.Status().Served == 2 })
	if st := f.Status(); st.DroppedExpired != 2 || st.FileServed != 2 {
		t.Errorf("status %+v, want 2 served, 2 dropped", st)
	}
	if n := logs.count("INFO", "unexpired entries served again"); n != 1 {
		t.Errorf("%d INFO lines on recovery, want 1", n)
	}
	if v := ipledgertest.MetricValue(t, f.m.fileExpired); v != 2 {
		t.Errorf("ipledger_vrp_file_dropped_expired %v, want 2", v)
	}

	waitFor(t, "the entries to expire", func() bool { return f.Status().Served == 0 })
	if st := f.Status(); st.DroppedExpired != 4 || logs.count("WARN", warn) != 2 {
		t.Errorf("after expiry: status %+v, %d WARN lines; want 4 dropped, 2 lines", st, logs.count("WARN", warn))
	}
	if v := ipledgertest.MetricValue(t, f.m.served.WithLabelValues("vrps")); v != 0 {
		t.Errorf("ipledger_vrp_served{kind=vrps} %v, want 0", v)
	}
}

// TestVRPFileMissingBackoff: a file that goes missing is one ERROR line for the episode,
// retried after 10, 20, 40, 80, 80… ms (here; 1 s to 1 min by default) rather than at every
// 10 ms poll, its error in the status while the VRPs read before are still served; its
// return is one INFO line. An invalid file is one ERROR line too, and is looked at again
// at every poll (its fix is taken at once).
func TestVRPFileMissingBackoff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPs(t, path, 1, 0, time.Now().Add(time.Hour))
	f, logs := testFeed(t, path)
	f.Start(t.Context(), nil)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the error", func() bool { return f.Status().Error != "" })
	time.Sleep(time.Second)
	attempts := ipledgertest.MetricValue(t, f.m.fileErrors.WithLabelValues("vrps"))
	// Without backoff: about 100 attempts in a second of 10 ms polls.
	if attempts < 5 || attempts > 30 {
		t.Errorf("%v attempts in a second, want about 15 (10 ms doubling to 80 ms)", attempts)
	}
	if d := ipledgertest.MetricValue(t, f.m.retryDelay.WithLabelValues("vrps")); d != 0.08 {
		t.Errorf("retry delay %v s, want 0.08", d)
	}
	if n := logs.count("ERROR", "vrps file unreadable"); n != 1 {
		t.Errorf("%d ERROR lines in the episode, want 1", n)
	}
	if st := f.Status(); !strings.Contains(st.Error, "no such file") || st.Served != 1 || ipledgertest.MetricValue(t, f.m.fileUp) != 0 {
		t.Errorf("status %+v, up %v; want the error, 1 VRP still served, up 0", st, ipledgertest.MetricValue(t, f.m.fileUp))
	}

	writeVRPs(t, path, 2, 0, time.Now().Add(time.Hour))
	waitFor(t, "the file back", func() bool { return f.Status().Served == 2 })
	if st := f.Status(); st.Error != "" || logs.count("INFO", "vrps file readable again") != 1 || ipledgertest.MetricValue(t, f.m.fileUp) != 1 {
		t.Errorf("status %+v, %d INFO lines; want no error, 1 line", st, logs.count("INFO", "vrps file readable again"))
	}

	if err := os.WriteFile(path, []byte(`{"roas": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the invalid file", func() bool { return f.Status().Error != "" })
	before := ipledgertest.MetricValue(t, f.m.fileErrors.WithLabelValues("vrps"))
	time.Sleep(200 * time.Millisecond)
	if n, after := logs.count("ERROR", "vrps file unreadable"), ipledgertest.MetricValue(t, f.m.fileErrors.WithLabelValues("vrps")); n != 2 || after != before {
		t.Errorf("invalid file: %d ERROR lines (want 2), errors counted %v → %v (want no change while it stays)", n, before, after)
	}
	if st := f.Status(); st.Served != 2 {
		t.Errorf("status %+v, want the 2 VRPs read before", st)
	}
	writeVRPs(t, path, 3, 0, time.Now().Add(time.Hour))
	start := time.Now()
	waitFor(t, "the fixed file", func() bool { return f.Status().Served == 3 })
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the fixed file was taken after %v", d)
	}
}

// fakeLedger is a Ledger whose height and authorisations a test sets; fail makes the
// authorisations fail to read after the first.
type fakeLedger struct {
	mu     sync.Mutex
	height int64
	auths  []ipledger.RouteAuth
	fail   error
	reads  int
}

func (l *fakeLedger) set(height int64, fail error, auths ...ipledger.RouteAuth) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.height, l.fail, l.auths = height, fail, auths
}

func (l *fakeLedger) ledger() (int64, iter.Seq2[ipledger.RouteAuth, error]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	height, auths, fail := l.height, l.auths, l.fail
	return height, func(yield func(ipledger.RouteAuth, error) bool) {
		l.mu.Lock()
		l.reads++
		l.mu.Unlock()
		for i, ra := range auths {
			if i == 1 && fail != nil {
				yield(ipledger.RouteAuth{}, fail)
				return
			}
			if !yield(ra, nil) {
				return
			}
		}
	}
}

func (l *fakeLedger) readCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads
}

// TestLedger: the ledger's authorisations are served with the file's, as VRPs of source
// "ledger"; they are read once per new height, not at every poll; the set handed on
// changes only when they do; an authorisation that cannot be read keeps the previous
// ones, with one ERROR line.
func TestLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPs(t, path, 1, 0, time.Now().Add(time.Hour))
	ra := func(id uint64, prefix string, asn uint32) ipledger.RouteAuth {
		p := netip.MustParsePrefix(prefix)
		return ipledger.RouteAuth{ID: id, Prefix: p, MaxLength: p.Bits(), ASN: asn}
	}
	l := &fakeLedger{}
	l.set(0, nil, ra(1, "192.0.2.0/24", 64500)) // nothing committed yet: not read
	logs := &logLines{}
	f, err := New(Options{Ledger: l.ledger, VRPsFile: path, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	if st := f.Status(); st.Served != 1 || l.readCount() != 0 {
		t.Fatalf("before the first block: %d served, %d reads; want the file's 1, no read", st.Served, l.readCount())
	}
	var mu sync.Mutex
	var updates []*vrp.Set
	f.Start(t.Context(), func(s *vrp.Set) {
		mu.Lock()
		defer mu.Unlock()
		updates = append(updates, s)
	})
	updateCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(updates)
	}

	l.set(5, nil, ra(1, "192.0.2.0/24", 64500), ra(2, "2001:db8::/32", 64501))
	waitFor(t, "the ledger's authorisations", func() bool { return f.Status().Served == 3 })
	want := vrp.VRP{Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 32, ASN: 64501, Source: "ledger"}
	if !f.Set().Contains(want) {
		t.Errorf("served set lacks %v", want)
	}
	time.Sleep(4 * ledgerPoll)
	if n := l.readCount(); n != 1 {
		t.Errorf("%d reads at one height, want 1", n)
	}

	l.set(6, nil, ra(2, "2001:db8::/32", 64501), ra(1, "192.0.2.0/24", 64500)) // a new height, the same authorisations
	waitFor(t, "height 6 read", func() bool { return l.readCount() == 2 })
	time.Sleep(2 * ledgerPoll)
	if n := updateCount(); n != 2 {
		t.Errorf("%d sets handed on, want 2 (at Start, at height 5)", n)
	}

	l.set(7, errors.New("disk on fire"), ra(3, "198.51.100.0/24", 64502), ra(4, "203.0.113.0/24", 64503))
	waitFor(t, "height 7 read", func() bool { return l.readCount() == 3 })
	time.Sleep(2 * ledgerPoll)
	if st := f.Status(); st.Served != 3 || !f.Set().Contains(want) || updateCount() != 2 {
		t.Errorf("after a failed read: %d served, %d sets handed on; want the 3 served before, 2", st.Served, updateCount())
	}
	if n := logs.count("ERROR", "disk on fire"); n != 1 {
		t.Errorf("%d ERROR lines for the failed read, want 1:\n%s", n, logs)
	}

	l.set(8, nil, ra(3, "198.51.100.0/24", 64502))
	waitFor(t, "height 8", func() bool { return f.Status().Served == 2 })
	if f.Set().Contains(want) || updateCount() != 3 {
		t.Errorf("height 8: %v served, %d sets handed on; want 2 VRPs, 3 sets", slices.Collect(f.Set().All()), updateCount())
	}
}
