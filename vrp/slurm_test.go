package vrp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// testKey returns a P-256 SubjectPublicKeyInfo and its SKI (RFC 8209: SHA-1 of the key),
// both base64url without padding as SLURM wants them.
func testKey(t testing.TB) (spki, ski string, raw []byte, rawSKI [20]byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(der), base64.RawURLEncoding.EncodeToString(sum[:]), der, sum
}

// rfc8416Example is the full example of RFC 8416 §3.5, with real values where the RFC
// has placeholders (its "Zm9v" and "YmFy" SKIs are 3 bytes, not the 20 of a SHA-1 SKI).
func rfc8416Example(spki, ski string) string {
	return `{
  "slurmVersion": 1,
  "validationOutputFilters": {
    "prefixFilters": [
      {
        "prefix": "192.0.2.0/24",
        "comment": "All VRPs encompassed by prefix"
      },
      {
        "asn": 64496,
        "comment": "All VRPs matching ASN"
      },
      {
        "prefix": "198.51.100.0/24",
        "asn": 64497,
        "comment": "All VRPs encompassed by prefix, matching ASN"
      }
    ],
    "bgpsecFilters": [
      {
        "asn": 64496,
        "comment": "All keys for ASN"
      },
      {
        "SKI": "` + ski + `",
        "comment": "Key matching Router SKI"
      },
      {
        "asn": 64497,
        "SKI": "` + ski + `",
        "comment": "Key for ASN 64497 matching Router SKI"
      }
    ]
  },
  "locallyAddedAssertions": {
    "prefixAssertions": [
      {
        "asn": 64496,
        "prefix": "198.51.100.0/24",
        "comment": "My other important route"
      },
      {
        "asn": 64496,
        "prefix": "2001:DB8::/32",
        "maxPrefixLength": 48,
        "comment": "My other important de-aggregated routes"
      }
    ],
    "bgpsecAssertions": [
      {
        "asn": 64496,
        "comment" : "My known key for my important ASN",
        "SKI": "` + ski + `",
        "routerPublicKey": "` + spki + `"
      }
    ]
  }
}`
}

func TestReadSLURMExample(t *testing.T) {
	spki, ski, der, rawSKI := testKey(t)
	sl, err := ReadSLURM(strings.NewReader(rfc8416Example(spki, ski)))
	if err != nil {
		t.Fatal(err)
	}
	if len(sl.PrefixFilters) != 3 || len(sl.BGPsecFilters) != 3 || len(sl.PrefixAssertions) != 2 || len(sl.BGPsecAssertions) != 1 {
		t.Fatalf("read %v", sl)
	}
	if f := sl.PrefixFilters[2]; f.Prefix != netip.MustParsePrefix("198.51.100.0/24") || !f.HasASN || f.ASN != 64497 {
		t.Errorf("filter 2 = %+v", f)
	}
	if f := sl.BGPsecFilters[1]; f.HasASN || !f.HasSKI || f.SKI != rawSKI {
		t.Errorf("bgpsec filter 1 = %+v", f)
	}
	if a := sl.PrefixAssertions[0]; a.MaxLength != 24 || a.ASN != 64496 {
		t.Errorf("assertion 0 = %+v: maxLength defaults to the prefix length", a)
	}
	if a := sl.PrefixAssertions[1]; a.Prefix != netip.MustParsePrefix("2001:db8::/32") || a.MaxLength != 48 {
		t.Errorf("assertion 1 = %+v", a)
	}
	if a := sl.BGPsecAssertions[0]; string(a.PublicKey) != string(der) || a.SKI != rawSKI {
		t.Errorf("bgpsec assertion = %+v", a)
	}

	// RFC 8416 §4: filters first, then assertions (which are not filtered).
	in, _ := NewSet([]VRP{
		mustVRP("192.0.2.0/24-24 AS1"),       // within 192.0.2.0/24: filtered
		mustVRP("192.0.2.128/25-25 AS2"),     // more specific: filtered
		mustVRP("192.0.0.0/16-24 AS3"),       // less specific: kept
		mustVRP("203.0.113.0/24-24 AS64496"), // AS64496: filtered
		mustVRP("198.51.100.0/24-24 AS64497"),
		mustVRP("198.51.100.0/25-25 AS64497"),
		mustVRP("198.51.100.0/24-24 AS64498"), // other AS: kept
		mustVRP("2001:db8::/32-32 AS64499"),
	}, []RouterKey{
		{ASN: 64496, SPKI: "a"},              // filtered by AS
		{ASN: 64497, SPKI: "b", SKI: rawSKI}, // filtered by SKI
		{ASN: 64498, SPKI: "c"},              // kept
	})
	out := sl.Apply(in)
	var got []string
	for v := range out.All() {
		got = append(got, v.String()+" "+v.Source)
	}
	want := []string{
		"192.0.0.0/16-24 AS3 ",
		"198.51.100.0/24-24 AS64496 slurm",
		"198.51.100.0/24-24 AS64498 ",
		"2001:db8::/32-48 AS64496 slurm",
		"2001:db8::/32-32 AS64499 ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("after Apply:\n got %q\nwant %q", got, want)
	}
	var keys []uint32
	for k := range out.Keys() {
		keys = append(keys, k.ASN)
	}
	if !slices.Equal(keys, []uint32{64496, 64498}) {
		t.Errorf("keys after Apply: %v, want the asserted AS64496 key and AS64498", keys)
	}
}

func TestReadSLURMEmpty(t *testing.T) {
	// RFC 8416 §3.5's empty file.
	sl, err := ReadSLURM(strings.NewReader(`{
  "slurmVersion": 1,
  "validationOutputFilters": { "prefixFilters": [], "bgpsecFilters": [] },
  "locallyAddedAssertions": { "prefixAssertions": [], "bgpsecAssertions": [] }
}`))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := NewSet([]VRP{mustVRP("192.0.2.0/24-24 AS1")}, nil)
	if sl.Apply(in) != in {
		t.Error("an empty SLURM changed the set")
	}
}

// TestReadSLURMInvalid checks what RFC 8416 rules out, and what this reader refuses beyond
// the grammar (unknown or repeated members, unmasked prefixes, keys that do not parse).
func TestReadSLURMInvalid(t *testing.T) {
	spki, ski, _, _ := testKey(t)
	ok := rfc8416Example(spki, ski)
	empty := func(filters, assertions string) string {
		return `{"slurmVersion": 1, "validationOutputFilters": {` + filters + `}, "locallyAddedAssertions": {` + assertions + `}}`
	}
	const noF = `"prefixFilters": [], "bgpsecFilters": []`
	const noA = `"prefixAssertions": [], "bgpsecAssertions": []`
	pf := func(s string) string { return empty(`"prefixFilters": [`+s+`], "bgpsecFilters": []`, noA) }
	bf := func(s string) string { return empty(`"prefixFilters": [], "bgpsecFilters": [`+s+`]`, noA) }
	pa := func(s string) string { return empty(noF, `"prefixAssertions": [`+s+`], "bgpsecAssertions": []`) }
	ba := func(s string) string { return empty(noF, `"prefixAssertions": [], "bgpsecAssertions": [`+s+`]`) }
	for _, c := range []struct {
		name, doc, msg string
	}{
		{"version 2", strings.Replace(ok, `"slurmVersion": 1`, `"slurmVersion": 2`, 1), "only version 1"},
		{"version string", strings.Replace(ok, `"slurmVersion": 1`, `"slurmVersion": "1"`, 1), "want a number"},
		{"no version", `{"validationOutputFilters": {` + noF + `}, "locallyAddedAssertions": {` + noA + `}}`, "no slurmVersion"},
		{"no filters", `{"slurmVersion": 1, "locallyAddedAssertions": {` + noA + `}}`, "no validationOutputFilters"},
		{"no assertions", `{"slurmVersion": 1, "validationOutputFilters": {` + noF + `}}`, "no locallyAddedAssertions"},
		{"no prefixFilters", empty(`"bgpsecFilters": []`, noA), "no prefixFilters"},
		{"no bgpsecAssertions", empty(noF, `"prefixAssertions": []`), "no bgpsecAssertions"},
		{"unknown top", strings.Replace(ok, `"slurmVersion": 1`, `"slurmVersion": 1, "extra": true`, 1), "unknown member"},
		{"wrong case", strings.Replace(ok, `"asn": 64497,`, `"ASN": 64497,`, 1), "unknown member"},
		{"repeated", strings.Replace(ok, `"slurmVersion": 1`, `"slurmVersion": 1, "slurmVersion": 1`, 1), "twice"},
		{"empty prefix filter", pf(`{"comment": "nothing"}`), "needs a prefix or an asn"},
		{"empty bgpsec filter", bf(`{"comment": "nothing"}`), "needs an asn or an SKI"},
		{"bad prefix", pf(`{"prefix": "192.0.2.0/33"}`), "prefix"},
		{"unmasked prefix", pf(`{"prefix": "192.0.2.1/24"}`), "bits set beyond"},
		{"asn too big", pf(`{"asn": 4294967296}`), "asn"},
		{"asn negative", pf(`{"asn": -5}`), "asn"},
		{"asn string", pf(`{"asn": "AS5"}`), "want a number"},
		{"comment number", pf(`{"asn": 5, "comment": 5}`), "comment must be a string"},
		{"rfc example SKI", bf(`{"SKI": "Zm9v"}`), "SKI of 3 bytes"},
		{"padded SKI", bf(`{"SKI": "` + ski + `="}`), "base64url"},
		{"std base64 SKI", bf(`{"SKI": "` + strings.NewReplacer("-", "+", "_", "/").Replace(ski) + `+"}`), "base64url"},
		{"assertion no asn", pa(`{"prefix": "192.0.2.0/24"}`), "no asn"},
		{"assertion no prefix", pa(`{"asn": 1}`), "no prefix"},
		{"maxlen short", pa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxPrefixLength": 23}`), "maxPrefixLength 23"},
		{"maxlen long", pa(`{"asn": 1, "prefix": "192.0.2.0/24", "maxPrefixLength": 33}`), "maxPrefixLength 33"},
		{"key no SKI", ba(`{"asn": 1, "routerPublicKey": "` + spki + `"}`), "no SKI"},
		{"key no key", ba(`{"asn": 1, "SKI": "` + ski + `"}`), "no routerPublicKey"},
		{"key garbage", ba(`{"asn": 1, "SKI": "` + ski + `", "routerPublicKey": "AQID"}`), "not a SubjectPublicKeyInfo"},
		{"trailing garbage", ok + "}", "after the document"},
		{"not json", "slurmVersion: 1", "want an object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadSLURM(strings.NewReader(c.doc))
			var pe *PosError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want a *PosError containing %q", err, c.msg)
			}
		})
	}
}

// TestReadSLURMMaxLengthPerAssertion: a prefix assertion's maxPrefixLength does not carry
// over to the next, which without one gets its prefix length.
func TestReadSLURMMaxLengthPerAssertion(t *testing.T) {
	sl, err := ReadSLURM(strings.NewReader(`{"slurmVersion": 1,
  "validationOutputFilters": {"prefixFilters": [], "bgpsecFilters": []},
  "locallyAddedAssertions": {"bgpsecAssertions": [], "prefixAssertions": [
    {"asn": 1, "prefix": "192.0.2.0/24", "maxPrefixLength": 28},
    {"asn": 2, "prefix": "198.51.100.0/22"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sl.PrefixAssertions) != 2 || sl.PrefixAssertions[0].MaxLength != 28 || sl.PrefixAssertions[1].MaxLength != 22 {
		t.Errorf("prefix assertions %+v, want max lengths 28 and 22", sl.PrefixAssertions)
	}
}

func TestReadSLURMPosition(t *testing.T) {
	doc := "{\n  \"slurmVersion\": 1,\n  \"validationOutputFilters\": {\n    \"prefixFilters\": [\n      { \"prefix\": \"192.0.2.1/24\" }\n"
	_, err := ReadSLURM(strings.NewReader(doc))
	var pe *PosError
	if !errors.As(err, &pe) || pe.Line != 5 || pe.Col != 19 {
		t.Errorf("error %v, want line 5 col 19", err)
	}
}

// TestReadSLURMFile reads the fixture used by the end-to-end tests.
func TestReadSLURMFile(t *testing.T) {
	f, err := os.Open("testdata/example.slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sl, err := ReadSLURM(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(sl.PrefixFilters) != 1 || len(sl.PrefixAssertions) != 1 {
		t.Errorf("read %v", sl)
	}
}
