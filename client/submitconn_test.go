package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// TestSubmitConn posts over one connection what Client.Submit posts and expects the same
// answers: a commit with its outcome, an admission without wait, the node's refusals as
// *ipledger.Error (the connection staying usable), and a cancelled wait.
func TestSubmitConn(t *testing.T) {
	_, srv, c := startNode(t)
	sc, err := NewSubmitConn(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := registerOrg(t, 1, "ORG-SC")
	res, err := sc.Submit(ctx, reg, true)
	if err != nil || !res.Committed() || res.Code != ipledger.CodeOK || res.Hash != ipledger.HashTx(reg) {
		t.Fatalf("register: %+v %v", res, err)
	}
	if info, err := c.Tx(ctx, res.Hash.String()); err != nil || info.Height != res.Height {
		t.Fatalf("the client finds the transaction at %+v (%v); the connection said height %d", info, err, res.Height)
	}
	// Refusals: a replay and garbage, each an API error on the same connection.
	_, err = sc.Submit(ctx, reg, true)
	if ipledger.ErrorCode(err) != ipledger.CodeStaleSequence {
		t.Fatalf("replay: %v, want %s", err, ipledger.CodeStaleSequence)
	}
	_, err = sc.Submit(ctx, []byte("not a transaction"), false)
	if ipledger.ErrorCode(err) != ipledger.CodeMalformed {
		t.Fatalf("garbage: %v, want %s", err, ipledger.CodeMalformed)
	}
	// Without wait: admitted, then committed.
	upd := registerOrg(t, 2, "ORG-SC2")
	res, err = sc.Submit(ctx, upd, false)
	if err != nil || res.Committed() || res.Hash != ipledger.HashTx(upd) {
		t.Fatalf("without wait: %+v %v", res, err)
	}
	// A wait cut short by the caller's context is the context's error, and the next call
	// dials again.
	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	next := registerOrg(t, 3, "ORG-SC3")
	time.Sleep(2 * time.Millisecond)
	if _, err := sc.Submit(short, next, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v", err)
	}
	if res, err := sc.Submit(ctx, next, true); err != nil || !res.Committed() || res.Code != ipledger.CodeOK {
		t.Fatalf("after the expired context: %+v %v", res, err)
	}
	if _, err := NewSubmitConn("https://example.net"); err == nil {
		t.Fatal("an https base URL was accepted")
	}
}
