package blocklist_test

import (
	"bufio"
	"bytes"
	"cmp"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/blocklist"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

const (
	snapshot1 = "abuse/spamhaus-drop-v4-2025-03-03.json"
	snapshot2 = "abuse/spamhaus-drop-v4-2025-04-15.json"
	eventsTSV = "abuse/spamhaus-drop-v4-events-2025-03-03_2025-04-15.tsv"
)

func readDROP(t testing.TB, rel string) *blocklist.List {
	t.Helper()
	b, err := os.ReadFile(ipledgertest.Data(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	l, err := blocklist.ReadDROP(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return l
}

func TestReadDROPReal(t *testing.T) {
	for _, c := range []struct {
		rel     string
		records int
		time    int64
	}{{snapshot1, 1360, 1740926274}, {snapshot2, 1406, 0}} {
		l := readDROP(t, c.rel)
		if len(l.Entries) != c.records || (c.time != 0 && l.Time != c.time) {
			t.Errorf("%s: %d entries at %d, want %d at %d", c.rel, len(l.Entries), l.Time, c.records, c.time)
		}
		if e := l.Entries[0]; e.Prefix != netip.MustParsePrefix("1.10.16.0/20") || e.ID != "SBL256894" {
			t.Errorf("%s: first entry %+v", c.rel, e)
		}
	}
}

func TestReadDROPRejects(t *testing.T) {
	meta := `{"type":"metadata","timestamp":1740926274,"records":1}` + "\n"
	for name, in := range map[string]string{
		"no metadata":    `{"cidr":"1.10.16.0/20","sblid":"SBL1","rir":"apnic"}` + "\n",
		"count":          `{"cidr":"1.10.16.0/20","sblid":"SBL1"}` + "\n" + `{"cidr":"1.19.0.0/16","sblid":"SBL2"}` + "\n" + meta,
		"host bits":      `{"cidr":"1.10.16.1/20","sblid":"SBL1"}` + "\n" + meta,
		"after metadata": `{"cidr":"1.10.16.0/20","sblid":"SBL1"}` + "\n" + meta + `{"cidr":"1.19.0.0/16"}` + "\n",
		"twice":          `{"cidr":"1.10.16.0/20"}` + "\n" + `{"cidr":"1.10.16.0/20"}` + "\n" + `{"type":"metadata","timestamp":1,"records":2}`,
		"not json":       "1.10.16.0/20\n" + meta,
	} {
		if _, err := blocklist.ReadDROP(strings.NewReader(in)); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}

func TestReadNetset(t *testing.T) {
	in := "#\n# firehol_level1\n#\n1.10.16.0/20\n192.0.2.7 # one address\n\n2001:db8::/32\n"
	l, err := blocklist.ReadNetset(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.10.16.0/20", "192.0.2.7/32", "2001:db8::/32"}
	var got []string
	for _, e := range l.Entries {
		got = append(got, e.Prefix.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"1.2.3.4/33\n", "1.2.3.4/24\n", "fe80::1%eth0\n", "not an address\n"} {
		if _, err := blocklist.ReadNetset(strings.NewReader(bad)); err == nil {
			t.Errorf("%q read", bad)
		}
	}
}

func FuzzReadDROP(f *testing.F) {
	f.Add([]byte(`{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` + "\n" + `{"type":"metadata","timestamp":1740926274,"size":83014,"records":1}` + "\n"))
	if p := ipledgertest.DataPath(snapshot1); p != "" {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 2000)])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := blocklist.ReadDROP(bytes.NewReader(b))
		if err == nil {
			checkSorted(t, l)
		}
	})
}

func FuzzReadNetset(f *testing.F) {
	f.Add([]byte("# comment\n1.10.16.0/20\n192.0.2.7\n2001:db8::/32\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := blocklist.ReadNetset(bytes.NewReader(b))
		if err == nil {
			checkSorted(t, l)
		}
	})
}

func checkSorted(t *testing.T, l *blocklist.List) {
	for i, e := range l.Entries {
		if !e.Prefix.IsValid() || e.Prefix != e.Prefix.Masked() {
			t.Fatalf("entry %d: %v", i, e.Prefix)
		}
		if i > 0 && l.Entries[i-1].Prefix == e.Prefix {
			t.Fatalf("entry %d twice", i)
		}
	}
}

// dropEvent is a line of the events TSV: a day's listing or delisting.
type dropEvent struct {
	listTime int64
	listed   bool
	entry    blocklist.Entry
}

func readEvents(t *testing.T) []dropEvent {
	f, err := os.Open(ipledgertest.Data(t, eventsTSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dropEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 6 {
			t.Fatalf("events line %q", sc.Text())
		}
		ts, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dropEvent{ts, fs[2] == "listed", blocklist.Entry{Prefix: netip.MustParsePrefix(fs[3]), ID: fs[4]}})
	}
	return out
}

// observerEnv is a ledger state with one observer, OBS, and synthetic block time.
type observerEnv struct {
	t     *testing.T
	l     *ledger.Ledger
	kv    ipledger.KV
	block ipledger.Block
	seq   uint64
}

func newObserverEnv(t *testing.T) *observerEnv {
	g := ipledgertest.Genesis()
	g.Observers = []ledger.GenesisOrg{{Handle: "OBS", Name: "Observer", Keys: []ipledger.PublicKey{ipledgertest.Key("OBS").Public()}}}
	e := &observerEnv{t: t, l: ledger.New("obs-test"), kv: store.NewMemKV(), block: ipledger.Block{Height: 1, Time: time.Unix(1740900000, 0)}}
	if err := e.l.InitGenesis(e.kv, g, e.block); err != nil {
		t.Fatal(err)
	}
	return e
}

// current reads OBS's set of list from the state, as the observe command reads it from a node.
func (e *observerEnv) current(list string) []blocklist.Entry {
	var out []blocklist.Entry
	if err := ledger.Observations(e.kv, "OBS", list, ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
		out = append(out, blocklist.Entry{Prefix: o.Prefix, ID: o.ID})
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// sync posts the changes from OBS's set to l, in batches of at most max, at block time at.
func (e *observerEnv) sync(list string, l *blocklist.List, at time.Time, max int) int {
	changes := blocklist.Changes(e.current(list), l.Entries)
	for _, b := range blocklist.Batches(list, l.Time, changes, max) {
		e.seq++
		e.block.Height++
		e.block.Time = at
		ipledgertest.Apply(e.t, e.l, e.kv, e.block, ipledger.KindObserve, e.seq, b, ipledgertest.Signer("OBS"))
	}
	return len(changes)
}

func entriesEqual(a, b []blocklist.Entry) bool { return slices.Equal(a, b) }

// TestObserveMatchesFile replays the real DROP history: the 2025-03-03 snapshot, then each
// day's changes from the events file on the day's block time, and after every run the
// observer's set on the ledger must equal the list; the last equals the 2025-04-15 file.
func TestObserveMatchesFile(t *testing.T) {
	first := readDROP(t, snapshot1)
	last := readDROP(t, snapshot2)
	events := readEvents(t)
	e := newObserverEnv(t)
	const list = "spamhaus-drop-v4"
	if n := e.sync(list, first, time.Unix(first.Time, 0), 400); n != 1360 {
		t.Fatalf("first run posted %d changes", n)
	}
	if !entriesEqual(e.current(list), first.Entries) {
		t.Fatal("the ledger's set differs from the first snapshot")
	}
	posted := 0
	for _, day := range dailyLists(t, first) {
		posted += e.sync(list, day, time.Unix(day.Time, 0), 7) // small batches: several per day
		if !entriesEqual(e.current(list), day.Entries) {
			t.Fatalf("after the list of %d the ledger's set differs", day.Time)
		}
		// Running again changes nothing.
		if n := e.sync(list, day, time.Unix(day.Time, 0), 7); n != 0 {
			t.Fatalf("a second run posted %d changes", n)
		}
	}
	if posted != len(events) {
		t.Errorf("posted %d changes for %d events", posted, len(events))
	}
	if !entriesEqual(e.current(list), last.Entries) {
		t.Fatal("the ledger's set differs from the 2025-04-15 snapshot")
	}
	// The grade over the history: a listing of the events file that was later delisted.
	var cured dropEvent
	for _, ev := range events {
		if !ev.listed {
			cured = ev
			break
		}
	}
	r, _ := ipledger.PrefixResource(cured.entry.Prefix)
	now := e.block.Time.Unix()
	if g := must(t)(ledger.GradeOf(e.kv, r, now)); g != ledger.GradeB && g != ledger.GradeC {
		t.Errorf("%s, delisted within the window: grade %s", r, g)
	}
	if g := must(t)(ledger.GradeOf(e.kv, r, now+400*24*3600)); g != ledger.GradeA && g != ledger.GradeC {
		t.Errorf("%s, a year later: grade %s", r, g)
	}
	listed, _ := ipledger.PrefixResource(last.Entries[0].Prefix)
	if g := must(t)(ledger.GradeOf(e.kv, listed, now)); g != ledger.GradeC {
		t.Errorf("%s, listed now: grade %s", listed, g)
	}
}

// dailyLists rebuilds the list of every day of the events file from the first snapshot.
func dailyLists(t *testing.T, first *blocklist.List) []*blocklist.List {
	events := readEvents(t)
	day := slices.Clone(first.Entries)
	var out []*blocklist.List
	for i := 0; i < len(events); {
		ts := events[i].listTime
		for ; i < len(events) && events[i].listTime == ts; i++ {
			ev := events[i]
			day = slices.DeleteFunc(day, func(x blocklist.Entry) bool { return x.Prefix == ev.entry.Prefix })
			if ev.listed {
				day = append(day, ev.entry)
			}
		}
		l := &blocklist.List{Time: ts, Entries: slices.Clone(day)}
		slices.SortFunc(l.Entries, func(a, b blocklist.Entry) int {
			return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()))
		})
		out = append(out, l)
	}
	return out
}

// TestObserveAnySequence: whichever days an observer runs on (days skipped, the same day
// twice) and whatever its batch size, after each run the ledger's set is that day's list.
func TestObserveAnySequence(t *testing.T) {
	first := readDROP(t, snapshot1)
	days := dailyLists(t, first)
	rng := rand.New(rand.NewPCG(18, 2025))
	for round := range 4 {
		e := newObserverEnv(t)
		const list = "drop"
		e.sync(list, first, time.Unix(first.Time, 0), 1+rng.IntN(400))
		for i := 0; i < len(days); i += rng.IntN(4) { // 0: the same day again
			e.sync(list, days[i], time.Unix(days[i].Time, 0), 1+rng.IntN(50))
			if !entriesEqual(e.current(list), days[i].Entries) {
				t.Fatalf("round %d, day %d: the ledger's set differs from the list", round, i)
			}
		}
	}
}

func must(t *testing.T) func(string, error) string {
	return func(s string, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
