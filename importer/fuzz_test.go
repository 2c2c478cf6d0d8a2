package importer

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// seedLines are lines of every form, for fuzzing when the real files are not there.
var seedLines = []string{
	"2|afrinic|20230323|15019|00000000|20230323|00000",
	"2.3|arin|1567951216119|300|19700101|20190908|-0400",
	"ripencc|*|ipv4|*|49932|summary",
	"# comment",
	"",
	"ripencc|FR|ipv4|2.0.0.0|1048576|20100712|allocated",
	"apnic|AU|ipv4|1.0.0.0|768|20110811|assigned",
	"lacnic|BR|ipv6|2001:1280::|32|20020909|allocated",
	"afrinic|ZA|asn|1228|1|19910301|allocated|F36B9F4B",
	"afrinic|ZZ|asn|5536|1||available|",
	"arin|US|asn|3|1|00000000|assigned|d98c567cda2db06e693f2b574eafe848",
	"ripencc|EU|asn|7|1|19930901|allocated|87cfacbc-5809-4ddd-a668-06393fbd23d6",
	"lacnic||ipv4|177.39.96.0|1024||available",
	"iana|ZZ|asn|4200000000|94967295|20130607|ietf",
	"iana|ZZ|ipv6|2001:0200::|23|19990701|allocated|apnic|iana",
	"iana|ZZ|ipv4|45.64.0.0|69632|20140521|apnic",
	"|3|19990401|arin",
	"ripencc|NL|ipv4|255.255.255.0|257|19930901|allocated",
	"ripencc|NL|ipv6|2001:db8::1|32|19930901|allocated",
}

// realLines returns up to n lines of each real file (every tenth one after the first 40).
func realLines(tb testing.TB, n int) []string {
	paths, _ := filepath.Glob(filepath.Join(ipledgertest.DataPath("delegated"), "*", "*"))
	var out []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".md5") {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for i, k := 0, 0; sc.Scan() && k < n; i++ {
			if i < 40 || i%10 == 0 {
				out = append(out, sc.Text())
				k++
			}
		}
		f.Close()
	}
	return out
}

// FuzzParseLine checks ParseLine never panics and that what it accepts is what it means: a
// record formats back to a line that parses to the same record, its resource's text form
// parses back to the same resource, and only known words come out.
func FuzzParseLine(f *testing.F) {
	for _, l := range seedLines {
		f.Add(l)
	}
	for _, l := range realLines(f, 60) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		l, err := ParseLine(line)
		if err != nil {
			if l.Kind == BlankLine {
				t.Fatalf("error %v for a blank line", err)
			}
			return
		}
		switch l.Kind {
		case RecordLine:
			r := l.Record
			if !r.Resource.IsValid() || r.Resource.Family() != l.Family {
				t.Fatalf("record %+v with family %s", r, l.Family)
			}
			back, err := ipledger.ParseResource(r.Resource.String())
			if err != nil || back != r.Resource {
				t.Fatalf("resource %s reads back as %s, %v", r.Resource, back, err)
			}
			if RegistryWord(r.Registry) == "" {
				t.Fatalf("registry %q", r.Registry)
			}
			if r.Date != "" && len(r.Date) != len("2006-01-02") {
				t.Fatalf("date %q", r.Date)
			}
			if r.Country != "" && !ipledger.ValidCountry(r.Country) {
				t.Fatalf("country %q", r.Country)
			}
			if r.Resource.Family() == ipledger.IPv6 {
				if _, ok := r.Resource.Prefix(); !ok {
					t.Fatalf("IPv6 record %s is not a prefix", r.Resource)
				}
			}
			again, err := ParseLine(r.Format())
			if err != nil || !reflect.DeepEqual(again.Record, r) {
				t.Fatalf("%q formats as %q, which reads back as %+v, %v", line, r.Format(), again.Record, err)
			}
		case HeaderLine:
			if RegistryWord(l.Header.Registry) == "" || l.Header.Records < 0 {
				t.Fatalf("header %+v", l.Header)
			}
		case SummaryLine:
			if RegistryWord(l.Summary.Registry) == "" || l.Summary.Family == 0 || l.Summary.Count < 0 {
				t.Fatalf("summary %+v", l.Summary)
			}
		}
	})
}

// FuzzParse checks whole inputs: no error but from reading or for over 10,000 flaws
// (ErrUnreadable), strict fails exactly when lenient finds a flaw, the counts agree, and
// every record is on its own line in order.
func FuzzParse(f *testing.F) {
	f.Add([]byte(strings.Join(seedLines, "\n")))
	f.Add([]byte("2|apnic|1|1|||+1000\napnic|*|asn|*|1|summary\napnic|JP|asn|173|1|20020801|allocated\n"))
	f.Add([]byte("2|apnic|1|1|||+1000\r\napnic|JP|asn|173|1|20020801|allocated"))
	if b, err := os.ReadFile(filepath.Join("testdata", "delegated-flawed-latest")); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "delegated-example-latest")); err == nil {
		f.Add(b)
	}
	if lines := realLines(f, 8); len(lines) > 0 {
		f.Add([]byte(strings.Join(lines, "\n")))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := Parse(strings.NewReader(string(in)), "in", false)
		if errors.Is(err, ErrUnreadable) && strings.Count(string(in), "\n") >= maxFlaws-8 {
			return // over 10,000 flaws: a flaw a line, and a few of the whole file
		}
		if err != nil {
			t.Fatalf("lenient: %v", err)
		}
		_, serr := Parse(strings.NewReader(string(in)), "in", true)
		var fl Flaw
		switch {
		case len(file.Flaws) == 0 && serr != nil:
			t.Fatalf("strict: %v; lenient found no flaw", serr)
		case len(file.Flaws) > 0 && !errors.As(serr, &fl):
			t.Fatalf("strict: %v; lenient found %v", serr, file.Flaws)
		}
		total := 0
		for _, n := range file.ByStatus {
			total += n
		}
		if total != len(file.Records)+file.NotHoldings || len(file.Spare) != file.NotHoldings {
			t.Fatalf("%d records by status, %d kept + %d not holdings (%d spare)", total, len(file.Records), file.NotHoldings, len(file.Spare))
		}
		last := 0
		for _, r := range file.Records {
			if r.Line <= last || r.File != "in" || (file.Registry != "" && r.Registry != file.Registry) {
				t.Fatalf("record %+v after line %d", r, last)
			}
			last = r.Line
		}
	})
}
