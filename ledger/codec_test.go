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
