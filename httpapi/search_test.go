package httpapi

import (
	"net/url"
	"testing"
)

// TestSearch: GET /v1/search names the JSON API path of what a query names, or lists the
// organisations a name matches.
func TestSearch(t *testing.T) {
	h := memServer(t, memState(t), nil)
	for q, want := range map[string]searchResult{
		"":             {Kind: "empty"},
		"193.0.0.1":    {Kind: "resource", Path: "/v1/resources/193.0.0.1"},
		"193.0.0.0/16": {Kind: "resource", Path: "/v1/resources/193.0.0.0/16"},
		"as3333":       {Kind: "as", Path: "/v1/resources/AS3333"},
		"ipl-h7":       {Kind: "holding", Path: "/v1/holdings/7"},
		"org-a":        {Kind: "org", Path: "/v1/orgs/ORG-A"},
	} {
		got := getOK[searchResult](t, h, "/v1/search?q="+url.QueryEscape(q))
		if got.Kind != want.Kind || got.Path != want.Path || got.Query != q || got.Height != 2 {
			t.Errorf("%q: %+v, want %+v", q, got, want)
		}
	}
	got := getOK[searchResult](t, h, "/v1/search?q=alph")
	if got.Kind != "name" || len(got.Orgs) != 1 || got.Orgs[0].Handle != "ORG-A" || got.Truncated {
		t.Errorf("alph: %+v", got)
	}
	got = getOK[searchResult](t, h, "/v1/search?q=ORG-NONE")
	if got.Kind != "name" || len(got.Orgs) != 0 {
		t.Errorf("ORG-NONE: %+v", got)
	}
}
