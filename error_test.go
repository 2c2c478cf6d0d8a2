package ipledger

import "testing"

func TestParseCode(t *testing.T) {
	for c := Code(0); c < 40; c++ {
		got, ok := ParseCode(c.String())
		if !ok || got != c {
			t.Errorf("ParseCode(%q) = %d %v, want %d", c.String(), got, ok, c)
		}
	}
	for _, s := range []string{"", "nope", "code_", "code_x", "code_01", "code_7", "code_99999999999"} {
		if _, ok := ParseCode(s); ok {
			t.Errorf("ParseCode(%q) ok", s)
		}
	}
}
