package vrp

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
)

// FuzzReadJSON checks ReadJSON against itself: the fast path for plain roa objects must
// agree with the general parser on every input (same set, same error), and what it reads
// must survive WriteJSON and ReadJSON unchanged.
func FuzzReadJSON(f *testing.F) {
	for _, name := range []string{"roa_test.rpkiclient2021_json", "roa_test.rpkiclient2023_json", "roa_test.routinator_jsonext"} {
		if b, err := os.ReadFile(ipledgertest.DataPath("rpki/samples/" + name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"metadata":{"buildtime":"2025-07-20T10:01:43Z"},"roas":[{ "asn": 13335, "prefix": "1.0.0.0/24", "maxLength": 24, "ta": "apnic", "expires": 1753453058 }]}`))
	f.Add([]byte(`{"roas":[{"asn": "AS1", "prefix": "2001:db8::/32", "maxLength": 48},{"asn": 1, "prefix": "1.0.0.0/8", "maxLength": 8, "maxLength": 9}]}`))
	f.Add([]byte(`{"roas":[{"asn":0,"prefix":"0.0.0.0/0","maxLength":32,"ta":"a\u0000b","expires":99999999999}],"bgpsec_keys":[{"asn":1,"ski":"5D4250E2D81D4448D8A29EFCE91D29FF075EC9E2","pubkey":"AQID"}]}`))
	f.Add([]byte(`{"roas":[{"asn":01,"prefix":"1.0.0.0/8","maxLength":8}]}`))
	f.Add([]byte(`{"roas":[],"aspas":[{"customer_asid":945,"expires":1753070425,"providers":[13213,150369]},{"customer_asid":"AS945","providers":[1,"AS2"]}]}`))
	f.Add([]byte(`{"roas":[],"provider_authorizations":{"ipv4":[{"customer_asid":945,"providers":[13213,150369]}],"ipv6":[{"customer_asid":945,"providers":[1]}]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		now := time.Unix(1_700_000_000, 0)
		fast, errFast := ReadJSON(bytes.NewReader(doc), now)
		noFastPath = true
		slow, errSlow := ReadJSON(bytes.NewReader(doc), now)
		noFastPath = false
		if (errFast == nil) != (errSlow == nil) || errFast != nil && errFast.Error() != errSlow.Error() {
			t.Fatalf("fast path: %v; general parser: %v", errFast, errSlow)
		}
		if errFast != nil {
			return
		}
		if !fast.Set.Equal(slow.Set) || fast.ROAs != slow.ROAs || fast.Expired != slow.Expired {
			t.Fatalf("fast path read %d VRPs (%d expired), general parser %d (%d)", fast.Set.Len(), fast.Expired, slow.Set.Len(), slow.Expired)
		}
		for v := range fast.Set.All() {
			if err := v.Validate(); err != nil {
				t.Fatalf("invalid VRP in the set: %v", err)
			}
		}
		last := int64(-1)
		for a := range fast.Set.ASPAs() {
			if err := a.Validate(); err != nil || int64(a.Customer) <= last || !slices.IsSorted(a.Providers) || len(slices.Compact(slices.Clone(a.Providers))) != len(a.Providers) {
				t.Fatalf("ASPA %v in the set: %v (one per customer, providers sorted and distinct)", a, err)
			}
			last = int64(a.Customer)
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, fast.Set, fast.BuildTime); err != nil {
			t.Fatal(err)
		}
		again, err := ReadJSON(&buf, now)
		if err != nil {
			t.Fatalf("reading what WriteJSON wrote: %v\n%s", err, buf.Bytes())
		}
		if !again.Set.Equal(fast.Set) {
			t.Fatalf("round trip changed the set: %d → %d VRPs", fast.Set.Len(), again.Set.Len())
		}
	})
}

// FuzzReadSLURM checks that ReadSLURM never panics and that what it accepts is what the
// RFC allows, and applies.
func FuzzReadSLURM(f *testing.F) {
	spki, ski, _, _ := testKey(f)
	f.Add([]byte(rfc8416Example(spki, ski)))
	f.Add([]byte(`{"slurmVersion": 1, "validationOutputFilters": {"prefixFilters": [], "bgpsecFilters": []}, "locallyAddedAssertions": {"prefixAssertions": [], "bgpsecAssertions": []}}`))
	f.Add([]byte(`{"slurmVersion": 1, "validationOutputFilters": {"prefixFilters": [{"asn": 1}], "bgpsecFilters": [{"SKI": "` + ski + `"}]}, "locallyAddedAssertions": {"prefixAssertions": [{"asn": 2, "prefix": "::/0", "maxPrefixLength": 128}], "bgpsecAssertions": []}}`))
	if b, err := os.ReadFile("testdata/example.slurm.json"); err == nil {
		f.Add(b)
	}
	in, _ := NewSet([]VRP{mustVRP("192.0.2.0/24-24 AS1"), mustVRP("2001:db8::/32-48 AS2")}, []RouterKey{{ASN: 1, SPKI: "k"}})
	f.Fuzz(func(t *testing.T, doc []byte) {
		sl, err := ReadSLURM(bytes.NewReader(doc))
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		for _, p := range sl.PrefixFilters {
			if !p.Prefix.IsValid() && !p.HasASN {
				t.Fatal("empty prefix filter accepted")
			}
		}
		for _, p := range sl.BGPsecFilters {
			if !p.HasSKI && !p.HasASN {
				t.Fatal("empty BGPsec filter accepted")
			}
		}
		for _, a := range sl.PrefixAssertions {
			if err := (VRP{Prefix: a.Prefix, MaxLength: a.MaxLength, ASN: a.ASN}).Validate(); err != nil {
				t.Fatalf("invalid assertion accepted: %v", err)
			}
		}
		out := sl.Apply(in)
		if out.Len() > in.Len()+len(sl.PrefixAssertions) {
			t.Fatalf("Apply grew the set from %d to %d with %d assertions", in.Len(), out.Len(), len(sl.PrefixAssertions))
		}
	})
}
