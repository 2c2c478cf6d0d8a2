package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger/client"
)

func TestParseCPUSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.34\nprocess_open_fds 9\n", 12.34, false},
		{"go_goroutines 10\nprocess_cpu_seconds_total 1e+03\n", 1000, false},
		{"go_goroutines 10\n", 0, true},
		{"process_cpu_seconds_total lots\n", 0, true},
	} {
		got, err := parseCPUSeconds(strings.NewReader(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseCPUSeconds(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCheckPprofAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"off": true, "": true, "127.0.0.1:6060": true, "[::1]:0": true, "127.0.0.2:1": true,
		"0.0.0.0:6060": false, ":6060": false, "localhost:6060": false, "192.0.2.1:6060": false, "127.0.0.1": false,
	} {
		if err := checkPprofAddr(addr); (err == nil) != ok {
			t.Errorf("checkPprofAddr(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}

// FuzzParseCPUSeconds feeds parseCPUSeconds arbitrary /metrics answers: it must not panic,
// and a value it returns is one the text holds.
func FuzzParseCPUSeconds(f *testing.F) {
	f.Add("process_cpu_seconds_total 12.34\n")
	f.Add("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total NaN\n")
	f.Add("go_goroutines 10\n")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := parseCPUSeconds(strings.NewReader(in))
		if err == nil && !strings.Contains(in, "process_cpu_seconds_total ") {
			t.Fatalf("value %v from text without the metric", v)
		}
	})
}

// TestCPUWindow reads two nodes' CPU at the window's start and end and sums them.
func TestCPUWindow(t *testing.T) {
	var cls []*client.Client
	for _, step := range []float64{1.5, 0.25} {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", 10+step*float64(calls.Add(1)))
		}))
		defer srv.Close()
		cls = append(cls, &client.Client{Base: srv.URL, HTTP: srv.Client()})
	}
	w := startCPUWindow(context.Background(), cls, 10*time.Millisecond)
	sec, err := w.seconds()
	if err != nil || sec != 1.75 {
		t.Fatalf("window: %v s, %v; want 1.75 s", sec, err)
	}
	bad := &client.Client{Base: "http://127.0.0.1:1", HTTP: http.DefaultClient}
	if _, err := startCPUWindow(context.Background(), []*client.Client{bad}, time.Millisecond).seconds(); err == nil {
		t.Fatal("no error from a node that does not answer")
	}
}
