package iana

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
)

// Status words of IANA's number registries (the Status of an Entry).
const (
	Allocated   = "ALLOCATED"   // delegated to the registry named
	Legacy      = "LEGACY"      // issued before the RIRs, now administered by the RIR named
	Reserved    = "RESERVED"    // reserved by the IETF or kept by IANA
	Unallocated = "UNALLOCATED" // in IANA's free pool
)

// Entry is one row of an IANA number registry: a block, who IANA gave it to and when.
// The zero Entry has an invalid Resource.
type Entry struct {
	Resource   ipledger.Resource
	Registry   string // ipledger.IANA or one of ipledger.RIRs
	Status     string // Allocated, Legacy, Reserved or Unallocated
	Registered string // YYYY-MM-DD (IANA's YYYY-MM as YYYY-MM-01), or "" when IANA gives no date
	Name       string // IANA's designation, description or name, footnote marks removed
}

// Registries holds the rows of IANA's number registries that genesis is built from.
// The zero Registries holds no rows: all space is IANA's.
type Registries struct {
	IPv4    []Entry // ipv4-address-space: the 256 /8s
	IPv6    []Entry // ipv6-unicast-address-assignments
	ASN     []Entry // as-numbers: the 16-bit and 32-bit sub-registries
	Special []Entry // the IPv4, IPv6 and AS special-purpose registries, in that order; blocks may nest
}

// The file names IANA publishes the registries under; Load reads these.
const (
	IPv4File        = "ipv4-address-space.xml"
	IPv6File        = "ipv6-unicast-address-assignments.xml"
	ASNFile         = "as-numbers.xml"
	IPv4SpecialFile = "iana-ipv4-special-registry.xml"
	IPv6SpecialFile = "iana-ipv6-special-registry.xml"
	ASNSpecialFile  = "iana-as-numbers-special-registry.xml"
)

// Load reads the six registries from dir (see the *File constants). The error names the file,
// and the line for a bad record.
func Load(dir string) (*Registries, error) {
	var r Registries
	for _, f := range []struct {
		name  string
		parse func(io.Reader) ([]Entry, error)
		dst   *[]Entry
	}{
		{IPv4File, ParseIPv4AddressSpace, &r.IPv4},
		{IPv6File, ParseIPv6UnicastAssignments, &r.IPv6},
		{ASNFile, ParseASNumbers, &r.ASN},
		{IPv4SpecialFile, ParseIPv4Special, &r.Special},
		{IPv6SpecialFile, ParseIPv6Special, &r.Special},
		{ASNSpecialFile, ParseASSpecial, &r.Special},
	} {
		es, err := parseFile(filepath.Join(dir, f.name), f.parse)
		if err != nil {
			return nil, err
		}
		*f.dst = append(*f.dst, es...)
	}
	return &r, nil
}

func parseFile(path string, parse func(io.Reader) ([]Entry, error)) ([]Entry, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load iana registries: %w", err)
	}
	defer fh.Close()
	es, err := parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

// ParseIPv4AddressSpace reads ipv4-address-space.xml: one record per /8 with a prefix like
// "001/8", a designation, a date (YYYY-MM), a whois server and a status. A legacy /8 belongs
// to the RIR that administers it, named in its designation or by its whois server. The blocks
// must not overlap.
func ParseIPv4AddressSpace(r io.Reader) ([]Entry, error) {
	return parseTable(r, "ipv4-address-space", func(rec *record) (ipledger.Resource, string, error) {
		res, err := parseSlash8(rec.Prefix.String())
		return res, rec.Designation.String(), err
	})
}

// ParseIPv6UnicastAssignments reads ipv6-unicast-address-assignments.xml: one record per
// prefix with a description, a date (an attribute, YYYY-MM-DD or YYYY-MM), a whois server and
// a status. The blocks must not overlap.
func ParseIPv6UnicastAssignments(r io.Reader) ([]Entry, error) {
	return parseTable(r, "ipv6-unicast-address-assignments", func(rec *record) (ipledger.Resource, string, error) {
		res, err := parsePrefix(rec.Prefix.String(), ipledger.IPv6)
		return res, rec.Description.String(), err
	})
}

// parseTable reads a main address table whose records carry a status word; block gives each
// record's resource and name. The blocks must not overlap.
func parseTable(r io.Reader, root string, block func(*record) (ipledger.Resource, string, error)) ([]Entry, error) {
	recs, err := decodeRecords(r, root)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(recs))
	for _, rec := range recs {
		res, name, err := block(rec)
		if err != nil {
			return nil, rec.errorf("%w", err)
		}
		e, err := rec.entry(res, name, rec.Status.String())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := checkDisjoint(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseASNumbers reads as-numbers.xml, both sub-registries (16-bit and 32-bit AS numbers):
// one record per number ("7") or range ("1-1876") with a description such as "Assigned by
// ARIN", "Reserved", "Unallocated" or "AS_TRANS". IANA's records carry no status word, so it
// is derived: Allocated for a block assigned to an RIR, Unallocated for "Unallocated",
// Reserved for anything else. Records whose description starts with "See" point to another
// sub-registry (0-65535 in the 32-bit one) and are skipped. The blocks must not overlap.
func ParseASNumbers(r io.Reader) ([]Entry, error) {
	recs, err := decodeRecords(r, "as-numbers")
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(recs))
	for _, rec := range recs {
		desc := rec.Description.String()
		if hasPrefixFold(desc, "See ") {
			continue
		}
		res, err := parseASNs(rec.Number.String())
		if err != nil {
			return nil, rec.errorf("%w", err)
		}
		e, err := rec.entry(res, desc, Reserved)
		if err != nil {
			return nil, err
		}
		switch {
		case e.Registry != ipledger.IANA:
			e.Status = Allocated
		case hasPrefixFold(desc, "Unallocated"):
			e.Status = Unallocated
		}
		out = append(out, e)
	}
	if err := checkDisjoint(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseIPv4Special reads iana-ipv4-special-registry.xml, the IPv4 Special-Purpose Address
// Registry (RFC 6890). An address cell may list several prefixes ("192.0.0.170/32,
// 192.0.0.171/32"); each becomes an Entry with the record's name. Every Entry is IANA's and
// Reserved, dated by the record's allocation date. Blocks may nest (192.0.0.0/29 inside
// 192.0.0.0/24).
func ParseIPv4Special(r io.Reader) ([]Entry, error) {
	return parseSpecial(r, "iana-ipv4-special-registry", ipledger.IPv4)
}

// ParseIPv6Special reads iana-ipv6-special-registry.xml, the IPv6 Special-Purpose Address
// Registry (RFC 6890), as ParseIPv4Special does.
func ParseIPv6Special(r io.Reader) ([]Entry, error) {
	return parseSpecial(r, "iana-ipv6-special-registry", ipledger.IPv6)
}

// ParseASSpecial reads iana-as-numbers-special-registry.xml, the Special-Purpose AS Numbers
// registry (RFC 7249). Its records have no allocation date; the record's date attribute, when
// present, is used instead.
func ParseASSpecial(r io.Reader) ([]Entry, error) {
	return parseSpecial(r, "iana-as-numbers-special-registry", ipledger.ASN)
}

func parseSpecial(r io.Reader, root string, fam ipledger.Family) ([]Entry, error) {
	recs, err := decodeRecords(r, root)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, rec := range recs {
		cell := rec.Address.String()
		if fam == ipledger.ASN {
			cell = rec.Value.String()
		}
		date := rec.Allocation.String()
		if date == "" {
			date = rec.DateAttr
		}
		reg, err := normDate(date)
		if err != nil {
			return nil, rec.errorf("%w", err)
		}
		parts := strings.Split(cell, ",")
		if len(parts) > 64 {
			return nil, rec.errorf("%d blocks in one record", len(parts))
		}
		for _, part := range parts {
			var res ipledger.Resource
			if fam == ipledger.ASN {
				res, err = parseASNs(part)
			} else {
				res, err = parsePrefix(part, fam)
			}
			if err != nil {
				return nil, rec.errorf("%w", err)
			}
			out = append(out, Entry{Resource: res, Registry: ipledger.IANA, Status: Reserved, Registered: reg, Name: rec.Name.String()})
		}
	}
	return out, nil
}

// record is an IANA registry <record> of any of the six registries; each uses some fields.
type record struct {
	DateAttr    string  `xml:"date,attr"`
	Prefix      xmlText `xml:"prefix"`
	Number      xmlText `xml:"number"`
	Value       xmlText `xml:"value"`
	Address     xmlText `xml:"address"`
	Designation xmlText `xml:"designation"`
	Description xmlText `xml:"description"`
	Name        xmlText `xml:"name"`
	Date        xmlText `xml:"date"`
	Allocation  xmlText `xml:"allocation"`
	Whois       xmlText `xml:"whois"`
	Status      xmlText `xml:"status"`

	line int
}

func (rec *record) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: record: "+format, append([]any{rec.line}, args...)...)
}

// entry builds the Entry of a record of the IPv4, IPv6 or AS number registry.
func (rec *record) entry(res ipledger.Resource, name, status string) (Entry, error) {
	status = strings.ToUpper(status)
	switch status {
	case Allocated, Legacy, Reserved, Unallocated:
	default:
		return Entry{}, rec.errorf("%s: unknown status %q", res, status)
	}
	date := rec.Date.String()
	if date == "" {
		date = rec.DateAttr
	}
	reg, err := normDate(date)
	if err != nil {
		return Entry{}, rec.errorf("%s: %w", res, err)
	}
	registry, err := registryOf(name, rec.Whois.String())
	if err != nil {
		return Entry{}, rec.errorf("%s: %w", res, err)
	}
	return Entry{Resource: res, Registry: registry, Status: status, Registered: reg, Name: name}, nil
}

// maxRecords bounds the records read from one file; IANA's largest has a few hundred.
const maxRecords = 100000

// decodeRecords reads every <record> under the root <registry id=root>, at any depth of
// nested sub-registries.
func decodeRecords(r io.Reader, root string) ([]*record, error) {
	dec := xml.NewDecoder(r)
	var recs []*record
	depth := 0 // open elements, the root included
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if sawRoot {
					return nil, fmt.Errorf("read xml: more than one root element")
				}
				sawRoot = true
				if id := attr(t, "id"); t.Name.Local != "registry" || id != root {
					return nil, fmt.Errorf("not IANA's %s registry (root <%s id=%q>)", root, t.Name.Local, id)
				}
			}
			if t.Name.Local == "record" && depth > 0 {
				line, _ := dec.InputPos()
				rec := &record{line: line}
				if err := dec.DecodeElement(rec, &t); err != nil {
					return nil, fmt.Errorf("line %d: read record: %w", line, err)
				}
				if len(recs) == maxRecords {
					return nil, fmt.Errorf("line %d: more than %d records", line, maxRecords)
				}
				recs = append(recs, rec)
				continue // DecodeElement consumed the end tag
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if !sawRoot {
		return nil, fmt.Errorf("not IANA's %s registry: no root element", root)
	}
	return recs, nil
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// xmlText is the text of an element with mixed content, as IANA's plain-text rendering shows
// it: character data with white space collapsed, an <xref type="rfc" data="rfc7607"/> as
// "[RFC7607]", and footnote marks (<xref type="note">) left out.
type xmlText string

func (t xmlText) String() string { return string(t) }

// UnmarshalXML implements xml.Unmarshaler.
func (t *xmlText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tt := tok.(type) {
		case xml.StartElement:
			depth++
			if tt.Name.Local == "xref" && attr(tt, "type") == "rfc" {
				b.WriteString(" [" + strings.ToUpper(attr(tt, "data")) + "] ")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(tt)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	// An xref directly after an opening or before a closing bracket or punctuation takes no
	// space there.
	for _, p := range []string{",", ";", ".", ")"} {
		s = strings.ReplaceAll(s, "] "+p, "]"+p)
	}
	s = strings.ReplaceAll(s, "( [", "([")
	*t = xmlText(s)
	return nil
}

// rirNames maps the names IANA's registries give the RIRs, in upper case, to their handles.
var rirNames = map[string]string{
	"AFRINIC":  ipledger.AFRINIC,
	"APNIC":    ipledger.APNIC,
	"ARIN":     ipledger.ARIN,
	"LACNIC":   ipledger.LACNIC,
	"RIPE NCC": ipledger.RIPENCC,
	"RIPE-NCC": ipledger.RIPENCC,
	"RIPENCC":  ipledger.RIPENCC,
}

// registryOf maps a designation (or description) and a whois server to the registry IANA
// gave the block to: the RIR either names, IANA when neither names one. Legacy /8s name a
// former holder ("Apple Computer Inc.") and only the whois server tells the RIR that
// administers them.
func registryOf(name, whois string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, p := range []string{"ADMINISTERED BY ", "ASSIGNED BY "} {
		n = strings.TrimSpace(strings.TrimPrefix(n, p))
	}
	byName := rirNames[n]
	byWhois := ""
	host := strings.ToLower(strings.TrimSpace(whois))
	for _, h := range ipledger.RIRs {
		if r, _ := ipledger.RegistryOf(h); r.WHOIS == host {
			byWhois = h
		}
	}
	switch {
	case byName != "" && byWhois != "" && byName != byWhois:
		return "", fmt.Errorf("designation %q names %s but whois server %q is %s's", name, byName, whois, byWhois)
	case byName != "":
		return byName, nil
	case byWhois != "":
		return byWhois, nil
	}
	return ipledger.IANA, nil
}

// parseSlash8 parses the IPv4 table's prefix form: the first octet, zero-padded to three
// digits, and the prefix length ("001/8").
func parseSlash8(s string) (ipledger.Resource, error) {
	o, l, ok := strings.Cut(strings.TrimSpace(s), "/")
	octet, err1 := strconv.ParseUint(o, 10, 8)
	bits, err2 := strconv.ParseUint(l, 10, 8)
	if !ok || err1 != nil || err2 != nil || bits > 8 {
		return ipledger.Resource{}, fmt.Errorf("bad IPv4 prefix %q: want the first octet and a length up to 8, like \"001/8\"", s)
	}
	r, err := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(octet)}), int(bits)))
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("bad IPv4 prefix %q: %w", s, err)
	}
	return r, nil
}

func parsePrefix(s string, fam ipledger.Family) (ipledger.Resource, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("bad prefix: %w", err)
	}
	r, err := ipledger.PrefixResource(p)
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("bad prefix %q: %w", s, err)
	}
	if r.Family() != fam {
		return ipledger.Resource{}, fmt.Errorf("prefix %s is not %s", p, fam)
	}
	return r, nil
}

// mapped is ::ffff:0:0/96, the IPv4-mapped block (RFC 4291 section 2.5.5.2).
// parseASNs parses "64496" or "64496-64511".
func parseASNs(s string) (ipledger.Resource, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	first, err := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("bad AS number %q", s)
	}
	last := first
	if isRange {
		if last, err = strconv.ParseUint(strings.TrimSpace(b), 10, 32); err != nil {
			return ipledger.Resource{}, fmt.Errorf("bad AS number range %q", s)
		}
	}
	r, err := ipledger.ASRange(uint32(first), uint32(last))
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("bad AS number range %q: %w", s, err)
	}
	return r, nil
}

// normDate turns IANA's YYYY-MM or YYYY-MM-DD into YYYY-MM-DD; "" stays "".
func normDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 0:
		return "", nil
	case len("2006-01"):
		s += "-01"
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("bad date %q: want YYYY-MM or YYYY-MM-DD", s)
	}
	return s, nil
}

// checkDisjoint reports an error when two entries overlap.
func checkDisjoint(es []Entry) error {
	s := slices.Clone(es)
	slices.SortFunc(s, func(a, b Entry) int { return a.Resource.Compare(b.Resource) })
	for i := 1; i < len(s); i++ {
		if s[i-1].Resource.Overlaps(s[i].Resource) {
			return fmt.Errorf("%s (%s) overlaps %s (%s)", s[i-1].Resource, s[i-1].Name, s[i].Resource, s[i].Name)
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
