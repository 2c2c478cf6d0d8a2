package whois

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// forged is what an organisation tried to print as its own lines: another object's
// source and an inetnum of space it does not hold.
const forged = "\r\nsource: FAKE\r\ninetnum: 6.6.6.0 - 6.6.6.255"

// hostile are text fields as a state written before the ledger refused them might hold:
// line breaks, NUL, a terminal escape, C1 NEL, a bidi override, invalid UTF-8, and text
// that starts like a comment or a continuation line.
var hostile = map[string]string{
	"forged":       forged,
	"lf":           "Evil\n\ninetnum: 6.6.6.0 - 6.6.6.255\nsource: IPLEDGER",
	"nul":          "Evil\x00Corp",
	"escape":       "\x1b[2J\x1b[1;31mEvil",
	"nel":          "Evil\u0085source: FAKE",
	"bidi":         "Evil \u202eKCAH\u202c Corp",
	"invalid":      "Evil\xff\xfe\xc3(Corp",
	"comment":      "% forged comment",
	"continuation": " +continued",
	"backslash":    `Evil\x0d\u202e\\Corp`,
	"all":          forged + "\x00\x1b[2J\u0085\u202e\xff\u2028\u00a0",
}

// patchKV serves a state whose string fields holding from hold to instead: the records are
// length-prefixed strings (ledger/codec.go), so the patch rewrites the prefix too, and the
// ledger's own checks on the way in are bypassed, as they would be for older state.
type patchKV struct {
	ipledger.KV
	from, to [][]byte
}

func newPatchKV(kv ipledger.KV, pairs ...string) *patchKV {
	p := &patchKV{KV: kv}
	for i := 0; i+1 < len(pairs); i += 2 {
		p.from = append(p.from, binary.AppendUvarint(nil, uint64(len(pairs[i]))))
		p.from[len(p.from)-1] = append(p.from[len(p.from)-1], pairs[i]...)
		p.to = append(p.to, append(binary.AppendUvarint(nil, uint64(len(pairs[i+1]))), pairs[i+1]...))
	}
	return p
}

func (p *patchKV) patch(v []byte) []byte {
	for i := range p.from {
		v = bytes.ReplaceAll(v, p.from[i], p.to[i])
	}
	return v
}

func (p *patchKV) Get(k []byte) ([]byte, error) {
	v, err := p.KV.Get(k)
	if v != nil {
		v = p.patch(v)
	}
	return v, err
}

func (p *patchKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return p.KV.Iterate(start, end, reverse, func(k, v []byte) bool { return fn(k, p.patch(v)) })
}

// unescape reverses appendValue; ok is false for text appendValue never writes.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		digits := map[byte]int{'\\': 0, 'x': 2, 'u': 4, 'U': 8}
		n, ok := digits[s[i+1]]
		if !ok || i+2+n > len(s) {
			return "", false
		}
		if n == 0 {
			b.WriteByte('\\')
			i++
			continue
		}
		v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
		if err != nil {
			return "", false
		}
		if n == 2 {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		i += 1 + n
	}
	return b.String(), true
}

// checkLines fails unless every line of an answer is empty, a "%" comment or an attribute
// of a known name, with no control character but the line ends and only valid UTF-8, no
// bidi control and no line separator.
func checkLines(t testing.TB, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Fatalf("answer is not UTF-8:\n%q", text)
	}
	for _, r := range text {
		if r != '\n' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Fatalf("answer holds %U:\n%q", r, text)
		}
	}
	known := map[string]bool{}
	for _, n := range []string{typeInetnum, typeInet6num, typeAutNum, typeASBlock, typeOrg, typeRole, "route", "route6",
		"netname", "as-name", "descr", "org", "org-name", "org-type", "country", "abuse-c", "abuse-mailbox", "status",
		"remarks", "mnt-by", "created", "last-modified", "source", "nic-hdl", "origin"} {
		known[n] = true
	}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "%") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !known[name] || strings.TrimSpace(value) == "" {
			t.Fatalf("line %q is not an attribute:\n%s", line, text)
		}
	}
}

// TestHostileText: an organisation's name, handle and abuse mailbox and its holding's
// country and status holding line breaks, NUL, escapes, bidi controls and invalid UTF-8
// give exactly the objects and lines they should; each value reads back, unescaped, as
// what the state holds.
func TestHostileText(t *testing.T) {
	kv, height := testState(t)
	for name, bad := range hostile {
		t.Run(name, func(t *testing.T) {
			pkv := newPatchKV(kv, "Alpha Networks", bad, "abuse@alpha.example", bad+"@x", "ALLOCATED PA", "PA"+bad, "NL", bad)
			s := newTestServer(t, Options{Source: newSource(pkv, height)})
			text := ask(s, "-B -x 193.0.0.0/16")
			checkLines(t, text)
			p := parseAnswer(t, text)
			if !slices.Equal(p.ids(), []string{alloc16, orgA, roleA}) {
				t.Fatalf("objects %v:\n%s", p.ids(), text)
			}
			want := map[string]map[string][]string{
				typeInetnum: {"descr": {bad}, "status": {"PA" + bad}, "country": {bad}, "source": {SourceName}},
				typeOrg:     {"org-name": {bad}, "source": {SourceName}},
				typeRole:    {"abuse-mailbox": {bad + "@x"}, "source": {SourceName}},
			}
			for _, o := range p.objects {
				for attr, vals := range want[o.typ] {
					var got []string
					for _, v := range o.attrs[attr] {
						u, ok := unescape(v)
						if !ok {
							t.Errorf("%s %s: %q does not unescape", o.typ, attr, v)
						}
						got = append(got, u)
					}
					if !slices.Equal(got, vals) {
						t.Errorf("%s %s: %q, want %q\n%s", o.typ, attr, got, vals, text)
					}
				}
			}
			if !p.hasComment("is '" + escapeValue(bad+"@x") + "'") {
				t.Errorf("abuse comment does not quote the escaped mailbox:\n%s", text)
			}
		})
	}
	t.Run("handle", func(t *testing.T) {
		// The holder's handle as the holding and the organisation record hold it.
		pkv := newPatchKV(kv, "ORG-A", "ORG-A"+forged)
		s := newTestServer(t, Options{Source: newSource(pkv, height)})
		for _, q := range []string{"-x 193.0.0.0/16", "ORG-A", "-i org ORG-A"} {
			text := ask(s, q)
			checkLines(t, text)
			for _, o := range parseAnswer(t, text).objects {
				if strings.HasPrefix(o.key, "6.6.6.") || len(o.attrs["source"]) != 1 || !strings.HasPrefix(o.attrs["source"][0], SourceName) {
					t.Fatalf("%s: forged object or source %s %s %v:\n%s", q, o.typ, o.key, o.attrs["source"], text)
				}
			}
		}
	})
}

// TestHostileGolden pins the text of an answer whose every hostile field is escaped.
func TestHostileGolden(t *testing.T) {
	kv, height := testState(t)
	pkv := newPatchKV(kv, "Alpha Networks", hostile["all"], "abuse@alpha.example", hostile["escape"]+"@x", "NL", "N\u202eL")
	s := newTestServer(t, Options{Source: newSource(pkv, height)})
	got := ask(s, "-B -x 193.0.0.0/16")
	ipledgertest.Golden(t, filepath.Join("testdata", "hostile.golden"), []byte(got), *update)
}

func TestAppendValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Alpha Networks", "Alpha Networks"},
		{"", ""},
		{"a\r\nb", `a\x0d\x0ab`},
		{"\x00\x1b\x7f", `\x00\x1b\x7f`},
		{"\xff\xc3(", `\xff\xc3(`},
		{"\u0085\u202e\u2028\ufeff", `\u0085\u202e\u2028\ufeff`},
		{"\U000e0041", `\U000e0041`},
		{`a\x0d`, `a\\x0d`},
		{" a b ", `\x20a b\x20`},
		{"\u00a0a", `\u00a0a`},
		{"Zürich \ufffd", "Zürich \ufffd"},
		{"%", "%"},
	} {
		got := escapeValue(c.in)
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
		if u, ok := unescape(got); !ok || u != c.in {
			t.Errorf("%q: unescapes to %q %v", c.in, u, ok)
		}
	}
}

// FuzzOrgName: whatever an organisation's name holds, the answer is lines of known
// attributes and comments, holds the same objects as with a plain name, and its org-name
// and descr unescape to the name.
func FuzzOrgName(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("Alpha Networks")
	f.Add("")
	kv, height := testState(f)
	f.Fuzz(func(t *testing.T, name string) {
		s, err := New(Options{Source: newSource(newPatchKV(kv, "Alpha Networks", name), height)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		text := ask(s, "-x 193.0.0.0/16")
		checkLines(t, text)
		p := parseAnswer(t, text)
		if !slices.Equal(p.ids(), []string{alloc16, orgA, roleA}) {
			t.Fatalf("objects %v:\n%s", p.ids(), text)
		}
		for _, o := range p.objects[:2] {
			attr := map[string]string{typeInetnum: "descr", typeOrg: "org-name"}[o.typ]
			vals := o.attrs[attr]
			if name == "" {
				if len(vals) != 0 {
					t.Fatalf("%s %s: %q for an empty name", o.typ, attr, vals)
				}
				continue
			}
			if len(vals) != 1 {
				t.Fatalf("%s %s: %q", o.typ, attr, vals)
			}
			if u, ok := unescape(vals[0]); !ok || u != name {
				t.Fatalf("%s %s: %q unescapes to %q, want %q", o.typ, attr, vals[0], u, name)
			}
		}
	})
}
