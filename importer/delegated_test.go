package importer

import (
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func res(s string) ipledger.Resource { return ipledger.MustParseResource(s) }

func TestParseLineRecords(t *testing.T) {
	for _, c := range []struct {
		line string
		want Record
	}{
		{"ripencc|FR|ipv4|2.0.0.0|1048576|20100712|allocated",
			Record{Registry: ipledger.RIPENCC, Country: "FR", Resource: res("2.0.0.0/12"), Date: "2010-07-12", Status: "allocated"}},
		{"apnic|AU|ipv4|1.0.0.0|768|20110811|assigned", // not CIDR-aligned
			Record{Registry: ipledger.APNIC, Country: "AU", Resource: res("1.0.0.0-1.0.2.255"), Date: "2011-08-11", Status: "assigned"}},
		{"lacnic|BR|ipv6|2001:1280::|32|20020909|allocated",
			Record{Registry: ipledger.LACNIC, Country: "BR", Resource: res("2001:1280::/32"), Date: "2002-09-09", Status: "allocated"}},
		{"afrinic|ZA|asn|1228|1|19910301|allocated|F36B9F4B",
			Record{Registry: ipledger.AFRINIC, Country: "ZA", Resource: res("AS1228"), Date: "1991-03-01", Status: "allocated", OpaqueID: "F36B9F4B"}},
		{"arin|US|asn|3|1|00000000|assigned|d98c567cda2db06e693f2b574eafe848",
			Record{Registry: ipledger.ARIN, Country: "US", Resource: res("AS3"), Status: "assigned", OpaqueID: "d98c567cda2db06e693f2b574eafe848"}},
		{"iana|ZZ|asn|4200000000|94967295|20130607|ietf", // runs to the last AS number but one
			Record{Registry: ipledger.IANA, Country: "ZZ", Resource: res("AS4200000000-AS4294967294"), Date: "2013-06-07", Status: "ietf"}},
		{"iana|ZZ|asn|4294967295|1|20061129|ietf",
			Record{Registry: ipledger.IANA, Country: "ZZ", Resource: res("AS4294967295"), Date: "2006-11-29", Status: "ietf"}},
		{"iana|ZZ|ipv4|45.64.0.0|69632|20140521|apnic",
			Record{Registry: ipledger.IANA, Country: "ZZ", Resource: res("45.64.0.0-45.65.15.255"), Date: "2014-05-21", Status: "apnic"}},
		{"iana|ZZ|ipv6|2001:0200::|23|19990701|allocated|apnic|iana", // IANA's extended form
			Record{Registry: ipledger.IANA, Country: "ZZ", Resource: res("2001:200::/23"), Date: "1999-07-01", Status: "allocated", OpaqueID: "apnic", Extensions: []string{"iana"}}},
		{"lacnic||ipv4|177.39.96.0|1024||available",
			Record{Registry: ipledger.LACNIC, Resource: res("177.39.96.0/22"), Status: "available"}},
		{"afrinic|ZZ|asn|5536|1||available|", // eight fields, empty opaque id
			Record{Registry: ipledger.AFRINIC, Country: "ZZ", Resource: res("AS5536"), Status: "available"}},
		{"ripencc|eu|ipv4|255.255.255.255|1|20000229|allocated\r\n", // lower-case country, CRLF, leap day
			Record{Registry: ipledger.RIPENCC, Country: "EU", Resource: res("255.255.255.255/32"), Date: "2000-02-29", Status: "allocated"}},
		{"ripencc|DE|ipv4|0.0.0.0|4294967296|19830705|allocated",
			Record{Registry: ipledger.RIPENCC, Country: "DE", Resource: res("0.0.0.0/0"), Date: "1983-07-05", Status: "allocated"}},
	} {
		t.Run(c.line, func(t *testing.T) {
			l, err := ParseLine(c.line)
			if err != nil {
				t.Fatal(err)
			}
			if l.Kind != RecordLine || l.Family != c.want.Resource.Family() {
				t.Fatalf("kind %d family %s", l.Kind, l.Family)
			}
			if !reflect.DeepEqual(l.Record, c.want) {
				t.Fatalf("got  %+v\nwant %+v", l.Record, c.want)
			}
			// Format reads back to the same record.
			back, err := ParseLine(l.Record.Format())
			if err != nil || !reflect.DeepEqual(back.Record, c.want) {
				t.Fatalf("Format %q reads back as %+v, %v", l.Record.Format(), back.Record, err)
			}
		})
	}
}

func TestParseLineBad(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"|3|19990401|arin", "truncated record"},
		{"ripencc|NL|ipv4|193.0.0.0|256|19930901", "truncated record"},
		{"nro|NL|ipv4|193.0.0.0|256|19930901|allocated", `unknown registry "nro"`},
		{"ripencc|NL|ipv5|193.0.0.0|256|19930901|allocated", `unknown type "ipv5"`},
		{"ripencc|NL|ipv4|193.0.0.256|256|19930901|allocated", "bad ipv4 address"},
		{"ripencc|NL|ipv4|010.0.0.0|256|19930901|allocated", "bad ipv4 address"},
		{"ripencc|NL|ipv4|2001:db8::|256|19930901|allocated", "bad ipv4 address"},
		{"ripencc|NL|ipv4|193.0.0.0|0|19930901|allocated", "count of addresses is zero"},
		{"ripencc|NL|ipv4|193.0.0.0|-1|19930901|allocated", "bad ipv4 count"},
		{"ripencc|NL|ipv4|255.255.255.0|257|19930901|allocated", "runs past the end"},
		{"ripencc|NL|ipv4|0.0.0.0|4294967297|19930901|allocated", "runs past the end"},
		{"ripencc|NL|ipv4|0.0.0.0|99999999999999999999999|19930901|allocated", "bad ipv4 count"},
		{"ripencc|NL|ipv6|2001:db8::1|32|19930901|allocated", "host bits set"},
		{"ripencc|NL|ipv6|2001:db8::|129|19930901|allocated", "bad ipv6 prefix length"},
		{"ripencc|NL|ipv6|::ffff:1.2.3.0|120|19930901|allocated", "bad ipv6 address"},
		{"ripencc|NL|ipv6|fe80::%eth0|64|19930901|allocated", "bad ipv6 address"},
		{"ripencc|NL|ipv6|193.0.0.0|8|19930901|allocated", "bad ipv6 address"},
		{"ripencc|NL|asn|4294967296|1|19930901|allocated", "bad AS number"},
		{"ripencc|NL|asn|4294967295|2|19930901|allocated", "runs past AS4294967295"},
		{"ripencc|NL|asn|1|0|19930901|allocated", "bad AS count"},
		{"ripencc|NL|asn|AS1|1|19930901|allocated", "bad AS number"},
		{"ripencc|NL|asn|1|1|19930231|allocated", "no such day"},
		{"ripencc|NL|asn|1|1|19001329|allocated", "no such day"},
		{"ripencc|NL|asn|1|1|2019091|allocated", "want YYYYMMDD"},
		{"ripencc|NL|asn|1|1|2019-09-01|allocated", "want YYYYMMDD"},
		{"ripencc|NLD|asn|1|1|19930901|allocated", "bad country code"},
		{"ripencc|N1|asn|1|1|19930901|allocated", "bad country code"},
		{"ripencc|NL|asn|1|1|19930901|legacy", `unknown status "legacy"`},
		{"ripencc|NL|asn|1|1|19930901|Allocated", `unknown status "Allocated"`},
		{"ripencc|NL|asn|1|1|19930901|arin", `unknown status "arin"`}, // registry words only in IANA's file
		{"ripencc|NL|asn|1|1|19930901|ietf", `unknown status "ietf"`},
		{"iana|ZZ|asn|1|1|19930901|allocated|example|iana", "names no registry"},
		{"iana|ZZ|asn|1|1|19930901|allocated", "names no registry"},
		{"ripencc|NL|asn|1|1|19930901|allocated|id\x00x", "control character"},
		{"ripencc|NL|asn|1|1|19930901|allocated|\xff", "invalid UTF-8"},
		{"a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q", "more than 16 fields"},
	} {
		t.Run(c.line, func(t *testing.T) {
			l, err := ParseLine(c.line)
			if err == nil {
				t.Fatalf("accepted as %+v", l)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to say %q", err, c.want)
			}
			if l.Kind != RecordLine {
				t.Fatalf("kind %d, want RecordLine", l.Kind)
			}
		})
	}
}

func TestParseLineKinds(t *testing.T) {
	for _, c := range []struct {
		line string
		want Line
		err  string
	}{
		{"", Line{Kind: BlankLine}, ""},
		{"   \t", Line{Kind: BlankLine}, ""},
		{"# 2|ripencc|x", Line{Kind: BlankLine}, ""},
		{"  # indented comment", Line{Kind: BlankLine}, ""},
		{"2|afrinic|20230323|15019|00000000|20230323|00000", Line{Kind: HeaderLine, Header: Header{
			Version: "2", Registry: ipledger.AFRINIC, Serial: "20230323", Records: 15019, EndDate: "2023-03-23", UTCOffset: "00000"}}, ""},
		{"2.3|apnic|20190909|300||20190906|+1000", Line{Kind: HeaderLine, Header: Header{
			Version: "2.3", Registry: ipledger.APNIC, Serial: "20190909", Records: 300, EndDate: "2019-09-06", UTCOffset: "+1000"}}, ""},
		{"2.3|arin|1567951216119|300|19700101|20190908|-0400", Line{Kind: HeaderLine, Header: Header{
			Version: "2.3", Registry: ipledger.ARIN, Serial: "1567951216119", Records: 300, StartDate: "1970-01-01", EndDate: "2019-09-08", UTCOffset: "-0400"}}, ""},
		{"2|ripencc|1404165599|many|19830705|20140630|+0200", Line{Kind: HeaderLine}, "record count"},
		{"2|xyz|1|1|19830705|20140630|+0200", Line{Kind: HeaderLine}, "unknown registry"},
		{"2.3|nro|20230323|5|19830705|20230322|+0000", Line{Kind: HeaderLine, Header: Header{ // the NRO's combined file
			Version: "2.3", Serial: "20230323", Records: 5, StartDate: "1983-07-05", EndDate: "2023-03-22", UTCOffset: "+0000"}}, ""},
		{"2|ripencc|1|1|19830705|20140631|+0200", Line{Kind: HeaderLine}, "end date"},
		{"ripencc|*|ipv4|*|49932|summary", Line{Kind: SummaryLine, Family: ipledger.IPv4, Summary: Summary{Registry: ipledger.RIPENCC, Family: ipledger.IPv4, Count: 49932}}, ""},
		{"iana|*|asn|*|133|summary", Line{Kind: SummaryLine, Family: ipledger.ASN, Summary: Summary{Registry: ipledger.IANA, Family: ipledger.ASN, Count: 133}}, ""},
		{"ripencc|*|ipv7|*|1|summary", Line{Kind: SummaryLine}, "unknown type"},
		{"ripencc|NL|ipv4|*|1|summary", Line{Kind: SummaryLine, Family: ipledger.IPv4}, "want registry|*|type|*|count|summary"},
		{"ripencc|*|ipv4|*|x|summary", Line{Kind: SummaryLine, Family: ipledger.IPv4}, "not a number"},
	} {
		t.Run(c.line, func(t *testing.T) {
			l, err := ParseLine(c.line)
			switch {
			case c.err == "" && err != nil:
				t.Fatal(err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want %q", err, c.err)
			case c.err != "":
				if l.Kind != c.want.Kind {
					t.Fatalf("kind %d, want %d", l.Kind, c.want.Kind)
				}
			case !reflect.DeepEqual(l, c.want):
				t.Fatalf("got  %+v\nwant %+v", l, c.want)
			}
		})
	}
}

func TestRecordUnder(t *testing.T) {
	for line, want := range map[string]string{
		"iana|ZZ|ipv4|3.0.0.0|16777216|19880223|arin":                  ipledger.ARIN,
		"iana|ZZ|ipv4|2.0.0.0|16777216|20090918|ripencc":               ipledger.RIPENCC,
		"iana|ZZ|ipv4|0.0.0.0|16777216|19830101|ietf":                  "",
		"iana|ZZ|ipv6|2001::|23|19990701|iana":                         ipledger.IANA,
		"iana|ZZ|ipv4|5.0.0.0|16777216|20101130|allocated|lacnic|iana": ipledger.LACNIC,
		"iana|ZZ|asn|0|1|19920101|reserved|ietf|iana":                  "",
		"iana|ZZ|asn|23456|1|20011001|allocated|ietf|iana":             "",
		"arin|US|asn|1|1|20010920|assigned|e5e3b9c1":                   "",
	} {
		l, err := ParseLine(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := l.Record.Under(); got != want {
			t.Errorf("%s: Under() = %q, want %q", line, got, want)
		}
	}
}

func TestParseClean(t *testing.T) {
	path := filepath.Join("testdata", "delegated-example-latest")
	f, err := ParseFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Version: "2", Registry: ipledger.AFRINIC, Serial: "20230323", Records: 6, EndDate: "2023-03-23", UTCOffset: "00000", Line: 2}
	if f.Header != want {
		t.Errorf("header %+v, want %+v", f.Header, want)
	}
	if f.Registry != ipledger.AFRINIC || !f.Extended || f.MD5 != "" || len(f.Flaws) != 0 {
		t.Errorf("registry %s extended %v md5 %q flaws %v", f.Registry, f.Extended, f.MD5, f.Flaws)
	}
	if len(f.Summaries) != 3 || f.Summaries[1] != (Summary{Registry: ipledger.AFRINIC, Family: ipledger.IPv4, Count: 2, Line: 4}) {
		t.Errorf("summaries %+v", f.Summaries)
	}
	var got []string
	for _, r := range f.Records {
		got = append(got, r.Resource.String()+"@"+strings.TrimPrefix(r.File, "testdata/")+":"+strconv.Itoa(r.Line))
	}
	wantRecs := "AS1228@delegated-example-latest:6 41.0.0.0-41.0.5.255@delegated-example-latest:8 41.0.6.0/23@delegated-example-latest:9 2c0f:f000::/32@delegated-example-latest:10"
	if strings.Join(got, " ") != wantRecs {
		t.Errorf("records %s\nwant    %s", strings.Join(got, " "), wantRecs)
	}
	if f.NotHoldings != 2 || f.ByStatus[StatusAvailable] != 1 || f.ByStatus[StatusAllocated] != 3 || f.ByFamily[ipledger.IPv6] != 2 {
		t.Errorf("counts: not holdings %d, by status %v, by family %v", f.NotHoldings, f.ByStatus, f.ByFamily)
	}
}

// TestParseFlawed checks every flaw of a file made of flaws against flawed.golden.
func TestParseFlawed(t *testing.T) {
	path := filepath.Join("testdata", "delegated-flawed-latest")
	f, err := ParseFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, fl := range f.Flaws {
		b.WriteString(fl.String() + "\n")
	}
	ipledgertest.Golden(t, filepath.Join("testdata", "flawed.golden"), []byte(b.String()), *update)
	if len(f.Records) != 2 || f.Extended {
		t.Errorf("%d records (want the two good ones), extended %v", len(f.Records), f.Extended)
	}

	// Strict: the first flaw is the error, with its line.
	_, err = ParseFile(path, true)
	var fl Flaw
	if !errors.As(err, &fl) || fl.Line != 6 || fl.File != path {
		t.Fatalf("strict: %v, want the flaw of line 6", err)
	}
}

func TestParseStructure(t *testing.T) {
	for _, c := range []struct {
		name, in string
		flaws    []string
		extended bool
	}{
		{"empty", "", []string{"x: " + noHeader}, false},
		{"only comments", "# nothing\n\n", []string{"x: " + noHeader}, false},
		{"no newline at end", "2|apnic|1|1|||+1000\napnic|JP|asn|173|1|20020801|allocated", nil, false},
		{"version 2.3 without opaque ids", "2.3|apnic|1|1|||+1000\napnic|JP|asn|173|1|20020801|allocated\n", nil, false},
		{"version 2 with opaque ids", "2|afrinic|1|1|||\nafrinic|ZA|asn|1228|1|19910301|allocated|F36B9F4B\n", nil, true},
		{"header after records", "apnic|JP|asn|173|1|20020801|allocated\n2|apnic|1|1|||+1000\n",
			[]string{"x: " + noHeader, "x:2: header line after 1 records"}, false},
		{"two headers", "2|apnic|1|0|||+1000\n2|apnic|1|0|||+1000\n", []string{"x:2: second header line (the first is line 1)"}, false},
		{"record of another registry", "2|apnic|1|1|||+1000\nripencc|NL|asn|3333|1|19930901|allocated\n",
			[]string{"x:2: record of RIPE-NCC in a file of APNIC"}, false},
		{"summary of another registry", "2|apnic|1|0|||+1000\nripencc|*|asn|*|0|summary\nnro|*|asn|*|0|summary\n",
			[]string{"x:2: summary of RIPE-NCC in a file of APNIC", "x:3: summary of NRO in a file of APNIC"}, false},
		{"count mismatch", "2|apnic|1|2|||+1000\napnic|*|asn|*|3|summary\napnic|JP|asn|173|1|20020801|allocated\n",
			[]string{"x:1: header declares 2 records, the file has 1", "x:2: asn summary declares 3 records, the file has 1"}, false},
		{"NRO combined file", "2.3|nro|1|3|||+0000\nnro|*|asn|*|3|summary\narin|US|asn|1|1|20010920|assigned|e5e3\nripencc|EU|asn|7|1|19930901|allocated|87cf\niana|ZZ|asn|0|1|19920101|reserved|ietf|iana\n", nil, true},
		{"bad header", "2|xyz|1|0|||\n", []string{`x:1: header: unknown registry "xyz"`}, false},
		{"bad header and a record", "2|apnic|1|x|||\napnic|JP|asn|173|1|20020801|allocated\n", []string{`x:1: header: record count "x" is not a number`}, false},
		{"long line", "2|apnic|1|1|||+1000\n" + strings.Repeat("x", maxLine+10) + "\n", []string{"x:2: line longer than 65536 bytes"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(c.in), "x", false)
			if err != nil {
				t.Fatal(err)
			}
			checkFlaws(t, f.Flaws, c.flaws...)
			if f.Extended != c.extended {
				t.Errorf("extended %v, want %v", f.Extended, c.extended)
			}
			_, err = Parse(strings.NewReader(c.in), "x", true)
			if (err != nil) != (len(c.flaws) > 0) {
				t.Errorf("strict: %v", err)
			}
		})
	}
}

func TestMD5(t *testing.T) {
	const digest = "1bfba6f0bc86f5082d538b1e82a3904c"
	for _, c := range []struct {
		dir    string
		want   string // the digest confirmed, or part of the error
		mismat bool
	}{
		{"bsd", digest, false},
		{"gnu", digest, false},
		{"bare", digest, false},
		{"multi", digest, false},
		{"wrong", "checksum mismatch", true},
		{"garbled", "unrecognised line", false},
	} {
		t.Run(c.dir, func(t *testing.T) {
			f, err := ParseFile(filepath.Join("testdata", "md5", c.dir, "delegated-example-latest"), false)
			if errors.Is(err, ErrChecksum) != c.mismat {
				t.Fatalf("error %v: errors.Is(ErrChecksum) should be %v", err, c.mismat)
			}
			if err != nil {
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %q, want %q", err, c.want)
				}
				return
			}
			if f.MD5 != c.want {
				t.Fatalf("md5 %q, want %q", f.MD5, c.want)
			}
		})
	}
	// Strict or not, a mismatch is fatal; no .md5 at all is fine.
	if _, err := ParseFile(filepath.Join("testdata", "md5", "wrong", "delegated-example-latest"), true); !errors.Is(err, ErrChecksum) {
		t.Errorf("strict: %v", err)
	}
	if f, err := ParseFile(filepath.Join("testdata", "delegated-example-latest"), true); err != nil || f.MD5 != "" {
		t.Errorf("no .md5: %v, md5 %q", err, f.MD5)
	}
}

func TestParseDir(t *testing.T) {
	files, err := ParseDir(filepath.Join("testdata", "md5", "bsd"), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].MD5 == "" {
		t.Fatalf("files %+v", files)
	}
	if _, err := ParseDir(filepath.Join("testdata", "md5", "wrong"), false); !errors.Is(err, ErrChecksum) {
		t.Fatalf("wrong checksum: %v", err)
	}
	if _, err := ParseDir(filepath.Join("testdata", "nowhere"), false); err == nil {
		t.Fatal("missing folder parsed")
	}
}

// TestRegistryWords: the format's registry words name exactly the root's registries, each
// both ways.
func TestRegistryWords(t *testing.T) {
	if len(registryWords) != len(ipledger.Registries) {
		t.Errorf("%d registry words for %d registries", len(registryWords), len(ipledger.Registries))
	}
	for _, h := range ipledger.Registries {
		w := RegistryWord(h)
		if got, ok := RegistryHandle(w); w == "" || !ok || got != h {
			t.Errorf("%s: word %q, its handle %q %v", h, w, got, ok)
		}
	}
}

// TestHeaderDate reads the date of the real files' headers: the later of the end date and
// the serial as a date, in the header's UTC offset.
func TestHeaderDate(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"2|afrinic|20140630|4024|00000000|20140630|00000", "2014-06-30"},
		{"2|apnic|20140701|33307|19850701|20140630|+1000", "2014-07-01"},     // published the day after
		{"2|lacnic|20140629|15783|19870101|20140627|-0300", "2014-06-29"},    // likewise, two days
		{"2|ripencc|1404165599|85681|19830705|20140630|+0200", "2014-06-30"}, // 21:59:59 UTC is 23:59:59 +0200
		{"2|iana|20190911|973|19830101|20190612|+0000", "2019-09-11"},        // IANA's end date is its latest change
		{"2.3|arin|1567951216119|300|19700101|20190908|-0400", "2019-09-08"}, // milliseconds
		{"2.3|arin|1567915199000|300|19700101|20190907|-0400", "2019-09-07"}, // 03:59:59 UTC is the day before at -0400
		{"2|apnic|42|1|||+1000", ""},                                         // a counter, no end date
		{"2|apnic|42|1||20190906|+1000", "2019-09-06"},
		{"2|apnic|20191301|1||20190906|+1000", "2019-09-06"}, // no such serial day
		{"2.3|apnic|20190909|300||20190906|+1000", "2019-09-09"},
		{"2|ripencc|1567979999|300|19830705|20190908|bogus", "2019-09-08"}, // UTC when the offset is unreadable
	} {
		l, err := ParseLine(c.header)
		if err != nil || l.Kind != HeaderLine {
			t.Fatalf("%s: %v", c.header, err)
		}
		if got := l.Header.Date(); got != c.want {
			t.Errorf("%s: Date() = %q, want %q", c.header, got, c.want)
		}
	}
}

func dated(path, header string) *File {
	l, _ := ParseLine(header)
	return &File{Path: path, Header: l.Header}
}

// TestCheckDates: files within a week of each other are of one date; others are refused,
// naming every file with its date. Every real date folder is of one date.
func TestCheckDates(t *testing.T) {
	afrinic14 := dated("a/afrinic", "2|afrinic|20140630|4024|00000000|20140630|00000")
	lacnic14 := dated("a/lacnic", "2|lacnic|20140629|15783|19870101|20140627|-0300")
	apnic24 := dated("b/apnic", "2|apnic|20241109|80145|19830613|20241108|+1000")
	undated := dated("c/apnic", "2|apnic|42|1|||+1000")
	weekLater := dated("d/ripencc", "2|ripencc|1404770399|1|19830705|20140707|+0200") // 2014-07-07 23:59:59 +0200
	eightDays := dated("d/ripencc", "2|ripencc|1404856799|1|19830705|20140708|+0200")
	for _, c := range []struct {
		name  string
		files []*File
		want  string // "" for one date
	}{
		{"none", nil, ""},
		{"one", []*File{apnic24}, ""},
		{"one undated", []*File{undated}, ""},
		{"one date folder", []*File{afrinic14, lacnic14}, ""},
		{"a week apart", []*File{afrinic14, weekLater}, ""},
		{"eight days apart", []*File{afrinic14, eightDays}, "files of different dates, 2014-06-30 to 2014-07-08, more than 7 days apart: a/afrinic 2014-06-30, d/ripencc 2014-07-08"},
		{"ten years apart", []*File{afrinic14, apnic24, lacnic14},
			"files of different dates, 2014-06-29 to 2024-11-09, more than 7 days apart: a/afrinic 2014-06-30, b/apnic 2024-11-09, a/lacnic 2014-06-29"},
		{"undated among dated", []*File{afrinic14, undated}, "files of different dates (a file without a date cannot be checked): a/afrinic 2014-06-30, c/apnic no date"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDates(c.files)
			switch {
			case c.want == "" && err != nil:
				t.Fatal(err)
			case c.want != "" && (!errors.Is(err, ErrMixedDates) || err.Error() != c.want):
				t.Fatalf("%v\nwant ErrMixedDates: %s", err, c.want)
			}
		})
	}
	// Every real date folder is one date; two folders are not.
	dirs := dateDirs(t)
	var all []*File
	for _, dir := range dirs {
		files, err := ParseDir(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckDates(files); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
		all = append(all, files...)
	}
	if len(dirs) > 1 {
		if err := CheckDates(all); !errors.Is(err, ErrMixedDates) {
			t.Errorf("every folder together: %v", err)
		}
	}
}
