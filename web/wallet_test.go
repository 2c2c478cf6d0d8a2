package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// TestWalletPages renders every wallet template with the layout: each passes the
// accessibility rules, escapes hostile text, and keeps the explorer's headers.
func TestWalletPages(t *testing.T) {
	rd := NewRenderer()
	hostile := `<script>alert("x")</script>`
	res := ipledger.MustParseResource("192.0.2.0/24")
	offer := &ipledger.Offer{ID: 1, Lessor: "DEMO-LESSOR", Resource: res, Price: 5, Period: 2592000, MinPeriods: 1, MaxPeriods: 12, Created: time.Unix(0, 0)}
	lease := &ipledger.Lease{ID: 1, Lessor: "DEMO-LESSOR", Lessee: "DEMO", Resource: res, ASN: 64500, State: ipledger.LeaseActive, Paid: 1, Periods: 1}
	fields := []Field{{Name: "csrf", Type: "hidden", Value: "t"}, {Name: "resource", Label: "Block", Type: "text"}}
	pages := map[string]*Page{
		"wallet-home": {Title: "Wallet: DEMO", Actions: []Action{{Label: "Offer", Method: "post", Path: "/wallet/offer", Fields: fields}}, Data: map[string]any{
			"As": "DEMO", "NodeURL": "http://127.0.0.1:8080", "OrgURL": "http://127.0.0.1:8080/org/DEMO", "CSRF": "t", "ChainID": "ipledger-dev", "ReadError": "",
			"Identities": []map[string]any{{"Handle": "DEMO", "OnChain": true, "Current": true}, {"Handle": "ORG-X", "OnChain": false, "Current": false}},
			"Org":        map[string]any{"Handle": "DEMO", "Name": hostile, "Sequence": 3}, "Balance": 100,
			"Offers": []*ipledger.Offer{offer}, "Others": []*ipledger.Offer{offer}, "Leases": []*ipledger.Lease{lease},
			"Routes": []map[string]any{{"ID": 2, "Prefix": "192.0.2.0/24", "MaxLength": 24, "ASN": 64500, "InForce": true, "Lease": 0}},
		}},
		"wallet-confirm": {Title: "Confirm: lease", Actions: []Action{{Label: "Sign and submit", Method: "post", Path: "/wallet/confirm", Fields: fields[:1]}}, Data: map[string]any{
			"Kind": "lease", "ChainID": "ipledger-dev", "Body": `{"offer": 1, "name": "` + hostile + `"}`, "Price": "pays 1280 credits", "Fee": "none",
			"Signers": []map[string]any{{"Org": "DEMO", "Key": "ab", "State": "signs"}}, "Sequence": 4, "Expiry": "2026-01-01", "Facts": []string{hostile},
			"Proof": map[string]any{"Height": 5, "AppHash": "AB", "Header": 6, "ChainID": "ipledger-dev", "Signatures": 1, "Validators": 1},
			"Hash":  "ff", "Multi": true, "NodeURL": "http://127.0.0.1:8080"}},
		"wallet-result": {Title: "Committed: lease", Data: map[string]any{"Hash": "ff", "Height": 7, "Code": "ok", "Log": hostile, "OK": false, "Pending": false,
			"TxURL": "http://127.0.0.1:8080/tx/ff", "Links": []map[string]any{{"Label": "lease/1", "URL": "http://127.0.0.1:8080/lease/1"}}}},
		"wallet-keys": {Title: "Keys and registration", Actions: []Action{{Label: "Create", Method: "post", Path: "/wallet/keys", Fields: fields}},
			Data: map[string]any{"CSRF": "t", "Keys": []map[string]any{{"Name": "DEMO", "Public": "ab", "Handle": true}}}},
		"wallet-cosign": {Title: "Co-sign a transaction", Data: map[string]any{"CSRF": "t", "Identities": []string{"DEMO"}}},
		"wallet-block": {Title: "192.0.2.0/24", Actions: []Action{{Label: "Offer", Method: "post", Path: "/wallet/offer", Fields: fields}}, Data: map[string]any{
			"Resource": res, "As": "DEMO", "Mine": true, "NodePage": "http://127.0.0.1:8080/ip/192.0.2.0/24",
			"Chain":  []*ipledger.Holding{{ID: 1, Resource: res, Holder: "DEMO", Status: ipledger.StatusAllocatedPA}},
			"Holder": &ipledger.Organisation{Handle: "DEMO", Name: hostile},
			"Proof":  map[string]any{"Height": 5, "AppHash": "AB", "Header": 6, "ChainID": "ipledger-dev", "Signatures": 1, "Validators": 1}}},
		"wallet-message": {Title: "Not signed", Data: map[string]any{"Message": hostile, "Back": "/"}},
	}
	for name, p := range pages {
		w := httptest.NewRecorder()
		if err := rd.Render(w, http.StatusOK, name, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := w.Body.String()
		if strings.Contains(body, hostile) {
			t.Errorf("%s: hostile text unescaped", name)
		}
		if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: no framing rule", name)
		}
		for _, e := range checkPage(parse(t, body)) {
			t.Errorf("%s: %s", name, e)
		}
	}
	if err := rd.Render(httptest.NewRecorder(), http.StatusOK, "nope", &Page{}); err == nil {
		t.Error("an unknown template rendered")
	}
}
