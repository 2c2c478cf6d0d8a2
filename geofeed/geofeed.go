// Package geofeed reads and writes IP geolocation feeds in the RFC 8805 format: one
// "prefix,country,region,city,postal" line per network, CSV as RFC 4180 defines it, '#'
// comments, UTF-8.
package geofeed

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Entry is one line of a feed. Country is an ISO 3166-1 alpha-2 code and Region an ISO
// 3166-2 code, both upper case; any field but Prefix may be empty (RFC 8805 §2.1.1).
type Entry struct {
	Prefix  netip.Prefix
	Country string
	Region  string
	City    string
	Postal  string // deprecated by RFC 8805 §2.1.1.5; kept when read, never written
}

// MaxLine bounds a line of a feed read by Read.
const MaxLine = 4096

// Read parses a feed. It fails on the first malformed line, naming it; a file that
// cannot be trusted line by line is not half used. A field may be quoted as RFC 4180 §2
// allows (a city holding a comma or a quote); a record spans one line, as no valid field
// holds a line break.
func Read(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxLine)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte order mark some editors write
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		e, err := ParseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read geofeed: %w", err)
	}
	return out, nil
}

// ParseLine parses one data line.
func ParseLine(line string) (Entry, error) {
	if !utf8.ValidString(line) {
		return Entry{}, fmt.Errorf("not UTF-8")
	}
	r := csv.NewReader(strings.NewReader(line))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	f, err := r.Read()
	if err != nil {
		return Entry{}, fmt.Errorf("csv: %w", err)
	}
	if len(f) < 1 || len(f) > 5 {
		return Entry{}, fmt.Errorf("%d fields; want prefix,country,region,city,postal", len(f))
	}
	for len(f) < 5 {
		f = append(f, "")
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	p, err := netip.ParsePrefix(f[0])
	if err != nil {
		return Entry{}, fmt.Errorf("prefix: %w", err)
	}
	if p != p.Masked() {
		return Entry{}, fmt.Errorf("prefix %s has host bits set", f[0])
	}
	e := Entry{Prefix: p, Country: strings.ToUpper(f[1]), Region: strings.ToUpper(f[2]), City: f[3], Postal: f[4]}
	if err := e.Check(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Check validates the fields of e: codes of the right form, and a city and postal code of
// text without control or format characters (Unicode categories Cc, Cf, Zl, Zp).
func (e Entry) Check() error {
	if !e.Prefix.IsValid() {
		return fmt.Errorf("no prefix")
	}
	if e.Country != "" && !alpha2(e.Country) {
		return fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code", e.Country)
	}
	if e.Region != "" && !validRegion(e.Region, e.Country) {
		return fmt.Errorf("region %q is not an ISO 3166-2 code of country %q", e.Region, e.Country)
	}
	for _, s := range []string{e.City, e.Postal} {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unprintable) {
			return fmt.Errorf("field %q holds a control character or is not UTF-8", s)
		}
	}
	return nil
}

// unprintable reports characters a feed never carries: controls (C0, DEL, C1), format
// characters such as the bidi overrides, and the line and paragraph separators.
func unprintable(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// maxText bounds a city or postal code as Clean leaves it, so that a written line, quoted,
// stays well within MaxLine.
const maxText = 1024

// Clean returns e as Write writes it, whatever its fields hold (a state written before the
// ledger checked them, an imported file): a country or region code that is not valid is
// left empty; in the city and postal code, each run of bytes that are not UTF-8 becomes one
// U+FFFD, characters of categories Cc, Cf, Zl and Zp are dropped, surrounding space is
// trimmed and the text is cut at 1,024 bytes; and a city or postal code that starts with
// '=', '+', '-' or '@' gets a leading apostrophe, so that a spreadsheet opening the feed
// takes it as text, not as a formula (OWASP's advice on CSV injection; no place name starts
// so). The prefix is masked. For a valid prefix, Clean(e) passes Check and reads back from
// Write's output as itself.
func Clean(e Entry) Entry {
	e.Prefix = e.Prefix.Masked()
	e.Country = strings.ToUpper(e.Country)
	if e.Country != "" && !alpha2(e.Country) {
		e.Country = ""
	}
	e.Region = strings.ToUpper(e.Region)
	if e.Region != "" && !validRegion(e.Region, e.Country) {
		e.Region = ""
	}
	e.City, e.Postal = noFormula(cleanText(e.City)), noFormula(cleanText(e.Postal))
	return e
}

// noFormula prefixes an apostrophe to text a spreadsheet would run as a formula.
func noFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// cleanText returns s as valid UTF-8 without unprintable characters, trimmed and cut at
// maxText bytes.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unprintable) && len(s) <= maxText && strings.TrimSpace(s) == s {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unprintable(r) {
			return -1
		}
		return r
	}, s)
	for len(s) > maxText {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return strings.TrimSpace(s)
}

// validRegion reports whether region is an ISO 3166-2 code, of country if that is set.
func validRegion(region, country string) bool {
	c, sub, ok := strings.Cut(region, "-")
	return ok && alpha2(c) && (country == "" || c == country) && len(sub) >= 1 && len(sub) <= 3 && !strings.ContainsFunc(sub, notAlnum)
}

func alpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func notAlnum(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }

// Write writes entries as a feed, after a comment header, one line each (postal codes are
// left out, as RFC 8805 §2.1.1.5 asks of new feeds). Each entry is written as Clean returns
// it, and a field is quoted where RFC 4180 §2 asks (a comma or a quote in a city), so no
// text can end a line, add a field or a row, or fail the feed; an entry without a valid
// prefix is skipped. It fails only when w does.
func Write(w io.Writer, header string, entries []Entry) error {
	bw := bufio.NewWriter(w)
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		if l = cleanText(l); l != "" {
			fmt.Fprintf(bw, "# %s\n", l)
		}
	}
	cw := csv.NewWriter(bw)
	for _, e := range entries {
		if !e.Prefix.IsValid() {
			continue
		}
		e = Clean(e)
		if err := cw.Write([]string{e.Prefix.String(), e.Country, e.Region, e.City, ""}); err != nil {
			return fmt.Errorf("write geofeed: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write geofeed: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write geofeed: %w", err)
	}
	return nil
}
