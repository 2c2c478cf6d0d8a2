package ledger

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

const testObserver = "OBS"

func observeEnv(t *testing.T) *tenv {
	g := testGenesis()
	g.Observers = []GenesisOrg{{Handle: testObserver, Name: "Observer", Keys: []ipledger.PublicKey{keyFor(testObserver).Public()}}}
	g.Params.MaxObservations = 3
	e := newEnvWith(t, g)
	e.keys[testObserver] = keyFor(testObserver)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	return e
}

func obsBody(ts int64, events ...string) ipledger.ObserveBody {
	b := ipledger.ObserveBody{List: "drop", ListTime: ts}
	for i := 0; i+1 < len(events); i += 2 {
		b.Changes = append(b.Changes, ipledger.ObservationChange{Event: events[i], Prefix: netip.MustParsePrefix(events[i+1]), ID: "SBL1"})
	}
	return b
}

func TestObserveRules(t *testing.T) {
	e := observeEnv(t)
	const L, D = ipledger.ObservationListed, ipledger.ObservationDelisted
	e.ok(ipledger.KindObserve, obsBody(100, L, "193.0.0.0/24", L, "193.0.0.0/16"), testObserver)
	for _, c := range []struct {
		name string
		code ipledger.Code
		body ipledger.ObserveBody
		by   string
	}{
		{"not an observer", ipledger.CodeUnauthorized, obsBody(100, L, "193.0.1.0/24"), "ORG-A"},
		{"listed twice", ipledger.CodeExists, obsBody(100, L, "193.0.0.0/24"), testObserver},
		{"twice in a batch", ipledger.CodeExists, obsBody(100, L, "193.0.1.0/24", L, "193.0.1.0/24"), testObserver},
		{"delisting of nothing", ipledger.CodeNotFound, obsBody(100, D, "193.0.1.0/24"), testObserver},
		{"over the cap", ipledger.CodeTooLarge, obsBody(100, L, "1.0.0.0/24", L, "1.0.1.0/24", L, "1.0.2.0/24", L, "1.0.3.0/24"), testObserver},
		{"older list", ipledger.CodeInvalid, obsBody(99, L, "193.0.1.0/24"), testObserver},
		{"no change", ipledger.CodeInvalid, obsBody(100), testObserver},
		{"host bits", ipledger.CodeInvalid, obsBody(100, L, "193.0.1.1/24"), testObserver},
		{"bad event", ipledger.CodeInvalid, obsBody(100, "seen", "193.0.1.0/24"), testObserver},
		{"bad list name", ipledger.CodeInvalid, ipledger.ObserveBody{List: "Drop List", ListTime: 100, Changes: obsBody(100, L, "193.0.1.0/24").Changes}, testObserver},
	} {
		t.Run(c.name, func(t *testing.T) { e.t = t; e.fails(c.code, ipledger.KindObserve, c.body, c.by) })
	}
	e.t = t
	// The same list time again (a list in several transactions), then a delisting.
	e.ok(ipledger.KindObserve, obsBody(100, D, "193.0.0.0/16", L, "2001:db8::/32"), testObserver)
	var set []string
	if err := Observations(e.kv, testObserver, "drop", ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
		set = append(set, o.Prefix.String())
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(set) != 2 || set[0] != "193.0.0.0/24" || set[1] != "2001:db8::/32" {
		t.Fatalf("set %v", set)
	}
	if ts, _ := ListTime(e.kv, testObserver, "drop"); ts != 100 {
		t.Fatalf("list time %d", ts)
	}
	// Overlap: a /22 sees the /24 inside it and the /16 around it; seq orders them.
	evs, more, err := ObservationsOverlapping(e.kv, mustRes("193.0.0.0/22"), 0, 10)
	if err != nil || more || len(evs) != 3 || evs[0].Seq != 1 || evs[2].Event != D {
		t.Fatalf("overlapping: %+v %v %v", evs, more, err)
	}
	if evs, _, _ := ObservationsOverlapping(e.kv, mustRes("193.0.4.0/24"), 0, 10); len(evs) != 2 {
		t.Fatalf("193.0.4.0/24 sees %d events, want the /16's two", len(evs))
	}
	if evs, more, _ := ObservationsOverlapping(e.kv, mustRes("193.0.0.0/22"), 1, 1); len(evs) != 1 || evs[0].Seq != 2 || !more {
		t.Fatalf("page after 1: %+v %v", evs, more)
	}
	if evs, _, _ := ObservationsOverlapping(e.kv, mustRes("194.0.0.0/8"), 0, 10); len(evs) != 0 {
		t.Fatalf("194/8 sees %+v", evs)
	}
}

func TestGrade(t *testing.T) {
	p := DefaultParams()
	day := int64(24 * 3600)
	ev := func(seq uint64, event string, at int64) ipledger.ObservationEvent {
		return ipledger.ObservationEvent{Seq: seq, Observer: testObserver, List: "drop", Event: event, Prefix: netip.MustParsePrefix("193.0.0.0/24"), Time: at}
	}
	listed := ev(1, ipledger.ObservationListed, 1000*day)
	delisted := ev(2, ipledger.ObservationDelisted, 1010*day)
	for _, c := range []struct {
		name   string
		events []ipledger.ObservationEvent
		now    int64
		want   string
	}{
		{"never listed", nil, 1000 * day, GradeA},
		{"listed now", []ipledger.ObservationEvent{listed}, 1005 * day, GradeC},
		{"listed long ago, still listed", []ipledger.ObservationEvent{listed}, 3000 * day, GradeC},
		{"delisted within the window", []ipledger.ObservationEvent{listed, delisted}, 1100 * day, GradeB},
		{"delisted at the window's edge", []ipledger.ObservationEvent{listed, delisted}, 1010*day + p.GradeWindow, GradeB},
		{"delisted past the window", []ipledger.ObservationEvent{listed, delisted}, 1011*day + p.GradeWindow, GradeA},
	} {
		if g := Grade(c.events, c.now, p); g != c.want {
			t.Errorf("%s: grade %s, want %s", c.name, g, c.want)
		}
	}
	// The window is a parameter.
	short := p
	short.GradeWindow = day
	if g := Grade([]ipledger.ObservationEvent{listed, delisted}, 1012*day, short); g != GradeA {
		t.Errorf("a one-day window: grade %s", g)
	}
}

func TestObserveDeterminism(t *testing.T) {
	run := func() [32]byte {
		e := observeEnv(t)
		for i := range 5 {
			e.time = e.time.Add(time.Hour)
			e.ok(ipledger.KindObserve, obsBody(int64(100+i), ipledger.ObservationListed, netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(i), 0}), 24).String()), testObserver)
		}
		return e.digest()
	}
	if run() != run() {
		t.Fatal("the same observations gave two states")
	}
}

// FuzzObserveBody is the fuzz target of the observe body: one that decodes is applied by
// the observer to a state whose set holds two prefixes; the state machine must answer with
// a code (never an internal error), and on success the set must hold exactly what the
// changes leave, each prefix once.
func FuzzObserveBody(f *testing.F) {
	for _, b := range []string{
		`{"list":"drop","list_time":200,"changes":[{"event":"listed","prefix":"1.10.16.0/20","id":"SBL256894"}]}`,
		`{"list":"drop","list_time":100,"changes":[{"event":"delisted","prefix":"193.0.0.0/24"},{"event":"listed","prefix":"193.0.0.0/24"}]}`,
		`{"list":"drop","list_time":50,"changes":[{"event":"delisted","prefix":"2001:db8::/32"}]}`,
		`{"list":"x","list_time":1,"changes":[{"event":"listed","prefix":"0.0.0.0/0"},{"event":"listed","prefix":"::/0"}]}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v ipledger.ObserveBody
		if ipledger.DecodeBody(body, &v) != nil {
			return
		}
		e := observeEnv(t)
		e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.0.0/24", ipledger.ObservationListed, "2001:db8::/32"), testObserver)
		r := e.do(ipledger.KindObserve, v, testObserver)
		if r.Code == ipledger.CodeInternal {
			t.Fatalf("%s: internal error %s", body, r.Log)
		}
		seen := map[netip.Prefix]bool{}
		if err := Observations(e.kv, testObserver, "drop", ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
			if seen[o.Prefix] {
				t.Fatalf("%s twice", o.Prefix)
			}
			seen[o.Prefix] = true
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if r.Code != ipledger.CodeOK && (len(seen) != 2 || !seen[netip.MustParsePrefix("193.0.0.0/24")]) {
			t.Fatalf("rejected (%s) yet the set changed: %v", r.Code, seen)
		}
	})
}

// FuzzObsEventCodec: a stored observation event that decodes encodes back to the same
// bytes, and every event encodes to bytes that decode to it.
func FuzzObsEventCodec(f *testing.F) {
	ev := &ipledger.ObservationEvent{Seq: 7, Observer: "OBS", List: "drop", Event: ipledger.ObservationListed,
		Prefix: netip.MustParsePrefix("1.10.16.0/20"), ID: "SBL256894", Height: 12, Time: 1740926274, ListTime: 1740926000}
	f.Add(encodeObsEvent(ev))
	ev.Event, ev.Prefix, ev.ID = ipledger.ObservationDelisted, netip.MustParsePrefix("2001:db8::/32"), ""
	f.Add(encodeObsEvent(ev))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeObsEvent(b, 7)
		if err != nil {
			return
		}
		if again := encodeObsEvent(&got); string(again) != string(b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, got, again)
		}
		back, err := decodeObsEvent(encodeObsEvent(&got), 7)
		if err != nil || back != got {
			t.Fatalf("%+v: round trip %+v %v", got, back, err)
		}
	})
}
