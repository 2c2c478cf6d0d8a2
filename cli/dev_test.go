package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// devRun is `ipledger dev` running in this process.
type devRun struct {
	out, errs ipledgertest.LockedBuffer
	cancel    context.CancelFunc
	done      chan int
	stopOnce  sync.Once
	code      int
}

// startDev runs `ipledger dev` with its API on a port the OS picks, P2P likewise, RPC,
// WHOIS and RTR off, then args (a flag given there again overrides), until it prints its
// API line. It stops when the test ends, if not before.
func startDev(t *testing.T, args ...string) *devRun {
	t.Helper()
	return startDevUntil(t, "JSON API:", args...)
}

// startDevUntil is startDev waiting also for marker in the output or the log (the JSON API
// line is printed before an import and the demo set-up: they are done once the marker
// shows).
func startDevUntil(t *testing.T, marker string, args ...string) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{cancel: cancel, done: make(chan int, 1)}
	go func() {
		d.done <- Run(ctx, append([]string{"dev", "--http", "127.0.0.1:0", "--rpc", "off", "--p2p", "127.0.0.1:0", "--whois", "off", "--rtr", "off"}, args...), &d.out, &d.errs)
	}()
	t.Cleanup(func() { d.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(d.out.String()+d.errs.String(), marker) || !strings.Contains(d.out.String(), "JSON API:") {
		select {
		case code := <-d.done:
			d.done <- code
			t.Fatalf("dev exited %d:\n%s\n%s", code, d.out.String(), d.errs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev did not start:\n%s\n%s", d.out.String(), d.errs.String())
		}
	}
	return d
}

// stop ends the run as a signal would and returns its exit code.
func (d *devRun) stop() int {
	d.stopOnce.Do(func() {
		d.cancel()
		d.code = <-d.done
	})
	return d.code
}

// runDev runs `ipledger dev` with args until the API line is printed, calls check, then
// stops it as a signal would and returns its output.
func runDev(t *testing.T, check func(out string), args ...string) string {
	t.Helper()
	return runDevUntil(t, "JSON API:", check, args...)
}

// runDevUntil is runDev waiting also for marker in the output or the log.
func runDevUntil(t *testing.T, marker string, check func(out string), args ...string) string {
	t.Helper()
	return runDevLog(t, marker, func(out, _ string) { check(out) }, args...)
}

// runDevLog is runDevUntil whose check also reads the log.
func runDevLog(t *testing.T, marker string, check func(out, log string), args ...string) string {
	t.Helper()
	d := startDevUntil(t, marker, args...)
	check(d.out.String(), d.errs.String())
	if code := d.stop(); code != 0 {
		t.Fatalf("dev exit %d:\n%s", code, d.errs.String())
	}
	return d.out.String() + d.errs.String()
}

// TestDevHome: ipledger dev removes the temporary home it made when it stops, never a
// --home the user gave, and its store reserves no disk ahead of its log.
func TestDevHome(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var home string
	out := runDev(t, func(out string) {
		m, _ := filepath.Glob(filepath.Join(tmp, "ipledger-dev-*"))
		if len(m) != 1 {
			t.Fatalf("temporary homes %v", m)
		}
		home = m[0]
		if !strings.Contains(out, "home "+home+" (temporary: removed when this stops") {
			t.Errorf("output does not say the home is temporary:\n%s", out)
		}
	})
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Fatalf("temporary home %s left behind (%v):\n%s", home, err, out)
	}
	if !strings.Contains(out, "removed the temporary home") {
		t.Errorf("no log line says the home was removed:\n%s", out)
	}

	mine := filepath.Join(t.TempDir(), "mine")
	out = runDev(t, func(out string) {
		// The genesis block and the first blocks are in the log; Pebble reserved 70 MiB
		// ahead of it.
		time.Sleep(2 * time.Second)
		var used int64
		filepath.Walk(filepath.Join(mine, "ledger"), func(_ string, fi os.FileInfo, err error) error {
			if st, ok := fi.Sys().(*syscall.Stat_t); err == nil && ok {
				used += st.Blocks * 512
			}
			return nil
		})
		if used > 16<<20 {
			t.Errorf("the dev chain's store takes %d bytes on disk", used)
		}
		if strings.Contains(out, "temporary") {
			t.Errorf("a --home called temporary:\n%s", out)
		}
	}, "--home", mine)
	if !homeExists(mine) {
		t.Fatalf("--home %s removed:\n%s", mine, out)
	}
}

// TestSelfCommand: the next step names the program as it was run.
func TestSelfCommand(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "cmd", "ipledger"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "cmd", "ipledger", "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goRun := filepath.Join(os.TempDir(), "go-build1234567", "b001", "exe", "ipledger")
	for _, tc := range []struct{ arg0, wd, want string }{
		{goRun, repo, "go run ./cmd/ipledger"},
		{goRun, filepath.Join(repo, "cmd"), "go run github.com/ipledger/ipledger/cmd/ipledger"},
		{"ipledger", repo, "ipledger"},
		{"/usr/local/bin/ipledger", repo, "/usr/local/bin/ipledger"},
		{"./ipledger", repo, "./ipledger"},
		{"/home/me/my bin/ipledger", repo, "'/home/me/my bin/ipledger'"},
		{"/home/o'brien/ipledger", repo, `'/home/o'\''brien/ipledger'`},
		{"/tmp/exe/ipledger", repo, "/tmp/exe/ipledger"},
	} {
		if got := selfCommand(tc.arg0, tc.wd); got != tc.want {
			t.Errorf("selfCommand(%q, %q) = %q, want %q", tc.arg0, tc.wd, got, tc.want)
		}
	}
}

// TestDevDemo: a fresh dev home gets the demo organisations (DEMO with its key, credits and
// an AS; DEMO-LESSOR's block offered for lease, another listed for sale), a resumed one is left as it was, and
// --demo=false sets up none.
func TestDevDemo(t *testing.T) {
	home := t.TempDir()
	out := runDevUntil(t, "demo organisations ready", func(string) {}, "--home", home)
	if !strings.Contains(out, "offer=1") || !strings.Contains(out, "listing=1") {
		t.Errorf("the demo's log line names no offer or no listing:\n%s", out)
	}
	for _, name := range []string{DemoOrg, DemoLessor} {
		if _, err := loadKey(home, name); err != nil {
			t.Fatal(err)
		}
	}
	// Resumed: no second set-up (which would fail: the handles are taken), no log line.
	out = runDevUntil(t, "JSON API:", func(out string) {
		cl := &client.Client{Base: "http://" + apiAddr(t, out)}
		o, err := cl.Org(context.Background(), DemoOrg)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := loadKey(home, DemoOrg)
		if len(o.Keys) != 1 || o.Keys[0] != k.Public() {
			t.Errorf("DEMO's keys %v, want the home's %s", o.Keys, k.Public())
		}
		b, err := cl.Balance(context.Background(), DemoOrg)
		if err != nil || b.Balance != demoCredits {
			t.Errorf("DEMO's balance %+v, %v; want %d", b, err, demoCredits)
		}
		offers, err := cl.Offers(context.Background(), DemoLessor)
		if err != nil || len(offers.Offers) != 1 {
			t.Errorf("DEMO-LESSOR's offers %+v, %v; want one", offers, err)
		}
	}, "--home", home)
	if strings.Contains(out, "demo organisations") {
		t.Errorf("a resumed home set the demo up again:\n%s", out)
	}
	off := t.TempDir()
	out = runDevUntil(t, "JSON API:", func(string) {}, "--home", off, "--demo=false")
	if _, err := loadKey(off, DemoOrg); err == nil || strings.Contains(out, "demo organisations") {
		t.Errorf("--demo=false set the demo up:\n%s", out)
	}
}

// apiAddr is the JSON API's address that dev printed.
func apiAddr(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "JSON API: http://")
	addr, _, _ := strings.Cut(rest, "/")
	if !ok || addr == "" {
		t.Fatalf("no JSON API line in:\n%s", out)
	}
	return addr
}
