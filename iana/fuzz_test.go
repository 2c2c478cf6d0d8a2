package iana

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// seedDirs are where fuzz seeds come from: the real files when present, and the fixture.
func seedDirs() []string {
	return []string{filepath.Join("testdata", "mini"), ipledgertest.DataPath("iana")}
}

// fuzzParser seeds f with file from each seed directory and with literals, and checks that
// parse never panics and that what it accepts is well-formed and builds covering pools.
func fuzzParser(f *testing.F, file string, fam ipledger.Family, special bool, parse func(io.Reader) ([]Entry, error), literals ...string) {
	for _, d := range seedDirs() {
		if b, err := os.ReadFile(filepath.Join(d, file)); err == nil {
			f.Add(b)
		}
	}
	for _, l := range literals {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := parse(bytes.NewReader(b))
		if err != nil {
			if es != nil {
				t.Errorf("error %v with %d entries", err, len(es))
			}
			return
		}
		for _, e := range es {
			if !e.Resource.IsValid() || e.Resource.Family() != fam {
				t.Fatalf("entry %v: resource not %s", e, fam)
			}
			if !slices.Contains(ipledger.Registries, e.Registry) {
				t.Fatalf("entry %v: registry %q", e, e.Registry)
			}
			switch e.Status {
			case Allocated, Legacy, Reserved, Unallocated:
			default:
				t.Fatalf("entry %v: status %q", e, e.Status)
			}
			if special && (e.Registry != ipledger.IANA || e.Status != Reserved) {
				t.Fatalf("special-purpose entry %v is not IANA's and reserved", e)
			}
			if e.Registered != "" {
				if _, err := time.Parse(time.DateOnly, e.Registered); err != nil {
					t.Fatalf("entry %v: %v", e, err)
				}
			}
		}
		if !special {
			if err := checkDisjoint(es); err != nil {
				t.Fatalf("accepted overlapping rows: %v", err)
			}
		}
		r := &Registries{IPv4: es}
		if special {
			r = &Registries{Special: es}
		}
		pools := GenesisPools(r)
		if p := poolProblems(pools); len(p) > 0 {
			t.Fatalf("pools from accepted rows: %q", p)
		}
		checkRows(t, r, pools)
	})
}

const (
	fuzzV4   = `<registry id="ipv4-address-space"><record><prefix>001/8</prefix><designation>APNIC</designation><date>2010-01</date><whois>whois.apnic.net</whois><status>ALLOCATED</status></record></registry>`
	fuzzV6   = `<registry id="ipv6-unicast-address-assignments"><record date="2006-10-03"><prefix>2c00::/12</prefix><description>AFRINIC</description><status>ALLOCATED</status></record></registry>`
	fuzzAS   = `<registry id="as-numbers"><registry id="as-numbers-1"><record><number>1-1876</number><description>Assigned by ARIN</description></record></registry></registry>`
	fuzzSp4  = `<registry id="iana-ipv4-special-registry"><registry><record><address>192.0.0.170/32, 192.0.0.171/32 <xref type="note" data="1"/></address><name>x</name><allocation>2013-02</allocation></record></registry></registry>`
	fuzzSp6  = `<registry id="iana-ipv6-special-registry"><record><address>::ffff:0:0/96</address><allocation>2006-02</allocation></record></registry>`
	fuzzSpAS = `<registry id="iana-as-numbers-special-registry"><record date="2015-03-17"><value>112</value><name>AS112 <xref type="rfc" data="rfc7534"/></name></record></registry>`
)

func FuzzParseIPv4AddressSpace(f *testing.F) {
	fuzzParser(f, IPv4File, ipledger.IPv4, false, ParseIPv4AddressSpace, fuzzV4, "", "<registry")
}

func FuzzParseIPv6UnicastAssignments(f *testing.F) {
	fuzzParser(f, IPv6File, ipledger.IPv6, false, ParseIPv6UnicastAssignments, fuzzV6)
}

func FuzzParseASNumbers(f *testing.F) {
	fuzzParser(f, ASNFile, ipledger.ASN, false, ParseASNumbers, fuzzAS)
}

func FuzzParseIPv4Special(f *testing.F) {
	fuzzParser(f, IPv4SpecialFile, ipledger.IPv4, true, ParseIPv4Special, fuzzSp4)
}

func FuzzParseIPv6Special(f *testing.F) {
	fuzzParser(f, IPv6SpecialFile, ipledger.IPv6, true, ParseIPv6Special, fuzzSp6)
}

func FuzzParseASSpecial(f *testing.F) {
	fuzzParser(f, ASNSpecialFile, ipledger.ASN, true, ParseASSpecial, fuzzSpAS)
}
