package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestWalletCommand: ipledger wallet refuses a listen address off loopback, and on a home
// with a node's genesis prints a URL that logs a browser in.
func TestWalletCommand(t *testing.T) {
	home := t.TempDir()
	if err := createHome(home, homeOptions{chainID: "wallet-test"}, &Config{}); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", "localhost:0", "192.0.2.1:8088"} {
		var out, errs bytes.Buffer
		if code := Run(context.Background(), []string{"wallet", "--home", home, "--listen", addr, "--node", "http://127.0.0.1:1"}, &out, &errs); code == 0 || !strings.Contains(errs.String(), "loopback") {
			t.Errorf("--listen %s: exit %d\n%s", addr, code, errs.String())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs ipledgertest.LockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"wallet", "--home", home, "--listen", "127.0.0.1:0", "--node", "http://127.0.0.1:1"}, &out, &errs)
	}()
	var u string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`http://127\.0\.0\.1:\d+/login\?token=[0-9a-f]+`).FindString(out.String()); m != "" {
			u = m
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed:\n%s\n%s", out.String(), errs.String())
		}
	}
	if !strings.Contains(out.String(), "chain wallet-test") {
		t.Errorf("the wallet does not name the chain it trusts:\n%s", out.String())
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("login: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("wallet exit %d:\n%s", code, errs.String())
	}
}

// TestWalletTrustOnFirstUse: a wallet home without a genesis pins the one the node's RPC
// serves, after checking its chain is the node's, and trusts the pinned file from then on.
func TestWalletTrustOnFirstUse(t *testing.T) {
	rpc := ipledgertest.FreeAddr(t)
	runDevUntil(t, "JSON API:", func(out string) {
		cl := &client.Client{Base: "http://" + apiAddr(t, out)}
		home := t.TempDir()
		var stdout bytes.Buffer
		e := &env{stdout: &stdout, stderr: io.Discard}
		tr, from, err := walletTrust(context.Background(), e, cl, home, "", rpc)
		if err != nil {
			t.Fatal(err)
		}
		if tr.ChainID != "ipledger-dev" || from != filepath.Join(home, walletGenesisFile) || !strings.Contains(stdout.String(), "trust on first use") {
			t.Fatalf("trusted %s from %s:\n%s", tr.ChainID, from, stdout.String())
		}
		stdout.Reset()
		if tr2, from2, err := walletTrust(context.Background(), e, cl, home, "", "127.0.0.1:1"); err != nil || from2 != from || tr2.ChainID != tr.ChainID || stdout.Len() != 0 {
			t.Errorf("second start: %v from %s, printed %q", err, from2, stdout.String())
		}
	}, "--demo=false", "--rpc", rpc)
}
