package iana

import (
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

func TestLoadRealFiles(t *testing.T) {
	r, err := Load(dataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	// Record counts of the files in ../shared/data/iana (PROVENANCE.md): the 32-bit AS
	// sub-registry's pointer to the 16-bit one is skipped, and one IPv4 special-purpose record
	// lists two prefixes.
	for _, tt := range []struct {
		name string
		got  int
		want int
	}{
		{"IPv4", len(r.IPv4), 256},
		{"IPv6", len(r.IPv6), 51},
		{"ASN", len(r.ASN), 88 + 86 - 1},
		{"Special", len(r.Special), 25 + 1 + 25 + 9},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.name, tt.got, tt.want)
		}
	}
	for _, e := range r.IPv4 {
		if e.Status == Legacy && e.Registry == ipledger.IANA {
			t.Errorf("legacy %s (%s) has no RIR", e.Resource, e.Name)
		}
		if e.Registered == "" {
			t.Errorf("%s has no date", e.Resource)
		}
	}
}

func parseString(parse func(io.Reader) ([]Entry, error), s string) ([]Entry, error) {
	return parse(strings.NewReader(s))
}

// loadMini loads testdata/mini: a few rows of each of the six registry files.
func loadMini(tb testing.TB) *Registries {
	tb.Helper()
	r, err := Load(filepath.Join("testdata", "mini"))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestParseIPv4AddressSpace(t *testing.T) {
	const head = `<?xml version='1.0' encoding='UTF-8'?><registry xmlns="http://www.iana.org/assignments" id="ipv4-address-space">`
	rec := func(prefix, designation, date, whois, status string) string {
		s := "<record><prefix>" + prefix + "</prefix><designation>" + designation + "</designation><date>" + date + "</date>"
		if whois != "" {
			s += "<whois>" + whois + "</whois>"
		}
		return s + "<status>" + status + "</status></record>\n"
	}
	for _, tt := range []struct {
		name, body string
		want       []Entry // nil when an error is expected
		errHas     string
	}{
		{
			name: "rir",
			body: rec("001/8", "APNIC", "2010-01", "whois.apnic.net", "ALLOCATED"),
			want: []Entry{{res(t, "1.0.0.0/8"), ipledger.APNIC, Allocated, "2010-01-01", "APNIC"}},
		},
		{
			name: "legacy holder named, RIR from whois",
			body: rec("012/8", "AT&amp;T Bell Laboratories", "1995-06", "whois.arin.net", "LEGACY"),
			want: []Entry{{res(t, "12.0.0.0/8"), ipledger.ARIN, Legacy, "1995-06-01", "AT&T Bell Laboratories"}},
		},
		{
			name: "administered by",
			body: rec("025/8", "Administered by RIPE NCC", "1995-01", "whois.ripe.net", "LEGACY"),
			want: []Entry{{res(t, "25.0.0.0/8"), ipledger.RIPENCC, Legacy, "1995-01-01", "Administered by RIPE NCC"}},
		},
		{
			name: "reserved",
			body: rec("127/8", "IANA - Loopback", "1981-09", "", "RESERVED") + rec("240/8", "Future use", "1981-09", "", "RESERVED"),
			want: []Entry{
				{res(t, "127.0.0.0/8"), ipledger.IANA, Reserved, "1981-09-01", "IANA - Loopback"},
				{res(t, "240.0.0.0/8"), ipledger.IANA, Reserved, "1981-09-01", "Future use"},
			},
		},
		{name: "empty registry", body: "", want: []Entry{}},
		{name: "conflict", body: rec("003/8", "Administered by ARIN", "1994-05", "whois.ripe.net", "LEGACY"), errHas: "whois server"},
		{name: "bad status", body: rec("001/8", "APNIC", "2010-01", "whois.apnic.net", "GIVEN"), errHas: "unknown status"},
		{name: "bad date", body: rec("001/8", "APNIC", "2010-13", "whois.apnic.net", "ALLOCATED"), errHas: "bad date"},
		{name: "bad prefix", body: rec("256/8", "APNIC", "2010-01", "whois.apnic.net", "ALLOCATED"), errHas: "bad IPv4 prefix"},
		{name: "long prefix", body: rec("001/9", "APNIC", "2010-01", "whois.apnic.net", "ALLOCATED"), errHas: "bad IPv4 prefix"},
		{name: "host bits", body: rec("001/7", "APNIC", "2010-01", "whois.apnic.net", "ALLOCATED"), errHas: "host bits"},
		{name: "overlap", body: rec("001/8", "APNIC", "2010-01", "", "ALLOCATED") + rec("000/7", "IANA", "1981-09", "", "RESERVED"), errHas: "overlaps"},
		{name: "line number", body: "\n\n" + rec("x/8", "APNIC", "2010-01", "", "ALLOCATED"), errHas: "line 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(ParseIPv4AddressSpace, head+tt.body+"</registry>")
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalEntries(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func equalEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseWrongFile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse func(io.Reader) ([]Entry, error)
		in    string
	}{
		{"v4 given v6", ParseIPv4AddressSpace, `<registry id="ipv6-unicast-address-assignments"></registry>`},
		{"v6 given v4", ParseIPv6UnicastAssignments, `<registry id="ipv4-address-space"></registry>`},
		{"as given special", ParseASNumbers, `<registry id="iana-as-numbers-special-registry"></registry>`},
		{"no root", ParseIPv4Special, ``},
		{"not xml", ParseIPv6Special, `{"registry": "json"}`},
		{"other root element", ParseASSpecial, `<html id="iana-as-numbers-special-registry"></html>`},
		{"truncated", ParseIPv4AddressSpace, `<registry id="ipv4-address-space"><record><prefix>001/8`},
		{"two roots", ParseIPv4AddressSpace, `<registry id="ipv4-address-space"></registry><registry id="ipv4-address-space"></registry>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := parseString(tt.parse, tt.in); err == nil {
				t.Errorf("no error; got %v", got)
			}
		})
	}
}

func TestParseIPv6UnicastAssignments(t *testing.T) {
	in := `<registry xmlns="http://www.iana.org/assignments" id="ipv6-unicast-address-assignments">
  <record date="1999-07-01"><prefix>2001::/23</prefix><description>IANA</description><whois>whois.iana.org</whois><status>ALLOCATED</status></record>
  <record date="2006-10-03"><prefix>2c00::/12</prefix><description>AFRINIC</description><whois>whois.afrinic.net</whois><status>ALLOCATED</status></record>
  <record date="2008-04"><prefix>3ffe::/16</prefix><description>IANA</description><status>RESERVED</status></record>
</registry>`
	got, err := parseString(ParseIPv6UnicastAssignments, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{res(t, "2001::/23"), ipledger.IANA, Allocated, "1999-07-01", "IANA"},
		{res(t, "2c00::/12"), ipledger.AFRINIC, Allocated, "2006-10-03", "AFRINIC"},
		{res(t, "3ffe::/16"), ipledger.IANA, Reserved, "2008-04-01", "IANA"},
	}
	if !equalEntries(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseASNumbers(t *testing.T) {
	got := loadMini(t)
	want := []Entry{
		{res(t, "AS0"), ipledger.IANA, Reserved, "", "Reserved"},
		{res(t, "AS1-AS1876"), ipledger.ARIN, Allocated, "", "Assigned by ARIN"},
		{res(t, "AS1877-AS23455"), ipledger.RIPENCC, Allocated, "2002-03-01", "Assigned by RIPE NCC"},
		{res(t, "AS23456"), ipledger.IANA, Reserved, "", "AS_TRANS"},
		{res(t, "AS64496-AS64511"), ipledger.IANA, Reserved, "2008-12-05", "Reserved for use in documentation and sample code"},
		// "0-65535 See Sub-registry 16-bit AS numbers" is skipped.
		{res(t, "AS131072-AS132095"), ipledger.APNIC, Allocated, "2006-11-29", "Assigned by APNIC"},
		{res(t, "AS132096-AS4199999999"), ipledger.IANA, Unallocated, "", "Unallocated"},
	}
	if !equalEntries(got.ASN, want) {
		t.Errorf("got\n%v\nwant\n%v", got.ASN, want)
	}
}

func TestParseSpecial(t *testing.T) {
	r := loadMini(t)
	byRes := map[string]Entry{}
	for _, e := range r.Special {
		if e.Registry != ipledger.IANA || e.Status != Reserved {
			t.Errorf("%s: %s %s, want IANA RESERVED", e.Resource, e.Registry, e.Status)
		}
		byRes[e.Resource.String()] = e
	}
	for _, tt := range []struct{ res, name, date string }{
		{"0.0.0.0/8", `"This network"`, "1981-09-01"},
		{"192.0.0.0/24", "IETF Protocol Assignments", "2010-01-01"}, // footnote mark in the address cell
		{"192.0.0.170/32", "NAT64/DNS64 Discovery", "2013-02-01"},   // two prefixes in one cell
		{"192.0.0.171/32", "NAT64/DNS64 Discovery", "2013-02-01"},
		{"192.0.2.0/24", "Documentation (TEST-NET-1)", "2010-01-01"}, // allocation before the record's date
		{"::ffff:0.0.0.0/96", "IPv4-mapped Address", "2006-02-01"},
		{"2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "2022-12-01"}, // trailing space
		{"2002::/16", "6to4", "2001-02-01"},
		{"AS0", "Reserved by [RFC7607]", ""},
		{"AS112", "Used by the AS112 project to sink misdirected DNS queries; see [RFC7534]", "2015-03-17"}, // the record's date
		{"AS64496-AS64511", "For documentation and sample code; reserved by [RFC5398]", ""},
	} {
		e, ok := byRes[tt.res]
		if !ok {
			t.Errorf("%s missing", tt.res)
			continue
		}
		if e.Name != tt.name || e.Registered != tt.date {
			t.Errorf("%s: name %q date %q, want %q %q", tt.res, e.Name, e.Registered, tt.name, tt.date)
		}
	}
}

// TestParseRejects checks that each parser refuses a bad row: a prefix of the wrong family
// or with host bits, an AS number or range it cannot read, a bad special-purpose cell.
func TestParseRejects(t *testing.T) {
	v6 := func(prefix string) string {
		return `<registry id="ipv6-unicast-address-assignments"><record date="1999-07-01"><prefix>` + prefix + `</prefix><description>IANA</description><status>ALLOCATED</status></record></registry>`
	}
	asn := func(number string) string {
		return `<registry id="as-numbers"><registry id="as-numbers-1"><record><number>` + number + `</number><description>Reserved</description></record></registry></registry>`
	}
	for _, tt := range []struct {
		parse func(io.Reader) ([]Entry, error)
		in    string
	}{
		{ParseIPv6UnicastAssignments, v6("10.0.0.0/8")},
		{ParseIPv6UnicastAssignments, v6("2001::1/16")},
		{ParseIPv6UnicastAssignments, v6("2001::/129")},
		{ParseASNumbers, asn("")},
		{ParseASNumbers, asn("-")},
		{ParseASNumbers, asn("1-")},
		{ParseASNumbers, asn("5-4")},
		{ParseASNumbers, asn("4294967296")},
		{ParseASNumbers, asn("AS1")},
		{ParseASNumbers, asn("1 - 2 - 3")},
		{ParseASNumbers, asn("0x10")},
		{ParseIPv4Special, `<registry id="iana-ipv4-special-registry"><record><address>2001:db8::/32</address></record></registry>`},
		{ParseIPv6Special, `<registry id="iana-ipv6-special-registry"><record><address>192.0.2.0/24</address></record></registry>`},
		{ParseIPv4Special, `<registry id="iana-ipv4-special-registry"><record><address>192.0.2.0/24,</address></record></registry>`},
		{ParseIPv4Special, `<registry id="iana-ipv4-special-registry"><record><address>192.0.2.0/24</address><allocation>soon</allocation></record></registry>`},
		{ParseASSpecial, `<registry id="iana-as-numbers-special-registry"><record><value>AS0</value></record></registry>`},
	} {
		if got, err := parseString(tt.parse, tt.in); err == nil {
			t.Errorf("%s: no error; got %v", tt.in, got)
		}
	}
}

func TestXMLText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`<name>Reserved by <xref type="rfc" data="rfc7607"/></name>`, "Reserved by [RFC7607]"},
		{`<name>AS_TRANS; reserved by <xref type="rfc" data="rfc6793"/>, see also</name>`, "AS_TRANS; reserved by [RFC6793], see also"},
		{`<name>(<xref type="rfc" data="rfc1"/>)</name>`, "([RFC1])"},
		{`<address>192.0.0.0/24 <xref type="note" data="2"/></address>`, "192.0.0.0/24"},
		{`<address>  2001:30::/28 </address>`, "2001:30::/28"},
		{`<name>AT&amp;T
   Bell   Laboratories</name>`, "AT&T Bell Laboratories"},
		{`<name>See <xref type="registry" data="x">the registry</xref> for details</name>`, "See the registry for details"},
	} {
		var rec struct {
			Name    xmlText `xml:"name"`
			Address xmlText `xml:"address"`
		}
		if err := xml.Unmarshal([]byte("<record>"+tt.in+"</record>"), &rec); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := rec.Name.String() + rec.Address.String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRegistryOf(t *testing.T) {
	for _, tt := range []struct{ name, whois, want string }{
		{"APNIC", "whois.apnic.net", ipledger.APNIC},
		{"RIPE NCC", "", ipledger.RIPENCC},
		{"Administered by AFRINIC", "whois.afrinic.net", ipledger.AFRINIC},
		{"Assigned by LACNIC", "whois.lacnic.net", ipledger.LACNIC},
		{"US-DOD", "whois.arin.net", ipledger.ARIN},
		{"IANA", "whois.iana.org", ipledger.IANA},
		{"6to4", "", ipledger.IANA},
		{"Multicast", "", ipledger.IANA},
		{"Unallocated", "", ipledger.IANA},
	} {
		got, err := registryOf(tt.name, tt.whois)
		if err != nil || got != tt.want {
			t.Errorf("registryOf(%q, %q) = %q, %v; want %q", tt.name, tt.whois, got, err, tt.want)
		}
	}
	if got, err := registryOf("ARIN", "whois.apnic.net"); err == nil {
		t.Errorf("conflict: got %q, no error", got)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(empty dir) = %v, want an error matching fs.ErrNotExist", err)
	}
}
