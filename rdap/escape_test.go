package rdap

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
)

// patchSource serves the committed state with string fields rewritten, as a state written
// before the ledger refused such text might hold them: the records are length-prefixed
// strings (ledger/codec.go), so a patch rewrites the prefix too.
type patchSource struct {
	*chain.App
	from, to [][]byte
}

func (p *patchSource) patch(v []byte) []byte {
	for i := range p.from {
		v = bytes.ReplaceAll(v, p.from[i], p.to[i])
	}
	return v
}

func (p *patchSource) Committed() *ipledger.Snapshot {
	s := *p.App.Committed()
	s.State = &patchKV{s.State, p}
	return &s
}

type patchKV struct {
	ipledger.KV
	p *patchSource
}

func (k *patchKV) Get(key []byte) ([]byte, error) {
	v, err := k.KV.Get(key)
	if v != nil {
		v = k.p.patch(v)
	}
	return v, err
}

func (k *patchKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return k.KV.Iterate(start, end, reverse, func(key, v []byte) bool { return fn(key, k.p.patch(v)) })
}

func lengthPrefixed(s string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(s))), s...)
}

// TestHostileText: an organisation's name and abuse mailbox and a holding's status and
// country holding line breaks, NUL, a terminal escape, C1 NEL, a bidi override and invalid
// UTF-8 come out as valid JSON with none of them raw on the wire, and decode to the text
// (invalid bytes as U+FFFD, which is all a JSON string can hold).
func TestHostileText(t *testing.T) {
	w := newWorld(t, Options{})
	const bad = "\r\nsource: FAKE\r\ninetnum: 6.6.6.0 - 6.6.6.255\x00\x7f\x1b[2J\u0085\u202e\xff\u2028\U000e0041"
	src := &patchSource{App: w.c.App()}
	for _, pair := range [][2]string{{"Alpha Networks", bad}, {"abuse@alpha.example", bad + "@x"}, {"ALLOCATED PA", "PA" + bad}} {
		src.from = append(src.from, lengthPrefixed(pair[0]))
		src.to = append(src.to, lengthPrefixed(pair[1]))
	}
	h, err := New(Options{Source: src, BaseURL: "https://rdap.test/rdap/", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	decoded := strings.ToValidUTF8(bad, "\ufffd")
	for _, path := range []string{"/rdap/entity/ORG-A", "/rdap/ip/193.0.0.5", "/rdap/autnum/3333", "/rdap/entities?handle=ORG-A*"} {
		t.Run(path, func(t *testing.T) {
			rec, body := call(t, h, http.MethodGet, "http://node.test"+path, "")
			raw := rec.Body.Bytes()
			if rec.Code != http.StatusOK || !json.Valid(raw) || !utf8.Valid(raw) {
				t.Fatalf("status %d, valid JSON %v, UTF-8 %v:\n%s", rec.Code, json.Valid(raw), utf8.Valid(raw), raw)
			}
			for _, r := range strings.TrimSuffix(string(raw), "\n") {
				if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
					t.Fatalf("answer holds %U raw:\n%s", r, raw)
				}
			}
			if !strings.Contains(string(raw), `\u202e`) {
				t.Fatalf("answer lacks the escaped bidi override:\n%s", raw)
			}
			if strings.Contains(path, "entit") {
				e := body
				if es := list(body, "entitySearchResults"); es != nil {
					for _, x := range es {
						if str(x, "handle") == "ORG-A" {
							e = x.(map[string]any)
						}
					}
				}
				if got := vcardValue(e, "fn"); got != decoded {
					t.Errorf("fn %q, want %q", got, decoded)
				}
			}
		})
	}
}
