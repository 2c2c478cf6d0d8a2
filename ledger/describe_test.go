package ledger

import (
	"testing"

	"github.com/ipledger/ipledger"
)

func TestDescribeKey(t *testing.T) {
	h := &ipledger.Holding{ID: 42, Resource: ipledger.MustParseResource("193.0.0.0/16"), Depth: 1, Holder: "ORG-A", Status: ipledger.StatusAllocatedPA}
	hk := posKey(tagHolding, h.Resource, 1)
	for _, c := range []struct {
		key, value []byte
		want       string
	}{
		{orgKey("ORG-A"), nil, "organisation ORG-A"},
		{hk, encodeHolding(h), "holding IPL-H42 193.0.0.0/16"},
		{hk, []byte("not a holding"), "holding at depth 1 (key 680101000000000000000000000000c1000000)"},
		{idKey(42), nil, "holding index IPL-H42"},
		{holdingCoverKey(h.Resource, 1), hk, "holding cover entry for 193.0.0.0/16 at depth 1"},
		{holdingCoverKey(mustRes("193.1.0.0-193.1.0.99"), 2), nil, "holding cover entry for 193.1.0.0/25 at depth 2"},
		{holdingCoverKey(mustRes("2001:600::/32"), 1), nil, "holding cover entry for 2001:600::/32 at depth 1"},
		{holdingCoverKey(mustRes("AS1000-AS1009"), 1), nil, "holding cover entry for AS992-AS1023 at depth 1"},
		{coverKey(mustRes("AS1000"), 1, 33), nil, "key 63030121000000000000000000000000000003e8"},
		{u64Key(tagLease, 7), nil, "lease 7"},
		{u64Key(tagAuth, 3), nil, "route authorisation 3"},
		{u64Key(tagOffer, 5), nil, "lease offer 5"},
		{[]byte{tagLease, 7}, nil, "key 6c07"},
		{balanceKey("ORG-B"), nil, "balance of ORG-B"},
		{[]byte{0xfe, 1}, nil, "key fe01"},
		{nil, nil, "the empty key"},
	} {
		if got := DescribeKey(c.key, c.value); got != c.want {
			t.Errorf("DescribeKey(%x) = %q, want %q", c.key, got, c.want)
		}
	}
}
