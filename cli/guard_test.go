package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/netguard"
)

func testGuard(t *testing.T, f guardFlags, trusted string) *guard {
	t.Helper()
	tr, err := netguard.ParseTrusted(trusted)
	if err != nil {
		t.Fatal(err)
	}
	return &guard{f: f, trusted: tr, limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}), log: slog.New(slog.DiscardHandler)}
}

// TestAPIRateLimit: the JSON API answers a client over its rate with 429, Retry-After and
// a rate_limited error body; RDAP keeps its own limit; trusted clients are exempt and a
// trusted proxy's X-Forwarded-For names the client.
func TestAPIRateLimit(t *testing.T) {
	g := testGuard(t, guardFlags{apiRate: 0.01, apiBurst: 2}, "10.0.0.1")
	h := g.rateLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	get := func(path, remote, xff string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://node"+path, nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if c := get("/v1/status", "198.51.100.1:1", "").Code; c != 200 {
			t.Fatalf("request %d within the burst: %d", i, c)
		}
	}
	rec := get("/metrics", "198.51.100.1:2", "")
	var eb apitypes.ErrorBody
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Code != "rate_limited" {
		t.Fatalf("over the limit: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	if c := get("/rdap/help", "198.51.100.1:3", "").Code; c != 200 {
		t.Errorf("RDAP limited by the API's limit: %d", c)
	}
	if c := get("/v1/status", "198.51.100.1:4", "10.0.0.1").Code; c != http.StatusTooManyRequests {
		t.Errorf("an untrusted peer escaped with X-Forwarded-For: %d", c)
	}
	for i := range 5 {
		if c := get("/v1/status", "10.0.0.1:1", "").Code; c != 200 {
			t.Fatalf("trusted client, request %d: %d", i, c)
		}
	}
	codes := []int{get("/v1/status", "10.0.0.1:1", "198.51.100.2").Code, get("/v1/status", "10.0.0.1:1", "198.51.100.2").Code,
		get("/v1/status", "10.0.0.1:1", "198.51.100.2").Code, get("/v1/status", "10.0.0.1:1", "198.51.100.3").Code}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests || codes[3] != 200 {
		t.Errorf("through the trusted proxy: %v, want 200 200 429 200", codes)
	}
}

// serveGuarded serves h behind the guard's HTTP server on a loopback port.
func serveGuarded(t *testing.T, g *guard, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := g.httpServer(h, time.Second)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestBodyDeadline: a body that trickles in is cut at the body deadline; a handler that
// has read its body may then wait past the deadline without its context ending or its
// answer failing (POST /v1/tx?wait=commit).
func TestBodyDeadline(t *testing.T) {
	g := testGuard(t, guardFlags{bodyTimeout: 300 * time.Millisecond}, "")
	addr := serveGuarded(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(700 * time.Millisecond):
			io.WriteString(w, "waited")
		case <-r.Context().Done():
			http.Error(w, "context ended", http.StatusInternalServerError)
		}
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "POST /v1/tx HTTP/1.1\r\nHost: node\r\nContent-Length: 65000\r\n\r\nxx")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("slow body: %v after %v", err, time.Since(start))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || time.Since(start) > 3*time.Second {
		t.Errorf("slow body: %d after %v", resp.StatusCode, time.Since(start))
	}
	resp, err = http.Post("http://"+addr+"/v1/tx", "application/octet-stream", bytes.NewReader(make([]byte, 60000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "waited" {
		t.Errorf("a whole body, then a wait past the deadline: %d %s", resp.StatusCode, b)
	}
}
