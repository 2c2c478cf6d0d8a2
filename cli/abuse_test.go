package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// TestTxAbuse: each abuse subcommand builds its kind's body from its flags, an evidence
// file hashed here; without evidence, or with both forms, it refuses.
func TestTxAbuse(t *testing.T) {
	home := t.TempDir()
	if code, _, errs := run("key", "create", "ORG-A", "--home", home); code != 0 {
		t.Fatal(errs)
	}
	file := filepath.Join(t.TempDir(), "spam.eml")
	if err := os.WriteFile(file, []byte("Received: from 193.0.8.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("Received: from 193.0.8.9\n"))
	h := hex.EncodeToString(sum[:])
	node := &fakeNode{commit: true}
	url := serveNode(t, node)
	for _, c := range []struct {
		args []string
		want any
	}{
		{[]string{"report", "--resource", "193.0.8.0/24", "--category", "phishing", "--url", "https://x.example/e", "--evidence-file", file},
			&ipledger.ReportBody{Resource: ipledger.MustParseResource("193.0.8.0/24"), Category: "phishing", Evidence: h, URL: "https://x.example/e"}},
		{[]string{"respond", "--case", "3", "--cure", "--evidence", h}, &ipledger.RespondBody{Case: 3, Evidence: h, Cure: true}},
		{[]string{"decide", "--case", "3", "--outcome", "baseless", "--evidence", h}, &ipledger.DecideBody{Case: 3, Outcome: "baseless", Evidence: h}},
		{[]string{"appeal", "--case", "3", "--evidence-file", file}, &ipledger.AppealBody{Case: 3, Evidence: h}},
	} {
		args := append([]string{"tx", c.args[0], "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1"}, c.args[1:]...)
		if code, _, errs := run(args...); code != 0 {
			t.Fatalf("%v: %s", c.args, errs)
		}
		tx := node.last(t)
		got := reflect.New(reflect.TypeOf(c.want).Elem()).Interface()
		if err := tx.DecodeBodyInto(got); err != nil || !reflect.DeepEqual(got, c.want) || tx.Kind.String() != c.args[0] {
			t.Fatalf("%v: %s %+v %v, want %+v", c.args, tx.Kind, got, err, c.want)
		}
	}
	for _, extra := range [][]string{{}, {"--evidence", h, "--evidence-file", file}, {"--evidence-file", file + ".missing"}} {
		args := append([]string{"tx", "appeal", "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1", "--case", "3"}, extra...)
		if code, _, errs := run(args...); code == 0 || !strings.Contains(errs, "evidence") {
			t.Errorf("appeal %v: %d %s", extra, code, errs)
		}
	}
}

// TestQueryCase: query case lists with its filters, and shows one case with its steps.
func TestQueryCase(t *testing.T) {
	var query string
	ev := strings.Repeat("ab", 32)
	url := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		switch r.URL.Path {
		case "/v1/abuse/cases":
			w.Write([]byte(`{"height":42,"cases":[{"id":1,"resource":"193.0.8.0/24","category":"spam","state":"notice","reporter":"ORG-A",
				"holder":"ORG-B","registry":"RIPE-NCC","cure_by":1796670000,"opened":1796400000,"height":40,"steps":[]}],"next":1}`))
		case "/v1/abuse/cases/1":
			w.Write([]byte(`{"height":42,"case":{"id":1,"resource":"193.0.8.0/24","category":"spam","state":"upheld","reporter":"ORG-A",
				"holder":"ORG-B","registry":"RIPE-NCC","cure_by":1796670000,"opened":1796400000,"height":40,"steps":[
				{"step":"report","by":"ORG-A","evidence":"` + ev + `","height":40,"time":1796400000},
				{"step":"decision","by":"RIPE-NCC","outcome":"upheld","evidence":"` + ev + `","height":41,"time":1796500000}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	code, out, errs := run("query", "case", "--node", url, "--state", "notice", "--org", "ORG-B", "--resource", "193.0.0.0/16")
	if code != 0 || query != "org=ORG-B&resource=193.0.0.0%2F16&state=notice" || !strings.Contains(out, "193.0.8.0/24  spam      notice  ORG-B") || !strings.Contains(out, "more: --after 1") {
		t.Fatalf("list: %d %q\n%s%s", code, query, out, errs)
	}
	code, out, errs = run("query", "case", "1", "--node", url)
	if code != 0 || !strings.Contains(out, "case 1 at height 42: upheld, spam on 193.0.8.0/24") || !strings.Contains(out, "decision  RIPE-NCC  upheld   "+ev) {
		t.Fatalf("case: %d\n%s%s", code, out, errs)
	}
	if code, _, _ := run("query", "case", "x", "--node", url); code == 0 {
		t.Error("query case x succeeded")
	}
}
