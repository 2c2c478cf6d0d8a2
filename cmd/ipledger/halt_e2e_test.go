package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ipledgertest"
)

// haltStatus returns the HTTP status and body of GET /v1/status.
func haltStatus(t *testing.T, addr string) (int, ipledger.NodeStatus) {
	t.Helper()
	code, b := ipledgertest.Fetch("http://" + addr + "/v1/status")
	var st ipledger.NodeStatus
	json.Unmarshal(b, &st)
	return code, st
}

// haltPost posts tx and returns the HTTP status and error code.
func haltPost(t *testing.T, addr string, tx []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/tx", "application/octet-stream", bytes.NewReader(tx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb apitypes.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Code
}

// haltMetric returns the line of /metrics that starts with name and a space.
func haltMetric(t *testing.T, addr, name string) string {
	t.Helper()
	if ls := metricLines(t, addr, name+" "); len(ls) > 0 {
		return ls[0]
	}
	return ""
}

// TestConsensusFailureExits breaks the validator's signing state under a running node,
// as running out of descriptors did: CometBFT's consensus routine fails, and the node
// must say so (status 503 "halted", ipledger_node_halted 1), refuse transactions with 503
// "unavailable", log one ERROR line and exit non-zero, instead of answering 200 at a
// frozen height.
func TestConsensusFailureExits(t *testing.T) {
	home := initHome(t, "e2e-halt")
	p := startNode(t, "node", home)
	if code, st := haltStatus(t, p.addr); code != 200 || st.Halted {
		t.Fatalf("status before: %d %+v", code, st)
	}
	if l := haltMetric(t, p.addr, "ipledger_node_halted"); l != "ipledger_node_halted 0" {
		t.Fatalf("metric before: %q", l)
	}
	state := filepath.Join(home, "data", "priv_validator_state.json")
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(state, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	ripe := signer(t, home, ipledger.RIPENCC)
	tx, _ := ipledger.BuildTx("e2e-halt", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-H1", Name: "Halt"}}}, ripe)
	if code, ecode := haltPost(t, p.addr, tx); code != http.StatusAccepted {
		t.Fatalf("submit before the failure: %d %s", code, ecode)
	}
	deadline := time.Now().Add(20 * time.Second)
	var st ipledger.NodeStatus
	for {
		var code int
		if code, st = haltStatus(t, p.addr); code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status still %d after the failure:\n%s", code, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !st.Halted || !strings.Contains(st.HaltReason, "consensus failure") {
		t.Fatalf("halted status: %+v", st)
	}
	if l := haltMetric(t, p.addr, "ipledger_node_halted"); l != "ipledger_node_halted 1" {
		t.Fatalf("metric after: %q", l)
	}
	tx2, _ := ipledger.BuildTx("e2e-halt", ipledger.KindRegisterOrg, 2, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-H2", Name: "Halt"}}}, ripe)
	if code, ecode := haltPost(t, p.addr, tx2); code != http.StatusServiceUnavailable || ecode != "unavailable" {
		t.Fatalf("submit after the failure: %d %s", code, ecode)
	}
	if code := p.waitExit(t, 40*time.Second); code == 0 {
		t.Fatalf("exit code 0 after a consensus failure:\n%s", p.out.String())
	}
	if n := strings.Count(p.out.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d ERROR lines, want the one that says why:\n%s", n, p.out.String())
	}
	if !strings.Contains(p.out.String(), `level=ERROR msg="node halted`) {
		t.Fatalf("no halt line:\n%s", p.out.String())
	}
}

// TestDiskFullE2E plays a filling disk through the free-space hook: below the refuse
// threshold the node answers transactions with 503 "unavailable" and says why in its
// status and metrics; it takes them again when space comes back; below the stop threshold
// it stops cleanly and exits non-zero; and it refuses to start there, once and clearly.
func TestDiskFullE2E(t *testing.T) {
	home := initHome(t, "e2e-disk")
	hook := filepath.Join(t.TempDir(), "free")
	setFree := func(free uint64) {
		t.Helper()
		if err := os.WriteFile(hook+".tmp", fmt.Appendf(nil, "%d %d\n", free, uint64(1)<<40), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(hook+".tmp", hook); err != nil {
			t.Fatal(err)
		}
	}
	setFree(100 << 30)
	t.Setenv(chain.FreeSpaceFileEnv, hook)
	p := startNode(t, "node", home)
	waitStatus := func(what string, ok func(int, ipledger.NodeStatus) bool) ipledger.NodeStatus {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, st := haltStatus(t, p.addr)
			if ok(code, st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: status %d %+v\n%s", what, code, st, p.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ripe := signer(t, home, ipledger.RIPENCC)
	tx, _ := ipledger.BuildTx("e2e-disk", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-D1", Name: "Disk"}}}, ripe)

	setFree(1 << 30)
	st := waitStatus("the refusal", func(code int, st ipledger.NodeStatus) bool { return code == 200 && st.Refusing != "" })
	if want := "free space 1.0 GiB below 2.0 GiB on " + home; st.Refusing != want || st.DiskFree != 1<<30 {
		t.Fatalf("refusing %q (want %q), disk_free %d", st.Refusing, want, st.DiskFree)
	}
	if code, ecode := haltPost(t, p.addr, tx); code != http.StatusServiceUnavailable || ecode != "unavailable" {
		t.Fatalf("submit on a nearly full disk: %d %s", code, ecode)
	}
	if l := haltMetric(t, p.addr, "ipledger_disk_refusing"); l != "ipledger_disk_refusing 1" {
		t.Fatalf("refusing metric %q", l)
	}
	if l := haltMetric(t, p.addr, "ipledger_disk_free_bytes"); l != "ipledger_disk_free_bytes 1.073741824e+09" {
		t.Fatalf("free metric %q", l)
	}

	setFree(3 << 30)
	waitStatus("the recovery", func(code int, st ipledger.NodeStatus) bool { return code == 200 && st.Refusing == "" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := p.cl.Submit(ctx, tx, true); err != nil || res.Outcome == nil || res.Outcome.Code != 0 {
		t.Fatalf("submit after the recovery: %+v %v", res, err)
	}

	setFree(100 << 20)
	if code := p.waitExit(t, 30*time.Second); code == 0 {
		t.Fatalf("exit code 0 below the stop threshold:\n%s", p.out.String())
	}
	logs := p.out.String()
	if n := strings.Count(logs, "level=ERROR"); n != 1 || !strings.Contains(logs, "below the stop threshold 256.0 MiB") {
		t.Fatalf("want one ERROR line naming the threshold:\n%s", logs)
	}
	if !strings.Contains(logs, `msg="node stopped"`) {
		t.Fatalf("the node did not stop cleanly:\n%s", logs)
	}

	// Start-up below the stop threshold fails at once with one line, opening nothing.
	start := time.Now()
	q := launchNode(t, "node", home)
	if code := q.waitExit(t, 20*time.Second); code == 0 {
		t.Fatalf("started below the stop threshold:\n%s", q.out.String())
	}
	out := strings.TrimSpace(q.out.String())
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "not starting (disk full)") {
		t.Fatalf("start-up refusal is not one clear line:\n%s", out)
	}
	t.Logf("refused to start in %v: %s", time.Since(start).Round(time.Millisecond), out)
}
