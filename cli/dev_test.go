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
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{cancel: cancel, done: make(chan int, 1)}
	go func() {
		d.done <- Run(ctx, append([]string{"dev", "--http", "127.0.0.1:0", "--rpc", "off", "--p2p", "127.0.0.1:0", "--whois", "off", "--rtr", "off"}, args...), &d.out, &d.errs)
	}()
	t.Cleanup(func() { d.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(d.out.String(), "JSON API:") {
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
	d := startDev(t, args...)
	check(d.out.String())
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
