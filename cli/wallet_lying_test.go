package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ipledger/ipledger/client"
)

// TestWalletLyingNode: a node whose answers are altered in transit — here a proxy that
// rewrites every value its state proofs carry — cannot get a signature: the action stops
// on the proof with a clear message and nothing reaches the chain.
func TestWalletLyingNode(t *testing.T) {
	home := t.TempDir()
	runDevLog(t, "demo organisations ready", func(out, log string) {
		api := "http://" + apiAddr(t, out)
		target, _ := url.Parse(api)
		liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Get(target.String() + r.URL.RequestURI())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if strings.HasPrefix(r.URL.Path, "/v1/proof/") {
				b = rewriteProof(t, b)
			}
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			w.Write(b)
		}))
		defer liar.Close()
		ws := startWallet(t, home, liar.URL)
		cl := &client.Client{Base: api}
		before, err := cl.Org(context.Background(), DemoOrg)
		if err != nil {
			t.Fatal(err)
		}
		offers, _ := cl.Offers(context.Background(), DemoLessor)
		for _, c := range []struct {
			as, action string
			form       url.Values
		}{
			{DemoOrg, "lease", url.Values{"offer": {strconv.FormatUint(offers.Offers[0].ID, 10)}, "asn": {demoASN(t, log)}, "periods": {"1"}}},
			{DemoLessor, "offer", url.Values{"resource": {mustResource(t, offers.Offers[0].Resource.Block(22), 1).String()}, "price": {"1"}, "period": {"60"}, "min_periods": {"1"}, "max_periods": {"2"}}},
		} {
			c.form.Set("as", c.as)
			code, page := ws.post("/wallet/"+c.action, c.form)
			if code != http.StatusBadGateway || !strings.Contains(page, "does not verify") || !strings.Contains(page, "Nothing was signed") || pendingRE.MatchString(page) {
				t.Errorf("%s through a lying node: %d\n%s", c.action, code, page)
			}
		}
		if resp := ws.do("GET", ws.base+"/wallet/block?as=DEMO&r=192.0.2.1", "", nil); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("a block page through a lying node: %d", resp.StatusCode)
		}
		after, _ := cl.Org(context.Background(), DemoOrg)
		if after.Sequence != before.Sequence {
			t.Errorf("DEMO signed %d transactions through a lying node", after.Sequence-before.Sequence)
		}
	}, "--home", home)
}

// rewriteProof changes the last byte of every value a state proof answer carries, as a
// node would that lies about a holding, an offer or a balance.
func rewriteProof(t *testing.T, b []byte) []byte {
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return b
	}
	entries, _ := doc["entries"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		s, ok := m["value"].(string)
		if !ok {
			continue
		}
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(v) == 0 {
			continue
		}
		v[len(v)-1] ^= 1
		m["value"] = base64.StdEncoding.EncodeToString(v)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
