package vrp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// PosError is a malformed-input error at a place in a JSON document: line and column
// (both from 1; the column counts bytes) and the byte offset (from 0) where the offending
// value starts. Check for it with errors.As; Unwrap gives the underlying cause when there is
// one (a prefix that does not parse, a read error).
type PosError struct {
	Line, Col int
	Offset    int64
	Msg       string
	Err       error
}

func (e *PosError) Error() string {
	return fmt.Sprintf("line %d col %d: %s", e.Line, e.Col, e.Msg)
}

func (e *PosError) Unwrap() error { return e.Err }

// Limits of the scanner: nesting of skipped values, and the length of a string whose
// contents are kept (skipped strings may be of any length).
const (
	maxDepth     = 256
	maxStringLen = 1 << 16
	bufSize      = 64 << 10
)

// scanner is a streaming JSON tokenizer over an io.Reader: strict RFC 8259 syntax (UTF-8
// strings, no trailing commas, no leading zeros), with the position of every token, and
// memory bounded by its buffer whatever the document's size. The readers of this package
// drive it by hand, so that a 700,000-entry array is parsed without building a tree.
type scanner struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	base int64 // offset of buf[0] in the document
	eof  bool
	rerr error // read error other than io.EOF

	// Line accounting: raw newlines only occur in whitespace in valid JSON, so skipping
	// whitespace counts them.
	line      int   // current line, from 1
	lineStart int64 // offset of the current line's first byte

	scratch []byte // unescaped string contents
	key     []byte // the current member name
	depth   int
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, bufSize), line: 1}
}

// offset returns the document offset of the next unread byte.
func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// mark is a position in the document, for error messages.
type mark struct {
	off       int64
	line      int
	lineStart int64
}

// mark returns the position of the next unread byte.
func (s *scanner) mark() mark { return mark{s.offset(), s.line, s.lineStart} }

// errAt returns a *PosError at m.
func (s *scanner) errAt(m mark, err error, format string, args ...any) error {
	return &PosError{Line: m.line, Col: int(m.off-m.lineStart) + 1, Offset: m.off, Msg: fmt.Sprintf(format, args...), Err: err}
}

// errHere returns a *PosError at the next unread byte.
func (s *scanner) errHere(err error, format string, args ...any) error {
	return s.errAt(s.mark(), err, format, args...)
}

// fill reads more input, keeping buf[keep:]; it returns false at the end of input.
func (s *scanner) fill(keep int) bool {
	if s.eof {
		return false
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.base += int64(keep)
		s.pos -= keep
		s.end = n
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// more makes at least one unread byte available, discarding what was read; it returns
// false at the end of input.
func (s *scanner) more() bool {
	if s.pos < s.end {
		return true
	}
	return s.fill(s.pos)
}

func (s *scanner) unexpectedEnd() error {
	if s.rerr != nil {
		return s.errHere(s.rerr, "read: %v", s.rerr)
	}
	return s.errHere(io.ErrUnexpectedEOF, "unexpected end of input")
}

// peek skips whitespace and returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	if s.pos < s.end && s.buf[s.pos] > ' ' {
		return s.buf[s.pos], nil
	}
	return s.peekSlow()
}

func (s *scanner) peekSlow() (byte, error) {
	c, ok := s.skipSpace()
	if !ok {
		return 0, s.unexpectedEnd()
	}
	return c, nil
}

// skipSpace skips JSON whitespace, counting lines, and returns the next byte without
// consuming it, or ok false at the end of input.
func (s *scanner) skipSpace() (c byte, ok bool) {
	for {
		for s.pos < s.end {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\r':
				s.pos++
			case '\n':
				s.pos++
				s.line++
				s.lineStart = s.offset()
			default:
				return c, true
			}
		}
		if !s.more() {
			return 0, false
		}
	}
}

// expect consumes the byte c after whitespace.
func (s *scanner) expect(c byte, what string) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return s.errHere(nil, "want %s, found %s", what, quoteByte(got))
	}
	s.pos++
	return nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// finish checks that only whitespace follows.
func (s *scanner) finish() error {
	if c, ok := s.skipSpace(); ok {
		return s.errHere(nil, "unexpected %s after the document", quoteByte(c))
	}
	if s.rerr != nil {
		return s.unexpectedEnd()
	}
	return nil
}

// beginObject consumes the '{' that starts an object; nextMember then walks its members.
func (s *scanner) beginObject() error { return s.expect('{', "an object") }

// nextMember moves to the next member of the object begun: it returns the member's name
// (valid until the next call) with the scanner at its value, which the caller must consume,
// or ok false after the closing '}'. first is true for the first call on an object.
func (s *scanner) nextMember(first bool) (key []byte, at mark, ok bool, err error) {
	c, err := s.peek()
	if err != nil {
		return nil, at, false, err
	}
	if c == '}' {
		s.pos++
		return nil, at, false, nil
	}
	if !first {
		if c != ',' {
			return nil, at, false, s.errHere(nil, "want ',' or '}' in object, found %s", quoteByte(c))
		}
		s.pos++
		if c, err = s.peek(); err != nil {
			return nil, at, false, err
		}
	}
	at = s.mark()
	if c != '"' {
		return nil, at, false, s.errAt(at, nil, "want a member name, found %s", quoteByte(c))
	}
	s.pos++
	if key, err = s.stringBody(true); err != nil {
		return nil, at, false, err
	}
	// The key may point into the buffer, which the reads below can move.
	s.key = append(s.key[:0], key...)
	key = s.key
	if c, err = s.peek(); err != nil {
		return nil, at, false, err
	}
	if c != ':' {
		return nil, at, false, s.errHere(nil, "want ':', found %s", quoteByte(c))
	}
	s.pos++
	if _, err := s.peek(); err != nil {
		return nil, at, false, err
	}
	return key, at, true, nil
}

// object reads an object, calling member with each key (valid only during the call)
// positioned at the member's value, which member must consume.
func (s *scanner) object(member func(key []byte, at mark) error) error {
	if err := s.beginObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, at, ok, err := s.nextMember(first)
		if err != nil || !ok {
			return err
		}
		if err := member(key, at); err != nil {
			return err
		}
	}
}

// beginArray consumes the '[' that starts an array; nextElem then walks its elements.
func (s *scanner) beginArray() error { return s.expect('[', "an array") }

// nextElem moves to the next element of the array begun, which the caller must consume,
// or returns ok false after the closing ']'. first is true for the first call on an array.
func (s *scanner) nextElem(first bool) (at mark, ok bool, err error) {
	c, err := s.peek()
	if err != nil {
		return at, false, err
	}
	if c == ']' {
		s.pos++
		return at, false, nil
	}
	if !first {
		if c != ',' {
			return at, false, s.errHere(nil, "want ',' or ']' in array, found %s", quoteByte(c))
		}
		s.pos++
		if _, err = s.peek(); err != nil {
			return at, false, err
		}
	}
	return s.mark(), true, nil
}

// array reads an array, calling elem positioned at each element, which elem must consume.
func (s *scanner) array(elem func(i int, at mark) error) error {
	if err := s.beginArray(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		at, ok, err := s.nextElem(i == 0)
		if err != nil || !ok {
			return err
		}
		if err := elem(i, at); err != nil {
			return err
		}
	}
}

// str reads a string and returns its unescaped contents, valid until the next call.
func (s *scanner) str() ([]byte, error) {
	return s.readString(true)
}

// readString reads a string (after whitespace); with keep it returns the contents,
// which must then be at most maxStringLen bytes.
func (s *scanner) readString(keep bool) ([]byte, error) {
	if err := s.expect('"', "a string"); err != nil {
		return nil, err
	}
	return s.stringBody(keep)
}

// stringBody reads the rest of a string whose opening quote was consumed.
func (s *scanner) stringBody(keep bool) ([]byte, error) {
	// Fast path: plain ASCII up to the closing quote, all in the buffer.
	for i := s.pos; i < s.end; i++ {
		c := s.buf[i]
		if c == '"' {
			b := s.buf[s.pos:i]
			s.pos = i + 1
			return b, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 || i-s.pos >= maxStringLen {
			break
		}
	}
	s.scratch = s.scratch[:0]
	for {
		// Fast path: a run of plain ASCII.
		i := s.pos
		for i < s.end {
			c := s.buf[i]
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				break
			}
			i++
		}
		if keep {
			s.scratch = append(s.scratch, s.buf[s.pos:i]...)
		}
		s.pos = i
		if keep && len(s.scratch) > maxStringLen {
			return nil, s.errHere(nil, "string longer than %d bytes", maxStringLen)
		}
		if s.pos == s.end {
			if !s.more() {
				return nil, s.unexpectedEnd()
			}
			continue
		}
		switch c := s.buf[s.pos]; {
		case c == '"':
			s.pos++
			return s.scratch, nil
		case c == '\\':
			if err := s.escape(keep); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, s.errHere(nil, "control character 0x%02x in string", c)
		default:
			// A multi-byte UTF-8 sequence: make it whole in the buffer, then check it.
			for s.end-s.pos < utf8.UTFMax && !utf8.FullRune(s.buf[s.pos:s.end]) {
				if !s.fill(s.pos) {
					break
				}
			}
			r, n := utf8.DecodeRune(s.buf[s.pos:s.end])
			if r == utf8.RuneError && n <= 1 {
				return nil, s.errHere(nil, "invalid UTF-8 in string")
			}
			if keep {
				s.scratch = append(s.scratch, s.buf[s.pos:s.pos+n]...)
			}
			s.pos += n
		}
	}
}

// escape decodes the escape sequence at s.pos.
func (s *scanner) escape(keep bool) error {
	at := s.mark()
	for s.end-s.pos < 2 {
		if !s.fill(s.pos) {
			return s.unexpectedEnd()
		}
	}
	c := s.buf[s.pos+1]
	var out byte
	switch c {
	case '"', '\\', '/':
		out = c
	case 'b':
		out = '\b'
	case 'f':
		out = '\f'
	case 'n':
		out = '\n'
	case 'r':
		out = '\r'
	case 't':
		out = '\t'
	case 'u':
		r, err := s.hex4(at)
		if err != nil {
			return err
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate must be followed by an escaped low one.
			r2 := rune(-1)
			for s.end-s.pos < 2 && s.fill(s.pos) {
			}
			if s.end-s.pos >= 2 && s.buf[s.pos] == '\\' && s.buf[s.pos+1] == 'u' {
				x, err := s.hex4(s.mark())
				if err != nil {
					return err
				}
				r2 = x
			}
			r = utf16.DecodeRune(r, r2)
			if r == utf8.RuneError {
				return s.errAt(at, nil, "invalid surrogate pair in string")
			}
		}
		if keep {
			s.scratch = utf8.AppendRune(s.scratch, r)
		}
		return nil
	default:
		return s.errAt(at, nil, "invalid escape \\%s in string", string(rune(c)))
	}
	if keep {
		s.scratch = append(s.scratch, out)
	}
	s.pos += 2
	return nil
}

// hex4 reads \uXXXX at s.pos.
func (s *scanner) hex4(at mark) (rune, error) {
	for s.end-s.pos < 6 {
		if !s.fill(s.pos) {
			return 0, s.unexpectedEnd()
		}
	}
	var r rune
	for _, c := range s.buf[s.pos+2 : s.pos+6] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, s.errAt(at, nil, "invalid \\u escape in string")
		}
		r = r<<4 | rune(d)
	}
	s.pos += 6
	return r, nil
}

// number reads a JSON number and returns its text, valid until the next call.
func (s *scanner) number() ([]byte, error) {
	if _, err := s.peek(); err != nil {
		return nil, err
	}
	at := s.mark()
	// Make sure the whole number is in the buffer: numbers end at a delimiter.
	i := s.pos
	for {
		for i < s.end && isNumByte(s.buf[i]) {
			i++
		}
		if i < s.end || s.eof {
			break
		}
		keep := s.pos
		if !s.fill(keep) {
			break
		}
		i -= keep
	}
	text := s.buf[s.pos:i]
	if !validNumber(text) {
		return nil, s.errAt(at, nil, "invalid number %q", truncate(text))
	}
	s.pos = i
	return text, nil
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// validNumber reports whether b is a JSON number (RFC 8259 §6).
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// uint reads a number that must be an integer in [0, max].
func (s *scanner) uint(what string, max uint64) (uint64, error) {
	c, err := s.peek()
	if err != nil {
		return 0, err
	}
	at := s.mark()
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.errAt(at, nil, "%s: want a number, found %s", what, quoteByte(c))
	}
	// Fast path: plain digits followed, in the buffer, by a delimiter.
	if c >= '1' && c <= '9' || c == '0' && s.pos+1 < s.end && !isNumByte(s.buf[s.pos+1]) {
		var v uint64
		i := s.pos
		for i < s.end && i-s.pos < 19 && s.buf[i] >= '0' && s.buf[i] <= '9' {
			v = v*10 + uint64(s.buf[i]-'0')
			i++
		}
		if i < s.end && !isNumByte(s.buf[i]) {
			if v > max {
				return 0, s.errAt(at, nil, "%s: want an integer from 0 to %d, found %s", what, max, truncate(s.buf[s.pos:i]))
			}
			s.pos = i
			return v, nil
		}
	}
	text, err := s.number()
	if err != nil {
		var pe *PosError
		if errors.As(err, &pe) {
			pe.Msg = what + ": " + pe.Msg
		}
		return 0, err
	}
	v, ok := ipledger.ParseDigits(text, max)
	if !ok {
		return 0, s.errAt(at, nil, "%s: want an integer from 0 to %d, found %s", what, max, truncate(text))
	}
	return v, nil
}

// literal reads true, false or null.
func (s *scanner) literal() error {
	at := s.mark()
	for s.end-s.pos < 5 && !s.eof {
		if !s.fill(s.pos) {
			break
		}
	}
	rest := s.buf[s.pos:s.end]
	for _, w := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(rest, []byte(w)) {
			s.pos += len(w)
			return nil
		}
	}
	return s.errAt(at, nil, "invalid literal %q", truncate(rest[:min(len(rest), 8)]))
}

// skip reads and discards any value.
func (s *scanner) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		_, err := s.readString(false)
		return err
	case c == '{' || c == '[':
		if s.depth >= maxDepth {
			return s.errHere(nil, "nesting deeper than %d", maxDepth)
		}
		s.depth++
		defer func() { s.depth-- }()
		if c == '{' {
			return s.object(func([]byte, mark) error { return s.skip() })
		}
		return s.array(func(int, mark) error { return s.skip() })
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.number()
		return err
	case c == 't' || c == 'f' || c == 'n':
		return s.literal()
	}
	return s.errHere(nil, "want a value, found %s", quoteByte(c))
}

// isNull consumes null if it is next.
func (s *scanner) isNull() (bool, error) {
	c, err := s.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, s.literal()
}
