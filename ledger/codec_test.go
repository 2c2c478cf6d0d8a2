package ledger

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

func TestHoldingCodecRoundTrip(t *testing.T) {
	for _, h := range []ipledger.Holding{
		{ID: 1, Resource: mustRes("193.0.0.0/16"), Depth: 1, Holder: "ORG-A", Status: ipledger.StatusAllocatedPA, Country: "NL", Registered: "2010-05-01", Changed: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Origin: 7},
		{ID: 1 << 40, Resource: mustRes("2001:db8::/32"), Depth: 0, Holder: ipledger.IANA, Status: ipledger.StatusReserved, Changed: time.Unix(0, 0).UTC()},
		{ID: 3, Resource: mustRes("AS64496-AS64511"), Depth: 8, Holder: "ORG-Z", Status: ipledger.StatusAssignedAS, Changed: time.Unix(1, 0).UTC()},
	} {
		got, err := decodeHolding(encodeHolding(&h))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, h) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", *got, h)
		}
	}
}

func FuzzDecodeHolding(f *testing.F) {
	h := ipledger.Holding{ID: 1, Resource: mustRes("193.0.0.0/16"), Depth: 1, Holder: "ORG-A", Status: ipledger.StatusAllocatedPA, Country: "NL", Registered: "2010-05-01", Changed: time.Unix(5, 0).UTC(), Origin: 7}
	f.Add(encodeHolding(&h))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeHolding(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes, except for non-minimal varints.
		if re := encodeHolding(got); !bytes.Equal(re, b) {
			if _, err := decodeHolding(re); err != nil {
				t.Fatalf("re-encoded holding does not decode: %v", err)
			}
		}
	})
}

func TestOrgCodecRoundTrip(t *testing.T) {
	var k1, k2 ipledger.PublicKey
	k1[0], k2[31] = 1, 2
	for _, o := range []ipledger.Organisation{
		{Handle: "ORG-A", Name: "A Networks", Country: "NL", AbuseMailbox: "abuse@a.example", Registry: ipledger.RIPENCC,
			Keys: []ipledger.PublicKey{k1, k2}, Sequence: 1 << 40, Created: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			Updated: time.Date(2026, 2, 2, 3, 4, 5, 999999999, time.UTC), OpaqueID: "A91A7381"},
		{Handle: ipledger.RIPENCC, Name: "RIPE NCC", IsRegistry: true, Authoritative: true, Created: time.Unix(0, 0).UTC(), Updated: time.Unix(-5, 0).UTC()},
		{Handle: "AGENT", SettlementAgent: true, Keys: []ipledger.PublicKey{k2}, Created: time.Unix(1, 0).UTC(), Updated: time.Unix(1, 0).UTC()},
	} {
		got, err := decodeOrg(encodeOrg(&o))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, o) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", *got, o)
		}
	}
	// Strictness: every truncation and a trailing byte are errors.
	b := encodeOrg(&ipledger.Organisation{Handle: "ORG-B", Keys: []ipledger.PublicKey{k1}, Created: time.Unix(9, 0).UTC()})
	for i := range b {
		if _, err := decodeOrg(b[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: decoded", i)
		}
	}
	if _, err := decodeOrg(append(b, 0)); err == nil {
		t.Fatal("trailing byte: decoded")
	}
}

func FuzzDecodeOrg(f *testing.F) {
	var k ipledger.PublicKey
	k[3] = 9
	f.Add(encodeOrg(&ipledger.Organisation{Handle: "ORG-A", Name: "A", IsRegistry: true, Keys: []ipledger.PublicKey{k}, Sequence: 3, Created: time.Unix(5, 7).UTC()}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeOrg(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to bytes that decode to the same organisation.
		again, err := decodeOrg(encodeOrg(got))
		if err != nil {
			t.Fatalf("re-encoded organisation does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding changed the organisation:\n%+v\n%+v", again, got)
		}
	})
}
