package audit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestAuditMarketStats: the audit recomputes the market's statistics from its replay and
// they match an honest node's; a node that serves a VWAP one credit too high is caught.
func TestAuditMarketStats(t *testing.T) {
	n := startPopulated(t) // its transfer is an unpriced trade
	n.commit(ipledger.KindMint, ipledger.MintBody{To: "ORG-B1", Amount: 1_000_000}, ipledger.CodeOK, ipledgertest.Signer(ipledgertest.Agent))
	n.commit(ipledger.KindSwap, ipledger.SwapBody{Resource: ipledger.MustParseResource("193.1.2.0/24"), Buyer: "ORG-B1", Price: 844800}, ipledger.CodeOK,
		ipledgertest.Signer("ORG-A1"), ipledgertest.Signer("ORG-B1"))
	n.waitIdle()

	rep := n.auditOK(n.options(t.TempDir()))
	if rep.StatsRows < 4 || rep.StatsSkipped {
		t.Fatalf("market statistics: %d rows compared, skipped %v", rep.StatsRows, rep.StatsSkipped)
	}

	// A lying node: its statistics' first row with a price says one credit more.
	target, _ := url.Parse(n.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/market/stats" {
			rp.ServeHTTP(w, r)
			return
		}
		res, err := http.Get(n.srv.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		var st apitypes.MarketStats
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for i := range st.Rows {
			if st.Rows[i].VWAP > 0 {
				st.Rows[i].VWAP++
				break
			}
		}
		json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(lying.Close)
	o := n.options(t.TempDir())
	o.Node = lying.URL
	d := n.auditFails(o, "market statistics ipv4", "node says vwap 3301, the log says 3300")
	if d.Height < 1 {
		t.Fatalf("divergence without a height: %v", d)
	}
}
