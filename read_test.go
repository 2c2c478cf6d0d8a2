package ipledger

import "testing"

// FuzzParseHistoryPos: the cursor parser never panics, and what it accepts formats back to
// a position that parses to itself.
func FuzzParseHistoryPos(f *testing.F) {
	fuzzRoundTrip(f, ParseHistoryPos, "1.0", "1234.5", "0.0", "9223372036854775807.4294967295", "", ".", "1.", ".1", "-1.0", "1.-1", "1.2.3", "01.02", "+1.0", "1.4294967296")
}
