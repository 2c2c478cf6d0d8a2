package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
)

// FuzzResourcePath drives GET /v1/resources/{resource...} with arbitrary paths: it never
// panics and never answers 500; a 200 is exactly the resource ParseResource reads, and every
// error is a JSON error body.
func FuzzResourcePath(f *testing.F) {
	for _, s := range []string{
		"193.0.0.1", "193.0.0.0/16", "193.0.0.0/8", "AS3333", "as3333", "AS3072-AS4095", "AS1.10",
		"2001:db8::/32", "2001:600::/23", "::/0", "::", "0.0.0.0-255.255.255.255", "193.0.0.0-193.0.0.99",
		"", "/", "//", "../v1/status", "193.0.0.0/33", "193.0.0.1/16", "fe80::1%eth0", "::ffff:1.2.3.4",
		"AS4294967296", "AS-1", "1.2.3.4-1.2.3.3", "%", "?a=b", "#", "193.0.0.0/16/", strings.Repeat("1", 200),
	} {
		f.Add(s)
	}
	h := memServer(f, memState(f), nil)
	f.Fuzz(func(t *testing.T, s string) {
		w := get(h, "/v1/resources/"+s)
		switch w.Code {
		case http.StatusOK:
			var info apitypes.ResourceInfo
			if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			want, err := ipledger.ParseResource(s)
			if err != nil || info.Resource != want || len(info.Chain) == 0 || !info.Holding.Resource.Contains(want) {
				t.Fatalf("%q: 200 with %+v (parse: %v)", s, info, err)
			}
		case http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusTemporaryRedirect:
			// ServeMux cleaning the path ("..", "//")
		case http.StatusBadRequest, http.StatusNotFound:
			var eb apitypes.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Message == "" {
				t.Fatalf("%q: %d with body %q", s, w.Code, w.Body)
			}
			if _, err := ipledger.ParseResource(s); err == nil && w.Code == http.StatusBadRequest && s != "" {
				t.Fatalf("%q parses but answers 400: %s", s, w.Body)
			}
		default:
			t.Fatalf("%q: status %d %s", s, w.Code, w.Body)
		}
	})
}

func TestParseResourcePath(t *testing.T) {
	for _, s := range []string{"", "x", "1.2.3.4/", "AS"} {
		if _, err := parseResourcePath(s); ipledger.ErrorCode(err) != ipledger.CodeInvalid {
			t.Errorf("%q: %v", s, err)
		}
	}
	if r, err := parseResourcePath("2001:db8::/32"); err != nil || r.String() != "2001:db8::/32" {
		t.Errorf("2001:db8::/32: %v %v", r, err)
	}
}

// TestInternalError: a failing store answers 500 "internal error" and logs the details.
func TestInternalError(t *testing.T) {
	var logs bytes.Buffer
	h := memServer(t, ipledgertest.FailKV{}, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, p := range []string{"/v1/resources/193.0.0.1", "/v1/orgs/ORG-A", "/v1/orgs", "/v1/holdings/1"} {
		logs.Reset()
		w := get(h, p)
		var eb apitypes.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || w.Code != 500 || eb.Code != "internal" || eb.Message != "internal error" {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "disk") {
			t.Errorf("%s: details leak: %s", p, w.Body)
		}
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "sector 7") {
			t.Errorf("%s: log %q", p, logs.String())
		}
	}
}

// TestMemState covers read paths that need no node: 404 for space spanning two pools,
// /metrics without a handler.
func TestMemState(t *testing.T) {
	h := memServer(t, memState(t), nil)
	if w := get(h, "/v1/resources/192.0.0.0-193.0.0.0"); w.Code != 404 || !strings.Contains(w.Body.String(), "not_found") {
		t.Errorf("spanning pools: %d %s", w.Code, w.Body)
	}
	if w := get(h, "/v1/resources/193.0.5.0/24"); w.Code != 200 || !strings.Contains(w.Body.String(), `"holder":"ORG-A"`) {
		t.Errorf("lookup: %d %s", w.Code, w.Body)
	}
	if w := get(h, "/metrics"); w.Code != 404 {
		t.Errorf("metrics without handler: %d", w.Code)
	}
}
