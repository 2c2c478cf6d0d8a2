// Package geofeed reads and writes IP geolocation feeds in the RFC 8805 format: one
// "prefix,country,region,city,postal" line per network, '#' comments, UTF-8.
package geofeed

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
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
// cannot be trusted line by line is not half used.
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
	f := strings.Split(line, ",")
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

// Check validates the fields of e.
func (e Entry) Check() error {
	if !e.Prefix.IsValid() {
		return fmt.Errorf("no prefix")
	}
	if e.Country != "" && !alpha2(e.Country) {
		return fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code", e.Country)
	}
	if e.Region != "" {
		c, sub, ok := strings.Cut(e.Region, "-")
		if !ok || !alpha2(c) || (e.Country != "" && c != e.Country) || len(sub) < 1 || len(sub) > 3 || strings.ContainsFunc(sub, notAlnum) {
			return fmt.Errorf("region %q is not an ISO 3166-2 code of country %q", e.Region, e.Country)
		}
	}
	for _, s := range []string{e.City, e.Postal} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == ',' || r == '"' || r == 0x7f }) {
			return fmt.Errorf("field %q holds a comma, quote or control character", s)
		}
	}
	return nil
}

func alpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func notAlnum(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }

// Write writes entries as a feed, after a comment header, one line each (postal codes are
// left out, as RFC 8805 §2.1.1.5 asks of new feeds).
func Write(w io.Writer, header string, entries []Entry) error {
	bw := bufio.NewWriter(w)
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		if l != "" {
			fmt.Fprintf(bw, "# %s\n", l)
		}
	}
	for _, e := range entries {
		if err := e.Check(); err != nil {
			return fmt.Errorf("geofeed entry %s: %w", e.Prefix, err)
		}
		fmt.Fprintf(bw, "%s,%s,%s,%s,\n", e.Prefix, e.Country, e.Region, e.City)
	}
	return bw.Flush()
}
