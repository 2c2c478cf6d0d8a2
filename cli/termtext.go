package cli

import (
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a node answers is printed on the user's terminal, and a node (or a record written
// before the ledger refused such text) may hold control characters: an ESC sequence could
// clear the screen or retitle the window, a CR or LF forge a line, a bidi override reorder
// what is read. The human output escapes them; --json is escaped as JSON, with the same
// characters written as \u escapes.

// termText returns s with every character a terminal could act on written as a visible
// escape: a backslash as \\, an ASCII control (C0, DEL, including tab and line breaks) and
// each byte that is not valid UTF-8 as \xHH, and a C1 control, a format character (Cf: bidi
// controls, zero-width characters) or a line or paragraph separator as \uHHHH (\UHHHHHHHH
// above U+FFFF). Other text is unchanged, and the mapping is one to one, as in WHOIS.
func termText(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r == utf8.RuneError || unsafeRune(r) }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf && unsafeRune(r):
			writeHex(&b, `\x`, uint32(r), 2)
		case unsafeRune(r) && r > 0xffff:
			writeHex(&b, `\U`, uint32(r), 8)
		case unsafeRune(r):
			writeHex(&b, `\u`, uint32(r), 4)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports characters of categories Cc, Cf, Zl and Zp.
func unsafeRune(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>shift&0xf])
	}
}

// escapeStrings rewrites in place, with termText, every exported string field, slice or
// array element that v reaches through pointers, interfaces, structs, slices and arrays: an
// answer decoded for printing, so that no printer, present or future, can print a field raw.
// Maps and unexported fields are left alone (the printers show neither).
func escapeStrings(v any) { escapeValue(reflect.ValueOf(v), 0) }

func escapeValue(v reflect.Value, depth int) {
	if depth > 16 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			escapeValue(v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			escapeValue(v.Field(i), depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			escapeValue(v.Index(i), depth+1)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(termText(v.String()))
		}
	}
}
