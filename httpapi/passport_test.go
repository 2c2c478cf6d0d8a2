package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// passportApp is a state built by signed transactions, one a block, with the history
// index those transactions' results make.
type passportApp struct {
	stateApp
	t       testing.TB
	l       *ledger.Ledger
	block   ipledger.Block
	seq     map[string]uint64
	history map[string][]ipledger.HistoryEntry
	detail  map[ipledger.HistoryPos]ipledger.HistoryDetail
}

func newPassportApp(t testing.TB) *passportApp {
	g := ipledgertest.Genesis()
	g.Observers = []ledger.GenesisOrg{{Handle: "OBS", Name: "Observer", Keys: []ipledger.PublicKey{ipledgertest.Key("OBS").Public()}}}
	kv := store.NewMemKV()
	a := &passportApp{t: t, l: ledger.New(testChain), block: ipledger.Block{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		seq: map[string]uint64{}, history: map[string][]ipledger.HistoryEntry{}, detail: map[ipledger.HistoryPos]ipledger.HistoryDetail{}}
	if err := a.l.InitGenesis(kv, g, a.block); err != nil {
		t.Fatal(err)
	}
	a.snap = &ipledger.Snapshot{State: kv}
	return a
}

func (a *passportApp) apply(d time.Duration, kind ipledger.Kind, body any, signers ...string) {
	a.t.Helper()
	a.seq[signers[0]]++
	a.block.Height++
	a.block.Time = a.block.Time.Add(d)
	res := ipledgertest.Apply(a.t, a.l, a.snap.State, a.block, kind, a.seq[signers[0]], body, ipledgertest.Signers(signers...)...)
	e := ipledger.HistoryEntry{Height: a.block.Height, Hash: ipledger.Hash{byte(a.block.Height), byte(a.block.Height >> 8)}}
	for _, obj := range res.Touched {
		a.history[obj] = append(a.history[obj], e)
	}
	a.detail[e.Pos()] = ipledger.HistoryDetail{Time: a.block.Time, Kind: kind.String()}
	a.snap.Height, a.snap.Block.Time = a.block.Height, a.block.Time
}

func (a *passportApp) HistoryPage(_ context.Context, obj string, after ipledger.HistoryPos, limit int) ([]ipledger.HistoryEntry, bool, error) {
	var out []ipledger.HistoryEntry
	for _, e := range a.history[obj] {
		if e.Height > after.Height || e.Height == after.Height && e.Index > after.Index {
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, e)
		}
	}
	return out, false, nil
}

func (a *passportApp) HistoryDetailOf(e ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error) {
	d, ok := a.detail[e.Pos()]
	return d, ok, nil
}

func (a *passportApp) server() http.Handler { return newServer(a, a, Options{}) }

func observeBody(ts int64, event string, prefixes ...string) ipledger.ObserveBody {
	b := ipledger.ObserveBody{List: "drop", ListTime: ts}
	for _, p := range prefixes {
		b.Changes = append(b.Changes, ipledger.ObservationChange{Event: event, Prefix: netip.MustParsePrefix(p), ID: "SBL" + p[:3]})
	}
	return b
}

// TestPassport: a block's passport holds the transactions of the holdings that contain it
// (the one it was split from too) and of its route authorisations, and the observations
// on overlapping prefixes; its grade follows them in block time; both lists page.
func TestPassport(t *testing.T) {
	a := newPassportApp(t)
	ripe := ipledger.RIPENCC
	a.apply(time.Hour, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}},
		{Handle: "ORG-B", Name: "Beta", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-B").Public()}},
	}}, ripe)
	a.apply(time.Hour, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA}}}, ripe)
	a.apply(time.Hour, ipledger.KindTransfer, ipledger.TransferBody{Resource: ipledger.MustParseResource("193.0.1.0/24"), To: "ORG-B"}, "ORG-A", "ORG-B")
	a.apply(time.Hour, ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.1.0/24"), MaxLength: 24, ASN: 64500}, "ORG-B")
	a.apply(time.Hour, ipledger.KindObserve, observeBody(100, ipledger.ObservationListed, "193.0.1.0/24", "193.0.0.0/20", "10.0.0.0/8"), "OBS")
	h := a.server()

	p := getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.1.0/24")
	var kinds []string
	for _, e := range p.History {
		kinds = append(kinds, e.Kind+" "+e.Object)
	}
	// The allocation made the /16 the /24 was split from; the transfer and the route.
	want := "allocate holding/1,transfer holding/2,authorise-route route/1"
	if got := strings.Join(kinds, ","); !strings.Contains(got, "transfer") || !strings.Contains(got, "allocate") || !strings.Contains(got, "authorise-route") {
		t.Fatalf("history %s, want %s", got, want)
	}
	if len(p.Observations) != 2 || p.Grade != ledger.GradeC {
		t.Fatalf("observations %+v, grade %s", p.Observations, p.Grade)
	}
	// Delisted: B for a year of block time, then A.
	a.apply(24*time.Hour, ipledger.KindObserve, observeBody(200, ipledger.ObservationDelisted, "193.0.1.0/24", "193.0.0.0/20"), "OBS")
	if p = getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.1.0/24"); p.Grade != ledger.GradeB || len(p.Observations) != 4 {
		t.Fatalf("after the delisting: grade %s, %d observations", p.Grade, len(p.Observations))
	}
	a.apply(366*24*time.Hour, ipledger.KindObserve, observeBody(300, ipledger.ObservationListed, "10.0.0.0/16"), "OBS")
	if p = getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.1.0/24"); p.Grade != ledger.GradeA {
		t.Fatalf("a year later: grade %s", p.Grade)
	}
	// Paging.
	p = getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.1.0/24?limit=1")
	if len(p.History) != 1 || p.HistoryNext == "" || len(p.Observations) != 1 || p.ObservationsNext != p.Observations[0].Seq {
		t.Fatalf("first page %+v", p)
	}
	p2 := getJSON[apitypes.Passport](t, h, fmt.Sprintf("/v1/passport/193.0.1.0/24?limit=1&after=%s&observations_after=%d", p.HistoryNext, p.ObservationsNext))
	if len(p2.History) != 1 || p2.History[0].Height <= p.History[0].Height || p2.Observations[0].Seq <= p.Observations[0].Seq {
		t.Fatalf("second page %+v", p2)
	}
	// CSV: a header and one row per transaction and observation.
	w := getQuery(h, "/v1/passport/193.0.1.0/24?format=csv")
	recs, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err != nil || w.Code != http.StatusOK || len(recs) != 1+len(getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.1.0/24").History)+4 {
		t.Fatalf("csv: %d %v\n%s", w.Code, err, w.Body)
	}
	// The observer's set.
	ol := getJSON[apitypes.ObservationList](t, h, "/v1/observations?observer=obs&list=drop")
	if ol.ListTime != 300 || len(ol.Observations) != 2 || ol.Observations[0].Prefix.String() != "10.0.0.0/8" {
		t.Fatalf("observations %+v", ol)
	}
	ol = getJSON[apitypes.ObservationList](t, h, "/v1/observations?observer=OBS&list=drop&limit=1")
	if len(ol.Observations) != 1 || ol.Next != "10.0.0.0/8" {
		t.Fatalf("first page %+v", ol)
	}
	ol = getJSON[apitypes.ObservationList](t, h, "/v1/observations?observer=OBS&list=drop&after="+ol.Next)
	if len(ol.Observations) != 1 || ol.Observations[0].Prefix.String() != "10.0.0.0/16" || ol.Next != "" {
		t.Fatalf("second page %+v", ol)
	}
	for _, path := range []string{"/v1/passport/AS3333", "/v1/passport/nonsense", "/v1/passport/193.0.1.0/24?limit=0",
		"/v1/passport/193.0.1.0/24?after=x", "/v1/observations?observer=OBS&list=Bad%20Name", "/v1/observations?list=drop"} {
		if w := getQuery(h, path); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, w.Code)
		}
	}
}

// BenchmarkPassport answers the passport of a /24 with 1,000 events: its allocation, 199
// route authorisations and 800 observations, a page of 100 of each.
func BenchmarkPassport(b *testing.B) {
	a := newPassportApp(b)
	ripe := ipledger.RIPENCC
	a.apply(time.Hour, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}}}}, ripe)
	a.apply(time.Hour, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.1.0/24"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA}}}, ripe)
	for i := range 199 {
		a.apply(time.Hour, ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.1.0/24"), MaxLength: 24, ASN: uint32(64500 + i)}, "ORG-A")
	}
	for i := range 400 {
		ev := ipledger.ObservationListed
		if i%2 == 1 {
			ev = ipledger.ObservationDelisted
		}
		a.apply(time.Hour, ipledger.KindObserve, observeBody(int64(100+i), ev, "193.0.1.0/24", "193.0.0.0/16"), "OBS")
	}
	h := a.server()
	var p apitypes.Passport
	if err := json.Unmarshal(getQuery(h, "/v1/passport/193.0.1.0/24?limit=100").Body.Bytes(), &p); err != nil || len(p.Observations) != 100 || len(p.History) != 100 {
		b.Fatalf("passport: %d transactions, %d observations, %v", len(p.History), len(p.Observations), err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := getQuery(h, "/v1/passport/193.0.1.0/24?limit=100"); w.Code != http.StatusOK {
				b.Errorf("%d", w.Code)
			}
		}
	})
}
