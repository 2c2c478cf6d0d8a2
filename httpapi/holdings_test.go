package httpapi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestOrgHoldings pages through an organisation's holdings: every one of them exactly
// once, 100 a page, the next page from where the last stopped; and the errors.
func TestOrgHoldings(t *testing.T) {
	kv := manyChildren(t, 2*MaxOrgHoldings+45)
	h := memServer(t, kv, nil)
	want := map[uint64]bool{}
	if err := ledger.Holdings(kv, func(x *ipledger.Holding) bool {
		if x.Holder == "ORG-A" {
			want[x.ID] = true
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != 2*MaxOrgHoldings+47 { // the /28s, the /16 and AS3333
		t.Fatalf("ORG-A holds %d", len(want))
	}
	seen := map[uint64]bool{}
	path, pages := "/v1/orgs/org-a/holdings", 0
	for {
		page := getOK[orgHoldings](t, h, path)
		pages++
		if page.Org != "ORG-A" || page.Height != 2 || len(page.Holdings) > MaxOrgHoldings || page.Truncated != (page.Next != "") {
			t.Fatalf("page %d: org %s height %d, %d holdings, truncated %v next %q", pages, page.Org, page.Height, len(page.Holdings), page.Truncated, page.Next)
		}
		for _, x := range page.Holdings {
			if seen[x.ID] || !want[x.ID] || x.Holder != "ORG-A" || x.HolderName != "Alpha" || x.Handle == "" {
				t.Fatalf("page %d: %+v repeated, not ORG-A's or without its name", pages, x)
			}
			seen[x.ID] = true
		}
		if !page.Truncated {
			break
		}
		if len(page.Holdings) != MaxOrgHoldings {
			t.Fatalf("page %d: truncated at %d holdings", pages, len(page.Holdings))
		}
		path = "/v1/orgs/ORG-A/holdings?after=" + page.Next
	}
	if len(seen) != len(want) || pages != 3 {
		t.Fatalf("%d holdings in %d pages, want %d in 3", len(seen), pages, len(want))
	}
	// A registry's pools are its holdings.
	if pools := getOK[orgHoldings](t, h, "/v1/orgs/RIPE-NCC/holdings"); len(pools.Holdings) == 0 || pools.Holdings[0].Depth != 0 {
		t.Fatalf("RIPE-NCC: %+v", pools)
	}
	for path, status := range map[string]int{
		"/v1/orgs/ORG-NONE/holdings":             404,
		"/v1/orgs/bad_handle!/holdings":          400,
		"/v1/orgs/ORG-A/holdings?after=zz":       400,
		"/v1/orgs/ORG-A/holdings?after=6800":     400, // a holding key is 19 bytes
		"/v1/orgs/ORG-A/holdings?after=" + hex19: 400, // not a holding's tag
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != status {
			t.Errorf("%s: %d, want %d: %s", path, w.Code, status, w.Body)
		}
	}
}

// hex19 is 19 bytes of a key that is not a holding's.
const hex19 = "00000000000000000000000000000000000000"

// FuzzOrgHoldingsAfter drives the cursor of GET /v1/orgs/{handle}/holdings with arbitrary
// text: never a panic or a 500; a 200 lists only ORG-A's holdings, each after the cursor.
func FuzzOrgHoldingsAfter(f *testing.F) {
	kv := manyChildren(f, 20)
	h := memServer(f, kv, nil)
	for _, s := range []string{"", "zz", "68", hex19, strings.Repeat("68", 19), strings.Repeat("ff", 19), strings.Repeat("68", 200)} {
		f.Add(s)
	}
	ledger.Holdings(kv, func(x *ipledger.Holding) bool { // every holding's key, ORG-A's or not
		f.Add(hex.EncodeToString(ledger.HoldingKey(x.Resource, x.Depth)))
		return true
	})
	f.Fuzz(func(t *testing.T, s string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/orgs/ORG-A/holdings?after="+url.QueryEscape(s), nil))
		switch w.Code {
		case http.StatusOK:
			var page orgHoldings
			if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			for _, x := range page.Holdings {
				if x.Holder != "ORG-A" || s != "" && bytes.Compare(ledger.HoldingKey(x.Resource, x.Depth), mustHex(t, s)) <= 0 {
					t.Fatalf("%q: listed %+v", s, x)
				}
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("%q: %d %s", s, w.Code, w.Body)
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%q answered 200: %v", s, err)
	}
	return b
}

// TestOrgHoldingsFailingStore: a failing store answers 500 "internal error".
func TestOrgHoldingsFailingStore(t *testing.T) {
	h := memServer(t, ipledgertest.FailKV{}, nil)
	if w := get(h, "/v1/orgs/ORG-A/holdings"); w.Code != 500 || !strings.Contains(w.Body.String(), `"internal error"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
