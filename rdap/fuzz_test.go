package rdap

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// fuzzSeeds are real-looking queries: the ones the RIRs' responses in the shared data answer
// (ip/192.198.0.0, autnum/16509, entities?fn=arin*, entity/PETSI-ARIN), what clients send,
// and near misses.
var fuzzSeeds = [][2]string{
	{"ip/192.198.0.0", ""}, {"ip/192.198.0.0/22", ""}, {"autnum/16509", ""}, {"entity/PETSI-ARIN", ""},
	{"entities", "fn=arin*"}, {"entities", "handle=ORG-*"}, {"ips", "name=ORG-A"}, {"ips", "handle=IPL-H1*"},
	{"autnums", "name=*-C"}, {"ips/rirSearch1/rdap-bottom/193.0.0.0/16", ""}, {"ips/rirSearch1/rdap-up/2001:600::/32", "status=active"},
	{"autnums/rirSearch1/rdap-down/3072-4095", ""}, {"ip/41.0.0.1", ""}, {"ip/193.0.1.5", ""}, {"ip/::ffff:193.0.1.5", ""},
	{"ip/2001:600::1", ""}, {"domain/2.0.192.in-addr.arpa", ""}, {"nameserver/ns1.example", ""}, {"help", ""},
	{"bootstrap/ipv4.json", ""}, {"ip/193.0.1.0/33", ""}, {"ip/1.2.3.4%25zone", ""}, {"autnum/4294967296", ""},
	{"entities", "fn=%C3%A9*"}, {"ips", "name=a&name=b"}, {"", ""}, {"ip//", ""}, {"entity/" + strings.Repeat("A", 70), ""},
}

// FuzzQuery checks the path and query parser on its own and through the whole handler over
// a small ledger: any input gets an RDAP answer (200, 302, 400, 404 or 501) with a JSON
// body, never a panic or a hang.
func FuzzQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s[0], s[1])
	}
	w := newWorld(f, Options{MaxResults: 5})
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		q, err := parseQuery(path, rawQuery)
		if err != nil {
			var st int
			switch e := err.(type) {
			case *statusError:
				st = e.status
			default:
				st = statusOf(err)
			}
			if st != 400 && st != 404 && st != 501 {
				t.Fatalf("parseQuery(%q, %q): status %d (%v)", path, rawQuery, st, err)
			}
		} else if q.kind == kindNone || q.kind == kindUnsupported {
			t.Fatalf("parseQuery(%q, %q) accepted kind %d", path, rawQuery, q.kind)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := (&http.Request{Method: http.MethodGet, URL: &url.URL{Path: Prefix + path, RawQuery: rawQuery},
			Host: "node.test", Header: http.Header{}, RemoteAddr: "192.0.2.1:1234"}).WithContext(ctx)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 501:
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%q?%q: %d with a body that is not JSON: %v", path, rawQuery, rec.Code, err)
			}
			if rec.Code != 200 {
				if n, _ := v["errorCode"].(float64); int(n) != rec.Code {
					t.Fatalf("%q?%q: %d with errorCode %v", path, rawQuery, rec.Code, v["errorCode"])
				}
			}
		case 302:
			if !strings.HasPrefix(rec.Header().Get("Location"), "https://rdap.afrinic.net/rdap/") {
				t.Fatalf("%q?%q: redirect to %q", path, rawQuery, rec.Header().Get("Location"))
			}
		default:
			t.Fatalf("%q?%q: status %d: %s", path, rawQuery, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%q?%q: no CORS header", path, rawQuery)
		}
	})
}

// statusOf maps a parse error the way the handler does.
func statusOf(err error) int {
	if ipledger.ErrorCode(err) == ipledger.CodeInternal {
		return 500
	}
	return ipledger.ErrorCode(err).HTTPStatus()
}
