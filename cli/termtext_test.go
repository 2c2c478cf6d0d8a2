package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// hostileName is what a node (or a record from before the ledger refused it) may answer as
// a name: a forged line, a screen-clearing escape, NUL, C1 CSI, a bidi override, a tab that
// would shift the columns, a line separator.
const hostileName = "Evil\r\nORG-B  Forged Corp\x1b[2J\x00\x7f\u009b31m\u202eCorp\t|\u2028\\"

// TestQueryEscapes runs `query org`, `query resource` and their --json forms against a node
// answering hostile text: the terminal gets no control or format character but the line
// ends, and every answer has as many lines as a plain one.
func TestQueryEscapes(t *testing.T) {
	answer := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			h := apitypes.HoldingInfo{Handle: "IPL-H7", ID: 7, Resource: ipledger.MustParseResource("193.0.0.0/16"), Depth: 1,
				Holder: "ORG-A" + name, HolderName: name, Status: ipledger.Status("ALLOCATED PA" + name), Country: name, Registered: name}
			var v any
			switch {
			case strings.HasPrefix(r.URL.Path, "/v1/orgs/"):
				v = apitypes.OrgInfo{Organisation: ipledger.Organisation{Handle: "ORG-A" + name, Name: name, Country: name, AbuseMailbox: name, Registry: name},
					Height: 9, History: []apitypes.HistoryItem{{Height: 2, Kind: name, CodeName: name, Time: time.Unix(0, 0)}}}
			case strings.HasPrefix(r.URL.Path, "/v1/resources/"):
				v = apitypes.ResourceInfo{Resource: h.Resource, Height: 9, Holding: h, Chain: []apitypes.HoldingInfo{h, h}, Children: []apitypes.HoldingInfo{h},
					History: []apitypes.HistoryItem{{Height: 2, Kind: name, CodeName: name, Time: time.Unix(0, 0)}}}
			default:
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(apitypes.ErrorBody{Code: "not_found", Message: "no " + name})
				return
			}
			json.NewEncoder(w).Encode(v)
		}
	}
	plain, evil := serveNode(t, answer("X")), serveNode(t, answer(hostileName))
	for _, args := range [][]string{{"org", "ORG-A"}, {"resource", "193.0.0.0/16"}, {"org", "ORG-A", "--json"}, {"lease", "1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var lines [2]int
			for i, url := range []string{plain, evil} {
				_, out, errs := run(append([]string{"query", "--node", url}, args...)...)
				text := out + errs
				if !utf8.ValidString(text) {
					t.Fatalf("not UTF-8:\n%q", text)
				}
				for _, r := range text {
					if r != '\n' && unsafeRune(r) {
						t.Fatalf("output holds %U:\n%q", r, text)
					}
				}
				if args[len(args)-1] == "--json" {
					// The same JSON value, the name included, whatever the escapes.
					var o apitypes.OrgInfo
					if err := json.Unmarshal([]byte(out), &o); err != nil || (i == 1 && o.Name != hostileName) {
						t.Fatalf("--json: %v, name %q:\n%s", err, o.Name, text)
					}
				}
				lines[i] = strings.Count(text, "\n")
				if i == 1 && args[len(args)-1] != "1" && !strings.Contains(text, "Evil") {
					t.Fatalf("name missing:\n%s", text)
				}
			}
			if lines[0] != lines[1] {
				t.Fatalf("%d lines with a plain name, %d with a hostile one", lines[0], lines[1])
			}
		})
	}
}

func TestTermText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Alpha Networks", "Alpha Networks"},
		{"a\r\n\tb", `a\x0d\x0a\x09b`},
		{"\x1b[2J\x00\x7f", `\x1b[2J\x00\x7f`},
		{"\xff\x9b", `\xff\x9b`},
		{"\u009b\u202e\u2029\U000e0041", `\u009b\u202e\u2029\U000e0041`},
		{`C:\x1b`, `C:\\x1b`},
		{"Zürich", "Zürich"},
	} {
		if got := termText(c.in); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
	if got := string(ipledger.EscapeJSON([]byte(`{"a":"x` + "\u202e\U000e0041" + `"}`))); got != `{"a":"x\u202e\udb40\udc41"}` {
		t.Errorf("EscapeJSON: %s", got)
	}
}

// FuzzTermText: any text prints as valid UTF-8 with nothing a terminal acts on, and text
// with no backslash, control or format character prints as it is.
func FuzzTermText(f *testing.F) {
	f.Add(hostileName)
	f.Add("Zürich")
	f.Fuzz(func(t *testing.T, s string) {
		out := termText(s)
		if !utf8.ValidString(out) || strings.ContainsFunc(out, unsafeRune) {
			t.Fatalf("%q -> %q", s, out)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || unsafeRune(r) }) && out != s {
			t.Fatalf("%q -> %q", s, out)
		}
	})
}
