package ipledger

import "testing"

// FuzzParseHistoryPos: the cursor parser never panics, and what it accepts formats back to
// a position that parses to itself.
func FuzzParseHistoryPos(f *testing.F) {
	for _, s := range []string{"1.0", "1234.5", "0.0", "9223372036854775807.4294967295", "", ".", "1.", ".1", "-1.0", "1.-1", "1.2.3", "01.02", "+1.0", "1.4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseHistoryPos(s)
		if err != nil {
			return
		}
		q, err := ParseHistoryPos(p.String())
		if err != nil || q != p {
			t.Fatalf("%q: %+v formats as %q, which parses to %+v, %v", s, p, p.String(), q, err)
		}
	})
}
