package httpapi

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestAbuseCases: cases opened by a listing and by a report, listed with each filter, as
// CSV and one by one, and in the passport of an overlapping block.
func TestAbuseCases(t *testing.T) {
	a := newPassportApp(t)
	ripe := ipledger.RIPENCC
	a.apply(time.Hour, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}},
		{Handle: "ORG-R", Name: "Reporter", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-R").Public()}},
	}}, ripe)
	a.apply(time.Hour, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA}}}, ripe)
	a.apply(time.Hour, ipledger.KindMint, ipledger.MintBody{To: "ORG-R", Amount: 50_000}, ipledgertest.Agent)
	a.apply(time.Hour, ipledger.KindObserve, observeBody(100, ipledger.ObservationListed, "193.0.1.0/24"), "OBS")
	ev := strings.Repeat("ab", 32)
	a.apply(time.Hour, ipledger.KindReport, ipledger.ReportBody{Resource: ipledger.MustParseResource("193.0.2.0/24"), Category: "spam", Evidence: ev, URL: "=cmd|x"}, "ORG-R")
	a.apply(time.Hour, ipledger.KindRespond, ipledger.RespondBody{Case: 2, Evidence: ev, Cure: true}, "ORG-A")
	h := a.server()

	all := getJSON[apitypes.CaseList](t, h, "/v1/abuse/cases")
	if len(all.Cases) != 2 || all.Cases[0].List != "drop" || all.Cases[1].Bond != 10_000 || all.Cases[1].State != ipledger.CaseResponded {
		t.Fatalf("cases %+v", all)
	}
	for path, want := range map[string]int{
		"/v1/abuse/cases?state=notice": 1, "/v1/abuse/cases?state=closed": 0, "/v1/abuse/cases?org=ORG-R": 1,
		"/v1/abuse/cases?org=ORG-A": 2, "/v1/abuse/cases?resource=193.0.0.0/22": 2, "/v1/abuse/cases?resource=193.0.2.128/25": 1,
		"/v1/abuse/cases?after=1": 1, "/v1/abuse/cases?resource=193.0.0.0/16&after=1": 1,
	} {
		if got := getJSON[apitypes.CaseList](t, h, path); len(got.Cases) != want {
			t.Errorf("%s: %d cases, want %d", path, len(got.Cases), want)
		}
	}
	if p := getJSON[apitypes.CaseList](t, h, "/v1/abuse/cases?limit=1"); len(p.Cases) != 1 || p.Next != 1 {
		t.Fatalf("first page %+v", p)
	}
	c := getJSON[apitypes.CaseAnswer](t, h, "/v1/abuse/cases/2")
	if c.Case.Holder != "ORG-A" || len(c.Case.Steps) != 3 || c.Case.Steps[2].Note != "cure" {
		t.Fatalf("case 2 %+v", c)
	}
	w := getQuery(h, "/v1/abuse/cases?format=csv")
	recs, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err != nil || len(recs) != 3 || strings.Contains(w.Body.String(), "=cmd") {
		t.Fatalf("csv %v\n%s", err, w.Body)
	}
	p := getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.2.0/24")
	if len(p.Cases) != 1 || p.Cases[0].ID != 2 {
		t.Fatalf("passport cases %+v", p.Cases)
	}
	if p := getJSON[apitypes.Passport](t, h, "/v1/passport/193.0.0.0/16?limit=1"); len(p.Cases) != 1 || p.CasesNext != 1 {
		t.Fatalf("passport cases page %+v next %d", p.Cases, p.CasesNext)
	}
	if w := getQuery(h, "/v1/abuse/cases/9"); w.Code != http.StatusNotFound {
		t.Errorf("no case: %d", w.Code)
	}
	for _, path := range []string{"/v1/abuse/cases?state=gone", "/v1/abuse/cases?after=x", "/v1/abuse/cases?limit=5000",
		"/v1/abuse/cases?resource=nonsense", "/v1/abuse/cases/x", "/v1/abuse/cases?format=xml", "/v1/passport/193.0.0.0/16?cases_after=x"} {
		if w := getQuery(h, path); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, w.Code)
		}
	}
}
