package vrp

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
)

const snapshotName = "rpkiclient_summary_20250720T100145Z.json.bz2"

// rpkiFile returns the path of a file under the shared data's rpki/ folder, or skips the
// test (fails it under CI=true). The snapshot is jeffsw/rpkilog's test_data/snapshotName,
// an rpki-client run of 2025-07-20 (see PROVENANCE.md).
func rpkiFile(tb testing.TB, name string) string {
	tb.Helper()
	return ipledgertest.Data(tb, "rpki/"+name)
}

var snapshot struct {
	once sync.Once
	data []byte
	err  error
}

// snapshotJSON returns the decompressed real snapshot, read once per test binary.
func snapshotJSON(tb testing.TB) []byte {
	tb.Helper()
	p := rpkiFile(tb, snapshotName)
	snapshot.once.Do(func() {
		f, err := os.Open(p)
		if err != nil {
			snapshot.err = err
			return
		}
		defer f.Close()
		snapshot.data, snapshot.err = io.ReadAll(bzip2.NewReader(f))
	})
	if snapshot.err != nil {
		tb.Fatal(snapshot.err)
	}
	return snapshot.data
}

// TestReadJSONSnapshot reads the real 2025-07-20 snapshot (723,524 roas): every roa is a
// distinct VRP, with the counts per family that the file's metadata and PROVENANCE.md give.
// Its expires times are all before 2025-07-31, so reading it at a later time keeps nothing.
func TestReadJSONSnapshot(t *testing.T) {
	data := snapshotJSON(t)
	f, err := ReadJSON(bytes.NewReader(data), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if f.ROAs != 723524 || f.Keys != 2 || f.ASPAs != 100 || f.Expired != 0 {
		t.Errorf("roas %d keys %d aspas %d expired %d, want 723524, 2, 100, 0", f.ROAs, f.Keys, f.ASPAs, f.Expired)
	}
	if f.Set.ASPALen() != 100 { // metadata.uniquevaps
		t.Errorf("%d ASPAs, want 100", f.Set.ASPALen())
	}
	if got := f.Set.Len(); got != 723524 {
		t.Errorf("unique VRPs = %d, want 723524 (metadata.uniquevrps)", got)
	}
	if f.Set.Len4() != 580367 || f.Set.Len6() != 143157 || f.Set.KeyLen() != 2 {
		t.Errorf("v4 %d v6 %d keys %d, want 580367, 143157, 2", f.Set.Len4(), f.Set.Len6(), f.Set.KeyLen())
	}
	if want := time.Date(2025, 7, 20, 10, 1, 43, 0, time.UTC); !f.BuildTime.Equal(want) {
		t.Errorf("buildtime %v, want %v", f.BuildTime, want)
	}
	first := VRP{Prefix: netip.MustParsePrefix("1.0.0.0/24"), MaxLength: 24, ASN: 13335}
	if !f.Set.Contains(first) {
		t.Errorf("set lacks %v", first)
	}
	byTA := map[string]int{}
	for v := range f.Set.All() {
		byTA[v.Source]++
	}
	// PROVENANCE.md: ripe=300988, arin=203996, apnic=153203, lacnic=39011, afrinic=26326.
	want := map[string]int{"ripe": 300988, "arin": 203996, "apnic": 153203, "lacnic": 39011, "afrinic": 26326}
	for ta, n := range want {
		if byTA[ta] != n {
			t.Errorf("ta %s: %d VRPs, want %d", ta, byTA[ta], n)
		}
	}

	later, err := ReadJSON(bytes.NewReader(data), time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// One router key expires in 2026; everything else (ASPAs too) has expired by August 2025.
	if later.Set.Len() != 0 || later.Set.ASPALen() != 0 || later.Expired != 723524+2+100-later.Set.KeyLen() {
		t.Errorf("read at 2025-08-01: %d VRPs, %d keys, %d expired; want 0 VRPs", later.Set.Len(), later.Set.KeyLen(), later.Expired)
	}
	// Expire on the set agrees with dropping at read time.
	if e := f.Set.Expire(time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)); !e.Equal(later.Set) {
		t.Errorf("Set.Expire gives %d VRPs %d keys, ReadJSON %d, %d", e.Len(), e.KeyLen(), later.Set.Len(), later.Set.KeyLen())
	}
}

// TestWriteJSONRoundTrip writes the real set out and reads it back.
func TestWriteJSONRoundTrip(t *testing.T) {
	f, err := ReadJSON(bytes.NewReader(snapshotJSON(t)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	bt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := WriteJSON(&buf, f.Set, bt); err != nil {
		t.Fatal(err)
	}
	g, err := ReadJSON(&buf, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Set.Equal(f.Set) || !g.BuildTime.Equal(bt) {
		t.Errorf("round trip: %d VRPs %d keys at %v, want %d, %d at %v", g.Set.Len(), g.Set.KeyLen(), g.BuildTime, f.Set.Len(), f.Set.KeyLen(), bt)
	}
}

// TestReadJSONSamples reads the format samples: rpki-client 2021 and 2023, and Routinator's
// jsonext (string ASNs, the trust anchor in source[].tal).
func TestReadJSONSamples(t *testing.T) {
	for _, c := range []struct {
		name       string
		roas, keys int
		v4, v6     int
		ta         string
	}{
		{"roa_test.rpkiclient2021_json", 70, 0, 22, 48, "apnic"},
		{"roa_test.rpkiclient2023_json", 379, 3, 8, 371, "apnic"},
		{"roa_test.routinator_jsonext", 2, 0, 1, 1, "apnic"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Open(rpkiFile(t, filepath.Join("samples", c.name)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ReadJSON(f, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got.ROAs != c.roas || got.Set.Len4() != c.v4 || got.Set.Len6() != c.v6 || got.Set.KeyLen() != c.keys {
				t.Errorf("roas %d v4 %d v6 %d keys %d, want %d %d %d %d", got.ROAs, got.Set.Len4(), got.Set.Len6(), got.Set.KeyLen(), c.roas, c.v4, c.v6, c.keys)
			}
			if got.BuildTime.IsZero() {
				t.Error("no build time")
			}
			for v := range got.Set.All() {
				if v.Prefix.Addr().Is4() && v.Source != c.ta {
					t.Errorf("%v: source %q, want %q", v, v.Source, c.ta)
				}
				break
			}
		})
	}
}

func TestReadJSON(t *testing.T) {
	doc := `{
	"metadata": { "buildtime": "2025-07-20T10:01:43Z", "roas": 3, "talfiles": ["/etc/tals/ripe.tal"] },
	"roas": [
		{ "asn": 64496, "prefix": "192.0.2.0/24", "maxLength": 24, "ta": "ripe", "expires": 2000000000 },
		{ "asn": "AS64497", "prefix": "2001:db8::/32", "maxLength": 48, "ta": "arin", "expires": 1500000000 },
		{ "asn": "64498", "prefix": "198.51.100.0/24", "maxLength": 32, "ta": "ripe" },
		{ "asn": 64496, "prefix": "192.0.2.0/24", "maxLength": 24, "ta": "apnic", "expires": 2100000000 }
	],
	"aspas": [ { "customer_asid": 1, "providers": [2, 3] } ],
	"bgpsec_keys": [
		{ "asn": 64496, "ski": "5D4250E2D81D4448D8A29EFCE91D29FF075EC9E2", "pubkey": "AQID", "ta": "ripe", "expires": 2000000000 }
	]
}`
	f, err := ReadJSON(strings.NewReader(doc), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if f.ROAs != 4 || f.Expired != 1 || f.Set.Len() != 2 || f.Set.KeyLen() != 1 {
		t.Fatalf("roas %d expired %d vrps %d keys %d, want 4 1 2 1", f.ROAs, f.Expired, f.Set.Len(), f.Set.KeyLen())
	}
	var got []VRP
	for v := range f.Set.All() {
		got = append(got, v)
	}
	want := []VRP{
		// The duplicate that expires later wins.
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 64496, Expires: time.Unix(2100000000, 0).UTC(), Source: "apnic"},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), MaxLength: 32, ASN: 64498, Source: "ripe"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	for k := range f.Set.Keys() {
		if k.SPKI != "\x01\x02\x03" || k.SKI[0] != 0x5d || k.Source != "ripe" || k.Expires.Unix() != 2000000000 {
			t.Errorf("key %+v", k)
		}
	}
}

// TestReadJSONErrors checks that malformed input fails with the place of the fault.
func TestReadJSONErrors(t *testing.T) {
	roa := func(s string) string { return "{\"roas\": [\n" + s + "\n]}" }
	for _, c := range []struct {
		name, doc string
		line, col int
		msg       string
	}{
		{"empty", "", 1, 1, "unexpected end"},
		{"not object", "[]", 1, 1, "want an object"},
		{"no roas", `{"metadata": {}}`, 1, 1, "no roas"},
		{"trailing", `{"roas": []} x`, 1, 14, "after the document"},
		{"trailing comma", `{"roas": [],}`, 1, 13, "member name"},
		{"bad prefix", roa(`{"asn": 1, "prefix": "192.0.2.0/33", "maxLength": 24}`), 2, 22, "prefix"},
		{"unmasked", roa(`{"asn": 1, "prefix": "192.0.2.1/24", "maxLength": 24}`), 2, 22, "bits set beyond"},
		{"maxlen short", roa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 23}`), 2, 22, "maxLength 23"},
		{"maxlen long", roa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 33}`), 2, 22, "maxLength 33"},
		{"maxlen huge", roa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 300}`), 2, 51, "maxLength"},
		{"asn negative", roa(`{"asn": -1, "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 9, "asn"},
		{"asn too big", roa(`{"asn": 4294967296, "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 9, "asn"},
		{"asn fraction", roa(`{"asn": 1.5, "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 9, "asn"},
		{"asn string", roa(`{"asn": "ASX", "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 9, "AS number"},
		{"no asn", roa(`{"prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 1, "no asn"},
		{"no maxLength", "{\"roas\": [\n\n  {\"prefix\": \"192.0.2.0/24\", \"asn\": 1}]}", 3, 3, "no maxLength"},
		{"dup asn", roa(`{"asn": 1, "asn": 2, "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 12, "twice"},
		{"bad escape", roa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 24, "ta": "\x"}`), 2, 62, "escape"},
		{"control char", roa("{\"asn\": 1, \"ta\": \"a\tb\"}"), 2, 20, "control character"},
		{"bad utf8", roa("{\"asn\": 1, \"ta\": \"a\xffb\"}"), 2, 20, "UTF-8"},
		{"bad number", roa(`{"asn": 01, "prefix": "192.0.2.0/24", "maxLength": 24}`), 2, 9, "asn"},
		{"bad buildtime", `{"metadata": {"buildtime": "yesterday"}, "roas": []}`, 1, 28, "RFC 3339"},
		{"bad ski", `{"roas": [], "bgpsec_keys": [{"asn": 1, "ski": "zz", "pubkey": "AQID"}]}`, 1, 48, "ski"},
		{"bad pubkey", `{"roas": [], "bgpsec_keys": [{"asn": 1, "ski": "5D4250E2D81D4448D8A29EFCE91D29FF075EC9E2", "pubkey": "!"}]}`, 1, 102, "pubkey"},
		{"truncated", `{"roas": [{"asn": 1, "prefix": "192.0`, 1, 38, "unexpected end"},
		{"deep", `{"x": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `, "roas": []}`, 1, 263, "nesting"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(c.doc), time.Time{})
			var pe *PosError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *PosError", err)
			}
			if pe.Line != c.line || pe.Col != c.col || !strings.Contains(pe.Msg, c.msg) {
				t.Errorf("got %v (line %d col %d), want line %d col %d containing %q", err, pe.Line, pe.Col, c.line, c.col, c.msg)
			}
		})
	}
}

// TestReadJSONSmallReads feeds the reader one byte at a time, so every token straddles a
// buffer refill.
func TestReadJSONSmallReads(t *testing.T) {
	doc := `{"metadata":{"buildtime":"2025-07-20T10:01:43Z"},"roas":[{"asn":"AS64496","prefix":"2001:db8::/32","maxLength":48,"ta":"t\u00e9st \ud83d\ude00","expires":2000000000}]}`
	f, err := ReadJSON(io.MultiReader(oneByteReader(doc)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for v := range f.Set.All() {
		if v.Source != "tést 😀" || v.ASN != 64496 || v.MaxLength != 48 {
			t.Errorf("got %+v", v)
		}
	}
	if f.Set.Len() != 1 {
		t.Errorf("%d VRPs, want 1", f.Set.Len())
	}
}

func oneByteReader(s string) io.Reader { return &slowReader{s: s} }

type slowReader struct{ s string }

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

// TestReadJSONMemory checks that the real snapshot is held compactly: the live heap of
// the set stays under 20 MB (16 bytes per IPv4 VRP, 28 per IPv6).
func TestReadJSONMemory(t *testing.T) {
	data := snapshotJSON(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := ReadJSON(bytes.NewReader(data), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("set of %d VRPs: %.1f MB live heap", f.Set.Len(), float64(live)/1e6)
	if live > 20e6 {
		t.Errorf("set of %d VRPs takes %.1f MB, want < 20 MB", f.Set.Len(), float64(live)/1e6)
	}
	runtime.KeepAlive(f)
}

// cpuTime returns the CPU time the process has used: a measure less disturbed than wall
// time by other work on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReadJSONSnapshot(b *testing.B) {
	data := snapshotJSON(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		if _, err := ReadJSON(bytes.NewReader(data), time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
}

func BenchmarkWriteJSONSnapshot(b *testing.B) {
	f, err := ReadJSON(bytes.NewReader(snapshotJSON(b)), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteJSON(io.Discard, f.Set, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
