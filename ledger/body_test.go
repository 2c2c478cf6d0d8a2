package ledger

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// bodyVector is one row of the body vectors in docs/TRANSACTIONS.md: a body of a kind and
// the result code decoding it gives.
type bodyVector struct {
	kind ipledger.Kind
	body string
	code ipledger.Code
}

// docAfter returns what follows marker in docs/name, failing the test if there is none.
func docAfter(t testing.TB, name, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("docs/%s has no %q", name, marker)
	}
	return rest
}

// docBodyVectors reads the table under "### Body vectors" in docs/TRANSACTIONS.md:
// | kind | `body` | code name |.
func docBodyVectors(t testing.TB) []bodyVector {
	sect := docAfter(t, "TRANSACTIONS.md", "\n### Body vectors\n")
	var out []bodyVector
	for _, line := range strings.Split(sect, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue
		}
		kind, ok := kindNamed(strings.TrimSpace(cells[1]))
		if !ok {
			t.Fatalf("vector %q: unknown kind", line)
		}
		body := strings.Trim(strings.TrimSpace(cells[2]), "`")
		code, ok := ipledger.ParseCode(strings.TrimSpace(cells[3]))
		if !ok {
			t.Fatalf("vector %q: unknown code", line)
		}
		out = append(out, bodyVector{kind, body, code})
	}
	if len(out) < 4 {
		t.Fatalf("%d body vectors", len(out))
	}
	return out
}

// TestBodyVectors checks the published body vectors: a body has one reading, whatever
// JSON parser a co-signer uses, or none.
func TestBodyVectors(t *testing.T) {
	for _, v := range docBodyVectors(t) {
		t.Run(v.body, func(t *testing.T) {
			err := ipledger.DecodeBody([]byte(v.body), kinds[v.kind].body())
			if got := ipledger.ErrorCode(err); got != v.code {
				t.Fatalf("%s %s: %s (%v), want %s", v.kind, v.body, got, err, v.code)
			}
		})
	}
}

// TestDecodeBodyStrict: exact key case and no duplicate names at any depth, no unknown
// members, no trailing data; omitted members, white space and escapes as JSON allows.
func TestDecodeBodyStrict(t *testing.T) {
	for _, c := range []struct {
		kind ipledger.Kind
		body string
		code ipledger.Code
	}{
		{ipledger.KindPay, `{"to":"ORG-B","amount":7}`, ipledger.CodeOK},
		{ipledger.KindPay, " {\n\"to\" : \"ORG-B\" ,\t\"amount\":7 }\n", ipledger.CodeOK},
		{ipledger.KindPay, `{"to":"ORG-\u0042","amount":7}`, ipledger.CodeOK},
		{ipledger.KindPay, `{"amount":7}`, ipledger.CodeOK},
		{ipledger.KindPay, `{"to":"ORG-B","amount":1,"amount":7}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":1,"\u0061mount":7}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","Amount":7}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"TO":"ORG-B","amount":7}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":7,"memo":"x"}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":7}{}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":7} x`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":7.0}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":-7}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":"7"}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":1e2}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":007}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":18446744073709551616}`, ipledger.CodeMalformed},
		{ipledger.KindPay, `{"to":"ORG-B","amount":null}`, ipledger.CodeOK},
		{ipledger.KindPay, `null`, ipledger.CodeOK},
		{ipledger.KindPay, `[]`, ipledger.CodeMalformed},
		{ipledger.KindPay, ``, ipledger.CodeMalformed},
		// encoding/json folds case by Unicode rules: the Kelvin sign matched "k", and the
		// long s matched "s".
		{ipledger.KindRegisterOrg, `{"orgs":[{"handle":"ORG-A","name":"A","\u212aeys":[]}]}`, ipledger.CodeMalformed},
		{ipledger.KindRegisterOrg, `{"orgſ":[]}`, ipledger.CodeMalformed},
		{ipledger.KindAllocate, `{"items":[{"resource":"193.0.0.0/16","org":"ORG-A","status":"ALLOCATED PA"}]}`, ipledger.CodeOK},
		{ipledger.KindAllocate, `{"items":[{"resource":"193.0.0.0/16","org":"ORG-A","org":"ORG-B","status":"ALLOCATED PA"}]}`, ipledger.CodeMalformed},
		{ipledger.KindAllocate, `{"items":[{"resource":"193.0.0.0/16","Org":"ORG-A","status":"ALLOCATED PA"}]}`, ipledger.CodeMalformed},
		{ipledger.KindAllocate, `{"items":[],"items":[{"resource":"193.0.0.0/16","org":"ORG-A","status":"ALLOCATED PA"}]}`, ipledger.CodeMalformed},
		{ipledger.KindAllocate, `{"items":[{"resource":"not a resource","org":"ORG-A","status":"ALLOCATED PA"}]}`, ipledger.CodeMalformed},
		{ipledger.KindRegisterOrg, `{"orgs":[{"handle":"ORG-A","name":"A","keys":["` + strings.Repeat("ab", 32) + `"]}]}`, ipledger.CodeOK},
		{ipledger.KindRegisterOrg, `{"orgs":[{"handle":"ORG-A","name":"A","keys":["` + strings.Repeat("AB", 32) + `"]}]}`, ipledger.CodeOK},
		{ipledger.KindRegisterOrg, `{"orgs":[{"handle":"ORG-A","name":"A","keys":["zz"]}]}`, ipledger.CodeMalformed},
		{ipledger.KindAuthorise, `{"prefix":"193.0.0.0/24","max_length":24,"asn":64496,"expires":0}`, ipledger.CodeOK},
		{ipledger.KindSetValidator, `{"pub_key":"` + strings.Repeat("01", 32) + `","power":10}`, ipledger.CodeOK},
		{ipledger.KindSetValidator, `{"pub_key":"` + strings.Repeat("01", 32) + `","Power":10}`, ipledger.CodeMalformed},
		{ipledger.KindUpdateOrg, `{"org":"ORG-A","name":"A\u202eB"}`, ipledger.CodeBadText},
		{ipledger.KindUpdateOrg, "{\"org\":\"ORG-A\",\"name\":\"A\xffB\"}", ipledger.CodeBadText},
		{ipledger.KindUpdateOrg, `{"org":"ORG-A","name":"A\ud800B"}`, ipledger.CodeMalformed},
	} {
		t.Run(c.body, func(t *testing.T) {
			err := ipledger.DecodeBody([]byte(c.body), kinds[c.kind].body())
			if got := ipledger.ErrorCode(err); got != c.code {
				t.Fatalf("%s: %s (%v), want %s", c.kind, got, err, c.code)
			}
		})
	}
}

// FuzzDecodeBody decodes anything as each kind's body. What decodes must be text
// CheckText accepts, and must read the same with encoding/json, the parser BuildTx
// encodes with (set to refuse unknown fields): one reading only.
func FuzzDecodeBody(f *testing.F) {
	for _, v := range docBodyVectors(f) {
		f.Add(uint16(v.kind), []byte(v.body))
	}
	f.Add(uint16(ipledger.KindAllocate), []byte(`{"items":[{"resource":"193.0.0.0/16","org":"ORG-A","status":"ALLOCATED PA","registered":"2010-05-01"}]}`))
	f.Add(uint16(ipledger.KindRegisterOrg), []byte(`{"orgs":[{"handle":"ORG-A","name":"A","country":"NL","abuse_mailbox":"a@b.example","opaque_id":"x"}]}`))
	f.Add(uint16(ipledger.KindOffer), []byte(`{"resource":"2001:db8::/48","price":5,"period":3600,"min_periods":1,"max_periods":2,"renewable":true}`))
	f.Add(uint16(ipledger.KindSetGeo), []byte(`{"resource":"193.0.0.0/24","country":"NL","region":"NL-NH","city":"Amsterdam"}`))
	f.Fuzz(func(t *testing.T, k uint16, body []byte) {
		def, ok := kinds[ipledger.Kind(k)]
		if !ok {
			return
		}
		v := def.body()
		if err := ipledger.DecodeBody(body, v); err != nil {
			if c := ipledger.ErrorCode(err); c != ipledger.CodeMalformed && c != ipledger.CodeBadText {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		if err := ipledger.CheckText(v); err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
		w := def.body()
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		if err := d.Decode(w); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", body, err)
		}
		x, _ := json.Marshal(v)
		y, _ := json.Marshal(w)
		if !bytes.Equal(x, y) {
			t.Fatalf("%q reads as %s and, with encoding/json, %s", body, x, y)
		}
		// What BuildTx would encode decodes back to the same.
		u := def.body()
		if err := ipledger.DecodeBody(x, u); err != nil {
			t.Fatalf("re-encoded %s: %v", x, err)
		}
		if z, _ := json.Marshal(u); !bytes.Equal(x, z) {
			t.Fatalf("%s decodes and encodes to %s", x, z)
		}
	})
}

// kindNamed returns the kind the state machine knows by name s (Kind.String).
func kindNamed(s string) (ipledger.Kind, bool) {
	for k := range kinds {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}
