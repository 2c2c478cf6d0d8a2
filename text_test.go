package ipledger

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"unicode"
)

func TestEscapeJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{`{"a":"x` + "\u007f\u0085\u202e\u2028\U000e0041" + `"}`, `{"a":"x\u007f\u0085\u202e\u2028\udb40\udc41"}`},
	} {
		in, _ := json.Marshal(map[string]string{"a": mustUnquote(t, c.in)})
		if got := string(EscapeJSON(in)); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
}

// mustUnquote returns the value of key "a" of the JSON object s.
func mustUnquote(t *testing.T, s string) string {
	var v map[string]string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v["a"]
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzEscapeJSON: for any text, the escaped encoding is valid JSON holding no raw control or
// format character and decodes to the same value as the plain encoding.
func FuzzEscapeJSON(f *testing.F) {
	f.Add("Alpha Networks")
	f.Add("\r\n\x00\x1b[2J\u0085\u202e\xff\u2028\U000e0041")
	f.Fuzz(func(t *testing.T, s string) {
		plain, err := json.Marshal(map[string]any{"fn": s, "a": []string{s, "x"}})
		if err != nil {
			t.Fatal(err)
		}
		esc := EscapeJSON(plain)
		var a, b any
		if err := json.Unmarshal(esc, &b); err != nil {
			t.Fatalf("%q: %v", esc, err)
		}
		if err := json.Unmarshal(plain, &a); err != nil {
			t.Fatal(err)
		}
		if ja, _ := json.Marshal(a); !bytes.Equal(ja, mustJSON(t, b)) {
			t.Fatalf("%q decodes differently from %q", esc, plain)
		}
		if bytes.ContainsFunc(esc, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }) {
			t.Fatalf("%q holds a raw control or format character", esc)
		}
	})
}

// FuzzParseDigits checks ParseDigits against strconv.ParseUint in base 10, with the
// 20-digit limit and max on top.
func FuzzParseDigits(f *testing.F) {
	for _, s := range []string{"0", "4294967295", "4294967296", "18446744073709551615", "18446744073709551616", "00000000000000000001", "+1", "-0", "1_0", "", "12a"} {
		f.Add(s, uint64(1<<32-1))
	}
	f.Fuzz(func(t *testing.T, s string, max uint64) {
		got, ok := ParseDigits([]byte(s), max)
		want, err := strconv.ParseUint(s, 10, 64)
		wantOK := err == nil && want <= max && len(s) <= 20
		if ok != wantOK || ok && got != want {
			t.Fatalf("ParseDigits(%q, %d) = %d, %v; strconv says %d, %v", s, max, got, ok, want, err)
		}
	})
}

func TestAppendJSONBytes(t *testing.T) {
	for _, v := range [][]byte{nil, {}, {0}, []byte("\xff\xfe ipledger")} {
		want, _ := json.Marshal(v)
		if got := AppendJSONBytes([]byte("x"), v); string(got) != "x"+string(want) {
			t.Errorf("%q: got %s, want x%s", v, got, want)
		}
	}
}
