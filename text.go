package ipledger

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Output escaping shared by the front ends that write JSON (the JSON API, RDAP, the CLI's
// --json): what the ledger refuses in new text (CheckText) must not reach a reader's
// terminal raw from older state either.

// EscapeJSON returns encoded JSON with DEL, every C1 control, format character (Cf: bidi
// controls such as U+202E, zero-width characters) and line or paragraph separator written
// as a \u escape. encoding/json already escapes C0 controls and U+2028/U+2029 and writes
// each byte of invalid UTF-8 as U+FFFD (silently: a JSON string holds only Unicode text,
// and the ledger refuses such text now); the rest would pass raw, which is valid JSON but
// reaches the terminal of whoever prints a value with curl or a simple client. The escape
// keeps the JSON value the same. Outside strings JSON is printable ASCII and white space, so
// every such character is inside a string, where \u is valid (RFC 8259 §7, a surrogate pair above U+FFFF).
func EscapeJSON(b []byte) []byte {
	if !bytes.ContainsFunc(b, jsonUnsafe) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case !jsonUnsafe(r):
			out = append(out, b[:n]...)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
		default:
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		b = b[n:]
	}
	return out
}

// jsonUnsafe reports characters of categories Cc, Cf, Zl and Zp from DEL up: encoding/json
// escapes those below DEL itself.
func jsonUnsafe(r rune) bool {
	return r >= 0x7f && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// AppendJSONBytes appends v as encoding/json writes a []byte: null for nil, otherwise a
// string of standard, padded base64. The hand-written encoders of hot answers (inclusion
// proofs, state proofs) use it in place of reflection.
func AppendJSONBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// ParseDigits parses b, one to 20 decimal digits and nothing else, as a number up to max;
// false for anything else (no digits, a sign, a non-digit, a value over max or over 64
// bits). The importers' and the VRP reader's hand-written scanners share it; it stays small
// enough to inline.
func ParseDigits(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 || v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, v <= max
}
