package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/cli"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/rtr"
	"github.com/ipledger/ipledger/vrp"
)

// roaFixture is one entry of a test rpki-client file.
type roaFixture struct {
	asn     string // JSON: a number or "AS…"
	prefix  string
	maxLen  int
	expired bool
	expires time.Time // when not zero, overrides the default expiry
}

// A router key from the real 2025-07-20 snapshot (AS15562).
const (
	fixtureSKI    = "5D4250E2D81D4448D8A29EFCE91D29FF075EC9E2"
	fixturePubkey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgFcjQ/g//LAQerAH2Mpp+GucoDAGBbhIqD33wNPsXxnAGb+mtZ7XQrVO9DQ6UlAShtig5+QfEKpTtFgiqfiAFQ=="
)

// writeVRPFile writes an rpki-client JSON file atomically (as rpki-client does), with
// expiry a day ahead, or an hour back for expired entries, and one router key.
func writeVRPFile(t *testing.T, path string, roas []roaFixture) {
	t.Helper()
	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\t\"metadata\": { \"buildtime\": %q },\n\t\"roas\": [", now.UTC().Format(time.RFC3339))
	for i, r := range roas {
		exp := now.Add(24 * time.Hour).Unix()
		switch {
		case r.expired:
			exp = now.Add(-time.Hour).Unix()
		case !r.expires.IsZero():
			exp = r.expires.Unix()
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n\t\t{ \"asn\": %s, \"prefix\": %q, \"maxLength\": %d, \"ta\": \"test\", \"expires\": %d }", r.asn, r.prefix, r.maxLen, exp)
	}
	fmt.Fprintf(&b, "\n\t],\n\t\"bgpsec_keys\": [\n\t\t{ \"asn\": 15562, \"ski\": %q, \"pubkey\": %q, \"ta\": \"ripe\", \"expires\": %d }\n\t]\n}\n",
		fixtureSKI, fixturePubkey, now.Add(24*time.Hour).Unix())
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// The fixture: IPv4 and IPv6 VRPs, an AS given as a string, one duplicate and one expired
// entry. Served with vrp/testdata/example.slurm.json, which filters 198.51.100.0/24 and
// asserts 203.0.113.0/24-25 AS64511.
var fixture = []roaFixture{
	{"64496", "192.0.2.0/24", 24, false, time.Time{}},
	{"64496", "192.0.2.0/24", 24, false, time.Time{}},
	{"\"AS64497\"", "192.0.2.128/25", 26, false, time.Time{}},
	{"64498", "198.51.100.0/24", 24, false, time.Time{}}, // filtered by the SLURM file
	{"64498", "198.51.100.0/25", 25, false, time.Time{}}, // filtered too (more specific)
	{"0", "100.64.0.0/10", 10, false, time.Time{}},
	{"64499", "2001:db8::/32", 48, false, time.Time{}},
	{"64500", "2001:db8:1::/48", 48, false, time.Time{}},
	{"64501", "10.0.0.0/8", 8, true, time.Time{}}, // expired
}

var fixtureServed = []string{
	"100.64.0.0/10-10 AS0",
	"192.0.2.0/24-24 AS64496",
	"192.0.2.128/25-26 AS64497",
	"2001:db8:1::/48-48 AS64500",
	"2001:db8::/32-48 AS64499",
	"203.0.113.0/24-25 AS64511", // SLURM assertion
}

func slurmFixture(t *testing.T) string {
	p, err := filepath.Abs("../../vrp/testdata/example.slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rtrNode is `ipledger dev` serving RTR.
type rtrNode struct {
	*node
	rtr string
}

// startRTRNode runs `ipledger dev` with an RTR listener and extra flags, and waits until
// the RTR port accepts connections (the VRP file is read before it listens).
func startRTRNode(t *testing.T, extra ...string) *rtrNode {
	t.Helper()
	addr := ipledgertest.FreeAddr(t)
	n := launchNode(t, "dev", newHome(t), append([]string{"--rtr", addr, "--demo=false"}, extra...)...)
	waitListen(t, addr, 60*time.Second, n.out.String)
	return &rtrNode{node: n, rtr: addr}
}

// rtrAnswer is what a Reset Query got.
type rtrAnswer struct {
	version rtr.Version
	vrps    []string
	keys    int
	eod     *rtr.EndOfData
	err     *rtr.ErrorReport
	closed  bool // the server closed the connection after its answer
}

// resetQuery sends a Reset Query in version v on a fresh connection and reads the answer
// with the rtr package's decoder.
func resetQuery(t *testing.T, addr string, v rtr.Version) rtrAnswer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	q, _ := rtr.Append(nil, v, &rtr.ResetQuery{})
	if _, err := nc.Write(q); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	var a rtrAnswer
	for {
		p, pv := readPDU(t, br)
		a.version = pv
		switch p := p.(type) {
		case *rtr.Prefix:
			a.vrps = append(a.vrps, fmt.Sprintf("%v-%d AS%d", p.Prefix, p.MaxLength, p.ASN))
		case *rtr.RouterKey:
			a.keys++
		case *rtr.EndOfData:
			a.eod = p
			slices.Sort(a.vrps)
			return a
		case *rtr.ErrorReport:
			a.err = p
			_, err := br.ReadByte()
			a.closed = errors.Is(err, io.EOF)
			return a
		}
	}
}

// readPDU reads one PDU (its length from the header, RFC 8210 §5.1) and decodes it with
// the rtr package's decoder.
func readPDU(t *testing.T, br *bufio.Reader) (rtr.PDU, rtr.Version) {
	t.Helper()
	hdr, err := br.Peek(8)
	if err != nil {
		t.Fatalf("read a PDU: %v", err)
	}
	pdu := make([]byte, int(hdr[4])<<24|int(hdr[5])<<16|int(hdr[6])<<8|int(hdr[7]))
	if _, err := io.ReadFull(br, pdu); err != nil {
		t.Fatal(err)
	}
	p, v, _, err := rtr.Decode(pdu)
	if err != nil {
		t.Fatal(err)
	}
	return p, v
}

// rtrclientVRPs fetches the set with rtrlib's rtrclient.
func rtrclientVRPs(t *testing.T, addr string) []string {
	t.Helper()
	prog := ipledgertest.Program(t, "rtrclient", "Debian package rtr-tools")
	host, port, _ := net.SplitHostPort(addr)
	out := filepath.Join(t.TempDir(), "rtrclient.csv")
	if b, err := ipledgertest.RunTimeout(30*time.Second, prog, "-e", "-t", "csv", "-o", out, "tcp", host, port); err != nil {
		t.Fatalf("rtrclient: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var vrps []string
	for line := range strings.Lines(string(b)) {
		f := strings.Split(line, ",")
		if len(f) != 4 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		asn, _ := strconv.ParseInt(f[3], 10, 64)
		vrps = append(vrps, fmt.Sprintf("%s/%s-%s AS%d", f[0], f[1], f[2], uint32(asn))) // rtrlib prints the AS signed
	}
	slices.Sort(vrps)
	return vrps
}

// TestRTRClients serves a fixture file with a SLURM file and fetches the set with
// rtrlib's rtrclient, StayRTR's rtrdump (versions 1 and 0), a raw version 0 Reset Query
// and GET /v1/vrps.json: all see the same VRPs — duplicate merged, expired entry dropped,
// SLURM filter and assertion applied — and version 1 alone carries the router key.
func TestRTRClients(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPFile(t, file, fixture)
	n := startRTRNode(t, "--vrps-file", file, "--slurm", slurmFixture(t), "--rtr-refresh", "120s", "--rtr-retry", "30s", "--rtr-expire", "900s")

	a := resetQuery(t, n.rtr, 1)
	if !slices.Equal(a.vrps, fixtureServed) || a.keys != 1 || a.version != 1 {
		t.Errorf("v1 Reset Query: version %d, VRPs %q, %d keys; want %q and 1 key", a.version, a.vrps, a.keys, fixtureServed)
	}
	if a.eod == nil || a.eod.Refresh != 120 || a.eod.Retry != 30 || a.eod.Expire != 900 {
		t.Errorf("End of Data %+v, want refresh 120, retry 30, expire 900", a.eod)
	}
	a0 := resetQuery(t, n.rtr, 0)
	if !slices.Equal(a0.vrps, fixtureServed) || a0.keys != 0 || a0.version != 0 {
		t.Errorf("v0 Reset Query: version %d, VRPs %q, %d keys", a0.version, a0.vrps, a0.keys)
	}

	if got := rtrclientVRPs(t, n.rtr); !slices.Equal(got, fixtureServed) {
		t.Errorf("rtrclient: %q", got)
	}
	for _, v := range []int{1, 0} {
		d := rtrdump(t, n.rtr, v)
		if !slices.Equal(d.VRPs, fixtureServed) || len(d.Keys) != v {
			t.Errorf("rtrdump -rtr.version %d: %q, %d keys", v, d.VRPs, len(d.Keys))
		}
	}

	resp, err := http.Get("http://" + n.addr + "/v1/vrps.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	j, err := vrp.ReadJSON(resp.Body, time.Now())
	if err != nil {
		t.Fatalf("/v1/vrps.json: %v", err)
	}
	var got []string
	for v := range j.Set.All() {
		got = append(got, v.String())
		if v.Expires.IsZero() != (v.Source == vrp.SourceSLURM) {
			t.Errorf("%v from %q: expires %v", v, v.Source, v.Expires)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, fixtureServed) || j.Set.KeyLen() != 1 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/v1/vrps.json: %q, %d keys, %s", got, j.Set.KeyLen(), resp.Header.Get("Content-Type"))
	}
}

// TestRTRPinnedVersion0: with --rtr-max-version 0 a version 1 Reset Query gets a version 0
// Unsupported Protocol Version and a closed connection (RFC 8210 §7); version 0 queries are
// served, and rtrclient, which starts in version 1, falls back and gets the set.
func TestRTRPinnedVersion0(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPFile(t, file, fixture[:3])
	n := startRTRNode(t, "--vrps-file", file, "--rtr-max-version", "0")
	want := []string{"192.0.2.0/24-24 AS64496", "192.0.2.128/25-26 AS64497"}

	a := resetQuery(t, n.rtr, 1)
	if a.err == nil || a.err.Code != rtr.UnsupportedVersion || a.version != 0 || !a.closed {
		t.Fatalf("v1 query to a v0 cache: %+v, want a version 0 Unsupported Protocol Version, then close", a)
	}
	if a0 := resetQuery(t, n.rtr, 0); !slices.Equal(a0.vrps, want) || a0.version != 0 || a0.keys != 0 {
		t.Errorf("v0 query: %+v", a0)
	}
	if got := rtrclientVRPs(t, n.rtr); !slices.Equal(got, want) {
		t.Errorf("rtrclient against a v0 cache: %q", got)
	}
	if got := rtrdump(t, n.rtr, 0).VRPs; !slices.Equal(got, want) {
		t.Errorf("rtrdump -rtr.version 0: %q", got)
	}
}

// birdRoutes lists a BIRD ROA table as "prefix-maxlen ASn".
func birdRoutes(t *testing.T, birdc, sock, table string) []string {
	t.Helper()
	out, err := exec.Command(birdc, "-s", sock, "show", "route", "table", table).CombinedOutput()
	if err != nil {
		return nil // not up yet
	}
	var routes []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasPrefix(f[1], "AS") && strings.Contains(f[0], "/") {
			routes = append(routes, f[0]+" "+f[1])
		}
	}
	slices.Sort(routes)
	return routes
}

// birdd is a BIRD 2 daemon whose RPKI protocol is connected to an RTR cache.
type birdd struct {
	t           *testing.T
	birdc, sock string
}

// startBird starts BIRD with roa4 table r4 and roa6 table r6 fed by the RTR cache at
// 127.0.0.1:port, told to poll only hourly, so changes must come by Serial Notify.
func startBird(t *testing.T, bird, birdc, dir, port string) *birdd {
	t.Helper()
	// The control socket's path must fit in a sockaddr_un (108 bytes).
	sockDir, err := os.MkdirTemp("", "bird")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "ctl")
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(`router id 192.0.2.254;
log stderr all;
roa4 table r4;
roa6 table r6;
protocol rpki cache {
	roa4 { table r4; };
	roa6 { table r6; };
	remote 127.0.0.1 port `+port+`;
	retry keep 5;
	refresh keep 3600;
	expire keep 7200;
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ipledgertest.StartCmd(t, "bird", exec.Command(bird, "-f", "-c", conf, "-s", sock, "-P", filepath.Join(dir, "bird.pid")))

	return &birdd{t: t, birdc: birdc, sock: sock}
}

func (b *birdd) routes(table string) []string { return birdRoutes(b.t, b.birdc, b.sock, table) }

// wait polls ok until it holds, failing after d with BIRD's tables.
func (b *birdd) wait(what string, d time.Duration, ok func() bool) time.Duration {
	b.t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			b.t.Fatalf("%s: not within %v; r4 %q r6 %q", what, d, b.routes("r4"), b.routes("r6"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// TestRTRBird runs BIRD 2 with an RPKI protocol on the cache: the VRPs arrive in its ROA
// tables, and a change of the file reaches it within seconds although BIRD is told to
// poll only hourly — through Serial Notify and an incremental Serial Query.
func TestRTRBird(t *testing.T) {
	bird := ipledgertest.Program(t, "bird", "Debian package bird2")
	birdc := ipledgertest.Program(t, "birdc", "Debian package bird2")
	dir := t.TempDir()
	file := filepath.Join(dir, "vrps.json")
	writeVRPFile(t, file, fixture)
	n := startRTRNode(t, "--vrps-file", file)
	_, port, _ := net.SplitHostPort(n.rtr)

	b := startBird(t, bird, birdc, dir, port)
	want4 := []string{"100.64.0.0/10-10 AS0", "192.0.2.0/24-24 AS64496", "192.0.2.128/25-26 AS64497", "198.51.100.0/24-24 AS64498", "198.51.100.0/25-25 AS64498"}
	want6 := []string{"2001:db8:1::/48-48 AS64500", "2001:db8::/32-48 AS64499"}
	b.wait("initial sync", 30*time.Second, func() bool {
		return slices.Equal(b.routes("r4"), want4) && slices.Equal(b.routes("r6"), want6)
	})

	// Change one VRP's AS and maximum length, withdraw an IPv6 one.
	changed := slices.Clone(fixture)
	changed[0] = roaFixture{"64510", "192.0.2.0/24", 25, false, time.Time{}}
	changed[1] = changed[0]
	changed = slices.DeleteFunc(changed, func(r roaFixture) bool { return r.prefix == "2001:db8:1::/48" })
	writeVRPFile(t, file, changed)
	want4[1] = "192.0.2.0/24-25 AS64510"
	slices.Sort(want4)
	took := b.wait("update via Serial Notify", 10*time.Second, func() bool {
		return slices.Equal(b.routes("r4"), want4) && slices.Equal(b.routes("r6"), want6[1:])
	})
	t.Logf("the change reached BIRD %v after the file was replaced (file polled every second)", took.Round(10*time.Millisecond))
}

// TestRTRExpiry: a VRP leaves the served set when its expiry passes, though the file does
// not change, and a connected router learns it through Serial Notify and a Serial Query.
func TestRTRExpiry(t *testing.T) {
	binary(t) // build first: the expiry below is seconds away
	file := filepath.Join(t.TempDir(), "vrps.json")
	soon := time.Now().Add(3 * time.Second).Truncate(time.Second) // expiry is in whole seconds
	writeVRPFile(t, file, []roaFixture{
		{"64496", "192.0.2.0/24", 24, false, time.Time{}},
		{"64497", "198.51.100.0/24", 24, false, soon},
	})
	n := startRTRNode(t, "--vrps-file", file)
	nc, err := net.Dial("tcp", n.rtr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	send := func(p rtr.PDU) {
		b, _ := rtr.Append(nil, 1, p)
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	read := func(d time.Duration) rtr.PDU {
		nc.SetReadDeadline(time.Now().Add(d))
		p, _ := readPDU(t, br)
		return p
	}
	send(&rtr.ResetQuery{})
	var session uint16
	var vrps int
	for done := false; !done; {
		switch p := read(5 * time.Second).(type) {
		case *rtr.CacheResponse:
			session = p.Session
		case *rtr.Prefix:
			vrps++
		case *rtr.EndOfData:
			done = true
		}
	}
	if vrps != 2 {
		t.Fatalf("%d VRPs before the expiry, want 2", vrps)
	}
	p := read(time.Until(soon) + 5*time.Second)
	notify, ok := p.(*rtr.SerialNotify)
	if !ok || notify.Serial != 1 {
		t.Fatalf("got %#v, want Serial Notify for serial 1", p)
	}
	if late := time.Since(soon); late < 0 || late > 3*time.Second {
		t.Errorf("notified %v after the expiry", late)
	}
	send(&rtr.SerialQuery{Session: session, Serial: 0})
	var withdrawn []string
	for done := false; !done; {
		switch p := read(5 * time.Second).(type) {
		case *rtr.Prefix:
			if p.Announce {
				t.Errorf("announced %v", p.Prefix)
			}
			withdrawn = append(withdrawn, p.Prefix.String())
		case *rtr.EndOfData:
			done = true
		}
	}
	if !slices.Equal(withdrawn, []string{"198.51.100.0/24"}) {
		t.Errorf("withdrawn %q, want the expired VRP", withdrawn)
	}
}

// TestLeaseBird follows a lease into a router: BIRD, fed by ipledger's RTR cache, gets the
// lessee's authorisation when the lease starts, with the lessor's wider one suppressed;
// when the lease ends by block time the lessee's goes, the AS0 authorisation covers the
// block, and the lessor's returns.
func TestLeaseBird(t *testing.T) {
	bird := ipledgertest.Program(t, "bird", "Debian package bird2")
	birdc := ipledgertest.Program(t, "birdc", "Debian package bird2")
	// Changes come seconds apart here, so Serial Notify may not wait the RFC's minute.
	n := startRTRNode(t, "--rtr-notify-interval", "100ms")
	_, port, _ := net.SplitHostPort(n.rtr)
	b := startBird(t, bird, birdc, t.TempDir(), port)
	cl := n.cl
	ctx := context.Background()
	st, err := cl.Status(ctx)
	for err != nil || st.Height < 1 {
		time.Sleep(50 * time.Millisecond)
		st, err = cl.Status(ctx)
	}
	ripe, agent := signer(t, n.home, ipledger.RIPENCC), signer(t, n.home, cli.SettlementAgent)
	lk, _ := ipledger.GenerateKey(nil)
	ek, _ := ipledger.GenerateKey(nil)
	lessor, lessee := ipledger.Signer{Org: "ORG-LESSOR", Key: lk}, ipledger.Signer{Org: "ORG-LESSEE", Key: ek}
	send := func(kind ipledger.Kind, seq uint64, body any, by ipledger.Signer) {
		t.Helper()
		commit(t, ctx, cl, st.ChainID, kind, seq, body, by)
	}
	send(ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: lessor.Org, Name: "Lessor", Keys: []ipledger.PublicKey{lk.Public()}},
		{Handle: lessee.Org, Name: "Lessee", Keys: []ipledger.PublicKey{ek.Public()}},
	}}, ripe)
	send(ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: lessor.Org, Status: ipledger.StatusAllocatedPA}}}, ripe)
	send(ipledger.KindMint, 1, ipledger.MintBody{To: lessee.Org, Amount: 1000}, agent)
	send(ipledger.KindAuthorise, 1, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 64496}, lessor)
	b.wait("the lessor's authorisation", 30*time.Second, func() bool {
		return slices.Equal(b.routes("r4"), []string{"193.0.0.0/16-24 AS64496"})
	})
	// One period of four seconds.
	send(ipledger.KindOffer, 2, ipledger.OfferBody{Resource: ipledger.MustParseResource("193.0.7.0/24"), Price: 1, Period: 4, MinPeriods: 1, MaxPeriods: 1}, lessor)
	send(ipledger.KindLease, 1, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 1}, lessee)
	took := b.wait("the lessee's authorisation", 10*time.Second, func() bool {
		return slices.Equal(b.routes("r4"), []string{"193.0.7.0/24-24 AS64500"})
	})
	t.Logf("the lease's authorisation reached BIRD %v after its block committed", took.Round(10*time.Millisecond))
	// rtrlib's and StayRTR's clients fetch exactly the ledger's authorisations in force.
	routes, err := cl.Routes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var inForce []string
	for _, r := range routes.Routes {
		if r.InForce {
			inForce = append(inForce, fmt.Sprintf("%s-%d AS%d", r.Prefix, r.MaxLength, r.ASN))
		}
	}
	slices.Sort(inForce)
	dump := rtrdump(t, n.rtr, 1).VRPs
	if got := rtrclientVRPs(t, n.rtr); !slices.Equal(got, inForce) || !slices.Equal(dump, inForce) {
		t.Fatalf("the ledger has %q in force; rtrclient fetched %q, rtrdump %q", inForce, got, dump)
	}
	// After the term, the next block (any transaction makes one) ends the lease.
	time.Sleep(5 * time.Second)
	send(ipledger.KindPay, 2, ipledger.PayBody{To: lessor.Org, Amount: 1}, lessee)
	b.wait("the end of the lease", 10*time.Second, func() bool {
		return slices.Equal(b.routes("r4"), []string{"193.0.0.0/16-24 AS64496", "193.0.7.0/24-24 AS0"})
	})
	l, err := cl.Lease(ctx, "1")
	if err != nil || l.State != ipledger.LeaseEnded || l.EndReason != "expired" {
		t.Fatalf("lease %+v %v", l, err)
	}
}
