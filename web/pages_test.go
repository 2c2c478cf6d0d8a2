package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ipledger/ipledger/ipledgertest"
)

// TestPages serves every page of a chain with AFRINIC's real 2014-06 statistics imported
// and the leasing objects on top.
func TestPages(t *testing.T) {
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "registry explorer"},
		{"/ip/" + w.block.String(), 200, "Alpha Networks"},
		{"/ip/" + w.leased.FirstAddr().String(), 200, "ORG-B"},
		{"/ip/nonsense", 400, "not an address"},
		{"/ip/10.0.0.0/8", 200, "IANA"},
		{"/nowhere", 404, "no page"},
		{"/static/style.css", 200, "contrast"},
		{"/static/nothing.css", 404, "no such file"},
	} {
		st, _, body := w.get(t, tc.path)
		if st != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q:\n%.3000s", tc.path, st, tc.status, tc.want, body)
		}
	}
	_ = http.StatusOK
}
