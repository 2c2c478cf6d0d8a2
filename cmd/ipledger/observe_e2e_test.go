package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestObserveDROPDev is issue 18's benchmark as a test: a whole real DROP snapshot (1,360
// entries) from the file to the last observation committed on a dev node, under 30 s, by
// the home's observer; then the next day's snapshot's changes only. The passport of a
// listed block grades it C, and the RDAP object of a block the registry keeps (the demo
// organisation's) links to its passport.
func TestObserveDROPDev(t *testing.T) {
	first := ipledgertest.Data(t, "abuse/spamhaus-drop-v4-2025-03-03.json")
	second := ipledgertest.Data(t, "abuse/spamhaus-drop-v4-2025-04-15.json")
	n := startNode(t, "dev", newHome(t))
	url := "http://" + n.addr
	start := time.Now()
	out := run(t, "--home", n.home, "observe", "drop", first, "--node", url)
	took := time.Since(start)
	t.Logf("%s(whole snapshot, file to last commit: %s)", out, took.Round(time.Millisecond))
	if !strings.Contains(out, "1360 listed, 0 delisted, in 4 transactions") {
		t.Fatalf("first snapshot: %s", out)
	}
	if took > 30*time.Second {
		t.Errorf("observing the snapshot took %s, the target is 30 s", took)
	}
	if out = run(t, "--home", n.home, "observe", "drop", second, "--node", url); !strings.Contains(out, "111 listed, 65 delisted") {
		t.Fatalf("second snapshot: %s", out)
	}
	var p apitypes.Passport
	if err := n.cl.Get(context.Background(), "/v1/passport/1.19.0.0/16", nil, &p); err != nil {
		t.Fatal(err)
	}
	if p.Grade != ledger.GradeC || len(p.Observations) != 1 || p.Observations[0].ID != "SBL434604" {
		t.Fatalf("passport of 1.19.0.0/16: %+v", p)
	}
	if body := string(ipledgertest.Get(t, url+"/rdap/ip/2.0.4.0/24")); !strings.Contains(body, "/v1/passport/") {
		t.Errorf("the RDAP answer links no passport:\n%s", body)
	}
}
