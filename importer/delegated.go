package importer

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// Status words of delegated-statistics records. An RIR's file uses the first four; IANA's
// file (delegated-iana-latest) names, as the status, the registry a block is under: one of
// the RIR words, "ietf" (special-purpose space) or "iana" (IANA's own).
const (
	StatusAllocated = "allocated"
	StatusAssigned  = "assigned"
	StatusAvailable = "available"
	StatusReserved  = "reserved"
	StatusIETF      = "ietf"
	StatusIANA      = "iana"
)

// registryWords maps the registry words of the format to ledger handles.
var registryWords = map[string]string{
	"afrinic": ipledger.AFRINIC,
	"apnic":   ipledger.APNIC,
	"arin":    ipledger.ARIN,
	"lacnic":  ipledger.LACNIC,
	"ripencc": ipledger.RIPENCC,
	"iana":    ipledger.IANA,
}

// RegistryHandle returns the ledger handle of a registry word of the format ("ripencc" is
// "RIPE-NCC"), and false for any other word.
func RegistryHandle(word string) (string, bool) {
	h, ok := registryWords[word]
	return h, ok
}

// RegistryWord is the inverse of RegistryHandle; it returns "" for an unknown handle.
func RegistryWord(handle string) string {
	for w, h := range registryWords {
		if h == handle {
			return w
		}
	}
	return ""
}

// Record is one record line: a block of number space, who recorded it and its status.
// Records of parsed files are always valid; the zero Record is not.
type Record struct {
	Registry   string            // ledger handle: AFRINIC, APNIC, ARIN, LACNIC, RIPE-NCC or IANA
	Country    string            // ISO 3166 code as the registry wrote it ("ZZ", "EU" occur), or ""
	Resource   ipledger.Resource // IPv4 range, IPv6 prefix or AS range
	Date       string            // registration date as YYYY-MM-DD, "" when the file has none
	Status     string            // the status word as written, lower case
	OpaqueID   string            // extended format: the holder's opaque id, "" otherwise
	Extensions []string          // extended format: fields after the opaque id, nil if none
	File       string            // name of the file the record came from
	Line       int               // line number in that file, from 1
}

// Holding reports whether r records a holding: an RIR's allocated or assigned block.
func (r *Record) Holding() bool {
	return r.Registry != ipledger.IANA && (r.Status == StatusAllocated || r.Status == StatusAssigned)
}

// Under returns, for a record of IANA's file, the handle of the registry the block is
// under: an RIR, or IANA for "iana". It returns "" for IETF special-purpose space and for
// records that designate nothing (available, reserved, and every RIR record).
//
// IANA's plain file says it in the status ("arin"); its extended form says "allocated" and
// names the registry in the opaque-id field ("allocated|arin|iana").
func (r *Record) Under() string {
	if r.Registry != ipledger.IANA {
		return ""
	}
	w := r.Status
	if w == StatusAllocated || w == StatusAssigned {
		w = r.OpaqueID
	}
	if w == StatusIETF {
		return ""
	}
	h, _ := RegistryHandle(w)
	return h
}

// Format returns r as a record line of the format, which ParseLine reads back to the same
// record (less File and Line). The value field is a count of addresses for IPv4, a prefix
// length for IPv6 and a count of AS numbers for ASN.
func (r *Record) Format() string {
	var b strings.Builder
	b.WriteString(RegistryWord(r.Registry))
	b.WriteByte('|')
	b.WriteString(r.Country)
	b.WriteByte('|')
	b.WriteString(r.Resource.Family().String())
	b.WriteByte('|')
	switch r.Resource.Family() {
	case ipledger.IPv4:
		n, _ := r.Resource.Size()
		b.WriteString(r.Resource.FirstAddr().String())
		b.WriteByte('|')
		b.WriteString(strconv.FormatUint(n, 10))
	case ipledger.IPv6:
		p, _ := r.Resource.Prefix()
		b.WriteString(p.Addr().String())
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(p.Bits()))
	case ipledger.ASN:
		n, _ := r.Resource.Size()
		b.WriteString(strconv.FormatUint(uint64(r.Resource.FirstAS()), 10))
		b.WriteByte('|')
		b.WriteString(strconv.FormatUint(n, 10))
	}
	b.WriteByte('|')
	b.WriteString(strings.ReplaceAll(r.Date, "-", ""))
	b.WriteByte('|')
	b.WriteString(r.Status)
	if r.OpaqueID != "" || len(r.Extensions) > 0 {
		b.WriteByte('|')
		b.WriteString(r.OpaqueID)
		for _, e := range r.Extensions {
			b.WriteByte('|')
			b.WriteString(e)
		}
	}
	return b.String()
}

// Header is a file's version line: version|registry|serial|records|startdate|enddate|UTCoffset.
type Header struct {
	Version   string // "2" or "2.3"; AFRINIC's extended files say 2, so it says nothing of the format
	Registry  string // ledger handle; "" for the NRO's combined file ("nro")
	Serial    string // as written: a date, or Unix time in seconds (RIPE NCC) or milliseconds (ARIN)
	Records   int    // the record count the header declares
	StartDate string // YYYY-MM-DD or ""
	EndDate   string // YYYY-MM-DD or ""
	UTCOffset string // as written, e.g. "+1000" or "00000"
	Line      int    // line number, 0 if the file has no header
}

// Date returns the day the file gives the registry's data as of, as YYYY-MM-DD, or "" when
// the header has no date: the later of the end date and the serial read as a date. The
// RIRs' serial is the day of publication, written as YYYYMMDD (AFRINIC, APNIC, LACNIC,
// IANA) or as Unix time in seconds (RIPE NCC) or milliseconds (ARIN), read here in the
// header's UTC offset; the end date is the same day or the one before, except in IANA's
// file, where it is the day of the latest change, months back. A serial that is no date
// (the format allows a counter) is ignored.
func (h Header) Date() string {
	return max(h.EndDate, serialDate(h.Serial, h.UTCOffset))
}

// serialDate reads a serial as a date, "" if it is none.
func serialDate(serial, offset string) string {
	n, ok := ipledger.ParseDigits([]byte(serial), math.MaxUint64)
	if !ok {
		return ""
	}
	var t time.Time
	switch len(serial) {
	case 8:
		p := lineParser{}
		d, err := p.date([]byte(serial))
		if err != nil {
			return ""
		}
		return d
	case 10:
		t = time.Unix(int64(n), 0)
	case 13:
		t = time.UnixMilli(int64(n))
	default:
		return ""
	}
	return t.In(utcOffset(offset)).Format(time.DateOnly)
}

// utcOffset reads a header's UTC offset, "+1000", "-0300", "+0000" or "00000"; UTC for
// anything else.
func utcOffset(s string) *time.Location {
	sign := 1
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	}
	n, ok := ipledger.ParseDigits([]byte(s), math.MaxUint64)
	if !ok || len(s) != 4 || n%100 >= 60 || n/100 > 14 {
		return time.UTC
	}
	return time.FixedZone("", sign*int(n/100*3600+n%100*60))
}

// DateSpread is how far apart the dates (Header.Date) of files of one date may lie: the
// RIRs write their files each day in their own time zones and a mirror fetches them on
// different days, so one date's files are days apart (the real 2019-09 samples: ARIN,
// LACNIC and RIPE NCC of the 8th, IANA of the 11th).
const DateSpread = 7 * 24 * time.Hour

// ErrMixedDates means files of different dates were given as one date. Check for it with
// errors.Is.
var ErrMixedDates = errors.New("files of different dates")

// CheckDates reports whether files are of one date: their dates (Header.Date) lie within
// DateSpread of each other. It fails, wrapping ErrMixedDates and naming every file with
// its date, when they do not, or when one of several files has no date. One file, or
// none, is always of one date.
func CheckDates(files []*File) error {
	if len(files) < 2 {
		return nil
	}
	var first, last string
	undated := false
	for _, f := range files {
		d := f.Header.Date()
		switch {
		case d == "":
			undated = true
		case first == "":
			first, last = d, d
		default:
			first, last = min(first, d), max(last, d)
		}
	}
	if !undated {
		a, _ := time.Parse(time.DateOnly, first)
		b, _ := time.Parse(time.DateOnly, last)
		if b.Sub(a) <= DateSpread {
			return nil
		}
	}
	var b strings.Builder
	for i, f := range files {
		if i > 0 {
			b.WriteString(", ")
		}
		d := f.Header.Date()
		if d == "" {
			d = "no date"
		}
		fmt.Fprintf(&b, "%s %s", f.Path, d)
	}
	if undated {
		return fmt.Errorf("%w (a file without a date cannot be checked): %s", ErrMixedDates, b.String())
	}
	return fmt.Errorf("%w, %s to %s, more than %d days apart: %s", ErrMixedDates, first, last, int(DateSpread.Hours()/24), b.String())
}

// Summary is a summary line: registry|*|type|*|count|summary.
type Summary struct {
	Registry string
	Family   ipledger.Family
	Count    int
	Line     int
}

// LineKind says what a line of a delegated file is.
type LineKind uint8

// Kinds of line.
const (
	BlankLine   LineKind = iota // empty, blank or a comment ('#')
	HeaderLine                  // the version line
	SummaryLine                 // a per-type summary
	RecordLine                  // anything else: a record, good or bad
)

// Line is one parsed line. Only the part its Kind names is set.
type Line struct {
	Kind    LineKind
	Family  ipledger.Family // of a record or summary line, when its type field is known
	Header  Header
	Summary Summary
	Record  Record
}

// Flaw is a problem with one line of a file (Line 0: with the file as a whole). The line is
// skipped and the rest of the file is read. A Flaw is also the error strict parsing returns:
// test for it with errors.As.
type Flaw struct {
	File string
	Line int
	Msg  string
}

// String returns "file:line: message".
func (f Flaw) String() string {
	if f.Line == 0 {
		return f.File + ": " + f.Msg
	}
	return f.File + ":" + strconv.Itoa(f.Line) + ": " + f.Msg
}

// Error implements error with String.
func (f Flaw) Error() string { return f.String() }

// File is a parsed delegated-statistics file.
type File struct {
	Path string
	// Registry is the ledger handle of the header's registry (of the first record if there
	// is no header), or "" for the NRO's combined file, whose records are of every registry.
	Registry string
	Header   Header
	// Extended reports whether any record carries an opaque-id (eight fields or more): the
	// extended format. The header version does not tell.
	Extended  bool
	Records   []Record // every good record except available and reserved ones
	Summaries []Summary
	// NotHoldings counts the good records that are available or reserved space, which are
	// kept in Spare, not Records.
	NotHoldings int
	// Spare holds the good records that are available or reserved space: an RIR's become
	// pool space of that status (PlanImport), IANA's are left as genesis has them.
	Spare []Record
	// ByFamily and ByStatus count every good record, NotHoldings included.
	ByFamily map[ipledger.Family]int
	ByStatus map[string]int
	Flaws    []Flaw
	MD5      string // the digest a .md5 file beside it confirmed, "" if there was none
}

const noHeader = "no header line (version|registry|serial|records|startdate|enddate|UTCoffset)"

// maxLine bounds a line; real ones are under 200 bytes.
const maxLine = 64 << 10

// maxFlaws bounds the flaws of one file; the real files have a handful. A file with more
// is not read as delegated statistics (ErrUnreadable), so that neither a file of another
// kind nor a decompression bomb of short bad lines holds a flaw per line in memory.
const maxFlaws = 10_000

// ErrUnreadable means a file is not readable as delegated statistics: it yields no record
// and has flaws (every line is one, as in a compressed file of another kind, a web page or
// an empty download), or has more than 10,000 flaws. Check for it with errors.Is.
var ErrUnreadable = errors.New("not readable as delegated statistics")

// ParseFile reads and parses the file at path, plain or compressed with gzip or bzip2 (told
// by its first bytes, whatever its name): at most MaxFileBytes of text, or it fails with an
// error wrapping ErrTooLarge. Line numbers in flaws and records count lines of the text.
//
// If path+".md5" exists, the MD5 digest of the file as stored (compressed, if it is) must
// match it, or ParseFile fails with an error wrapping ErrChecksum, which comes before any
// other. A file that yields no record and has flaws (a header declaring no records and
// nothing else is fine), or has more than 10,000 flaws, fails with an error wrapping
// ErrUnreadable. With strict, the first flaw is returned as the error (a Flaw).
func ParseFile(path string, strict bool) (*File, error) {
	want, err := wantMD5(path)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read delegated statistics: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read delegated statistics: %w", err)
	}
	if st.Mode().IsRegular() && st.Size() > maxFileBytes {
		return nil, fmt.Errorf("read %s: %w: %d bytes, over %s, the limit of one file", path, ErrTooLarge, st.Size(), sizeText(maxFileBytes))
	}
	var in io.Reader = fh
	h := md5.New()
	if want != "" {
		in = io.TeeReader(fh, h)
	}
	f, perr := parseStream(in, path, strict, st.Size())
	if want != "" {
		// The digest is of every byte: read what the parser left (a compressed stream's
		// trailer, the rest after a strict stop), bounded in case path is no regular file.
		if _, err := io.Copy(io.Discard, io.LimitReader(in, maxFileBytes)); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if err := checkMD5(path, want, h); err != nil {
			return nil, err // a corrupt download explains any flaw
		}
	}
	if perr != nil {
		return nil, perr
	}
	if err := f.readable(); err != nil {
		return nil, err
	}
	f.MD5 = want
	return f, nil
}

// ParseDir parses every data file in dir (one date's files), in name order: every regular
// file except hidden ones and .md5, .asc and .sig files, plain or compressed as ParseFile
// reads them. It fails on the first file ParseFile fails on.
func ParseDir(dir string, strict bool) ([]*File, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read delegated statistics: %w", err)
	}
	var out []*File
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		switch filepath.Ext(name) {
		case ".md5", ".asc", ".sig":
			continue
		}
		f, err := ParseFile(filepath.Join(dir, name), strict)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Parse parses a delegated-statistics file read from r, plain or compressed as ParseFile
// reads it, bounded the same way; name is used in flaws and records. It returns an error
// only for a failure to read (ErrTooLarge included), for more than 10,000 flaws
// (ErrUnreadable), or with strict for the first flaw. Unlike ParseFile it accepts a file
// of nothing but flaws.
func Parse(r io.Reader, name string, strict bool) (*File, error) {
	return parseStream(r, name, strict, 0)
}

// parseStream decompresses r if it is compressed and parses at most maxFileBytes of its
// text. size is r's stored size when known (else 0), to size the records at once.
func parseStream(r io.Reader, name string, strict bool, size int64) (*File, error) {
	br := bufio.NewReaderSize(r, maxLine) // parse's own reader: NewReaderSize returns br
	text, comp, err := decompress(br)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if comp != "" {
		// A typical ratio, to size the records; append grows them past it.
		size *= 8
	}
	size = min(size, maxFileBytes)
	return parse(&boundedReader{r: text, left: maxFileBytes, limit: maxFileBytes, comp: comp}, name, strict, int(size))
}

// readable fails, wrapping ErrUnreadable, for a file that yields no record and has flaws.
func (f *File) readable() error {
	if len(f.Records)+f.NotHoldings > 0 || len(f.Flaws) == 0 {
		return nil
	}
	n := len(f.Flaws)
	what := "flaws"
	if n == 1 {
		what = "flaw"
	}
	return fmt.Errorf("%s: %w: no records, %d %s (the first: %s)", f.Path, ErrUnreadable, n, what, f.Flaws[0])
}

// minRecordBytes is the length of the shortest record line, "x||asn|0|1||x\n" and its kin:
// a file of n bytes has fewer than n/minRecordBytes records.
const minRecordBytes = 14

// parse is Parse with the input's size when known (else 0), to size the records at once.
func parse(r io.Reader, name string, strict bool, size int) (*File, error) {
	f := &File{Path: name, ByFamily: map[ipledger.Family]int{}, ByStatus: map[string]int{}}
	p := newLineParser()
	br := bufio.NewReaderSize(r, maxLine)
	var (
		lineNo    int
		lines     int    // record lines, good or bad
		combined  bool   // the NRO's file of every registry
		badHeader bool   // a header line that did not parse
		perFamily [4]int // record lines per type field
		stop      error
	)
	flaw := func(line int, format string, args ...any) {
		fl := Flaw{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
		if len(f.Flaws) == maxFlaws && stop == nil {
			stop = fmt.Errorf("%s: %w: over %d flaws (the first: %s)", name, ErrUnreadable, maxFlaws, f.Flaws[0])
			return
		}
		f.Flaws = append(f.Flaws, fl)
		if strict && stop == nil {
			stop = fl
		}
	}
	for stop == nil {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			lineNo++
			lines++
			flaw(lineNo, "line longer than %d bytes", maxLine)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if len(b) == 0 && err == io.EOF {
			break
		}
		lineNo++
		l, perr := p.parse(b)
		switch l.Kind {
		case HeaderLine:
			switch {
			case perr != nil:
				flaw(lineNo, "header: %v", perr)
				badHeader = true
			case f.Header.Line != 0:
				flaw(lineNo, "second header line (the first is line %d)", f.Header.Line)
			case lines > 0:
				flaw(lineNo, "header line after %d records", lines)
			default:
				l.Header.Line = lineNo
				f.Header = l.Header
				f.Registry = l.Header.Registry
				combined = f.Registry == ""
				if size > 0 && f.Records == nil {
					f.Records = make([]Record, 0, min(f.Header.Records, size/minRecordBytes))
				}
			}
		case SummaryLine:
			switch {
			case perr != nil:
				flaw(lineNo, "summary: %v", perr)
			case l.Summary.Registry != f.Registry && !(f.Registry == "" && !combined):
				flaw(lineNo, "summary of %s in a file of %s", regName(l.Summary.Registry), regName(f.Registry))
			default:
				dup := false
				for _, s := range f.Summaries {
					if s.Family == l.Summary.Family {
						flaw(lineNo, "second %s summary (the first is line %d)", s.Family, s.Line)
						dup = true
					}
				}
				if !dup {
					l.Summary.Line = lineNo
					f.Summaries = append(f.Summaries, l.Summary)
				}
			}
		case RecordLine:
			lines++
			perFamily[famIndex(l.Family)]++
			rec := &l.Record
			switch {
			case perr != nil:
				flaw(lineNo, "%v", perr)
			case f.Registry != "" && rec.Registry != f.Registry:
				flaw(lineNo, "record of %s in a file of %s", rec.Registry, f.Registry)
			default:
				if f.Registry == "" && !combined {
					f.Registry = rec.Registry
				}
				if p.fields >= 8 {
					f.Extended = true
				}
				f.ByFamily[rec.Resource.Family()]++
				f.ByStatus[rec.Status]++
				rec.File, rec.Line = name, lineNo
				if rec.Status == StatusAvailable || rec.Status == StatusReserved {
					f.NotHoldings++
					f.Spare = append(f.Spare, *rec)
					break
				}
				f.Records = append(f.Records, *rec)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if stop == nil {
		switch {
		case f.Header.Line == 0:
			if !badHeader {
				flaw(0, "%s", noHeader)
			}
		case f.Header.Records != lines:
			flaw(f.Header.Line, "header declares %d records, the file has %d", f.Header.Records, lines)
		}
	}
	for _, s := range f.Summaries {
		if stop != nil {
			break
		}
		if n := perFamily[famIndex(s.Family)]; n != s.Count {
			flaw(s.Line, "%s summary declares %d records, the file has %d", s.Family, s.Count, n)
		}
	}
	if stop != nil {
		return nil, stop
	}
	sortFlaws(f.Flaws)
	return f, nil
}

// ParseLine parses one line of a delegated file without its context: a comment or blank
// line, the header, a summary or a record. For a bad line it returns the error with the
// Kind the line would have (RecordLine for anything unrecognisable).
func ParseLine(s string) (Line, error) {
	p := lineParser{}
	return p.parse([]byte(s))
}

// lineParser parses lines and interns the strings many records share (dates, countries,
// opaque ids), so a file of 10^5 records does not hold 10^5 copies of each.
type lineParser struct {
	intern map[string]string
	fields int // field count of the last record line
}

func newLineParser() *lineParser { return &lineParser{intern: map[string]string{}} }

func (p *lineParser) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if p.intern == nil {
		return string(b)
	}
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.intern) < 1<<20 {
		p.intern[s] = s
	}
	return s
}

const maxFields = 16

func (p *lineParser) parse(b []byte) (Line, error) {
	b = bytes.TrimRight(b, " \t\r\n")
	p.fields = 0
	if t := bytes.TrimLeft(b, " \t"); len(t) == 0 || t[0] == '#' {
		return Line{Kind: BlankLine}, nil
	}
	var fs [maxFields][]byte
	n := 0
	for rest := b; ; {
		i := bytes.IndexByte(rest, '|')
		if n == maxFields {
			return Line{Kind: RecordLine}, fmt.Errorf("more than %d fields", maxFields)
		}
		if i < 0 {
			fs[n] = rest
			n++
			break
		}
		fs[n] = rest[:i]
		n++
		rest = rest[i+1:]
	}
	f := fs[:n]
	switch {
	case n == 6 && string(f[5]) == "summary":
		l := Line{Kind: SummaryLine, Family: family(f[2])}
		s, err := p.summary(f)
		l.Summary = s
		return l, err
	case n == 7 && isVersion(f[0]):
		h, err := p.header(f)
		return Line{Kind: HeaderLine, Header: h}, err
	}
	l := Line{Kind: RecordLine}
	if n >= 3 {
		l.Family = family(f[2])
	}
	if err := checkText(b); err != nil {
		return l, err
	}
	if n < 7 {
		return l, fmt.Errorf("truncated record %.80q: %d fields, want 7 (registry|cc|type|start|value|date|status)", b, n)
	}
	p.fields = n
	rec, err := p.record(f, l.Family)
	if err != nil {
		return l, err
	}
	l.Record = rec
	return l, nil
}

// checkText rejects control characters and invalid UTF-8 in a record line: they cannot be
// stored and shown faithfully.
func checkText(b []byte) error {
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("control character %#02x at column %d", c, i+1)
		}
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("invalid UTF-8")
	}
	return nil
}

func isVersion(b []byte) bool {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return false
	}
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func family(b []byte) ipledger.Family {
	switch string(b) {
	case "ipv4":
		return ipledger.IPv4
	case "ipv6":
		return ipledger.IPv6
	case "asn":
		return ipledger.ASN
	}
	return 0
}

func registry(b []byte) (string, error) {
	h, ok := registryWords[string(b)]
	if !ok {
		return "", fmt.Errorf("unknown registry %q", b)
	}
	return h, nil
}

// regName names a registry handle in messages, "" being the NRO's combined file.
func regName(h string) string {
	if h == "" {
		return "NRO"
	}
	return h
}

// fileRegistry reads the registry of a header or summary line: a registry's word, or "nro"
// (the NRO's combined file of every registry's records) as "".
func fileRegistry(b []byte) (string, error) {
	if string(b) == "nro" {
		return "", nil
	}
	return registry(b)
}

func (p *lineParser) header(f [][]byte) (Header, error) {
	reg, err := fileRegistry(f[1])
	if err != nil {
		return Header{}, err
	}
	n, ok := ipledger.ParseDigits(f[3], 1<<40)
	if !ok {
		return Header{}, fmt.Errorf("record count %q is not a number", f[3])
	}
	start, err := p.date(f[4])
	if err != nil {
		return Header{}, fmt.Errorf("start date: %w", err)
	}
	end, err := p.date(f[5])
	if err != nil {
		return Header{}, fmt.Errorf("end date: %w", err)
	}
	if err := checkText(bytes.Join(f, nil)); err != nil {
		return Header{}, err
	}
	return Header{
		Version: string(f[0]), Registry: reg, Serial: string(f[2]), Records: int(n),
		StartDate: start, EndDate: end, UTCOffset: string(f[6]),
	}, nil
}

func (p *lineParser) summary(f [][]byte) (Summary, error) {
	reg, err := fileRegistry(f[0])
	if err != nil {
		return Summary{}, err
	}
	if string(f[1]) != "*" || string(f[3]) != "*" {
		return Summary{}, fmt.Errorf("want registry|*|type|*|count|summary")
	}
	fam := family(f[2])
	if fam == 0 {
		return Summary{}, fmt.Errorf("unknown type %q", f[2])
	}
	n, ok := ipledger.ParseDigits(f[4], 1<<40)
	if !ok {
		return Summary{}, fmt.Errorf("count %q is not a number", f[4])
	}
	return Summary{Registry: reg, Family: fam, Count: int(n)}, nil
}

// record parses registry|cc|type|start|value|date|status[|opaque-id[|extensions…]].
func (p *lineParser) record(f [][]byte, fam ipledger.Family) (Record, error) {
	var r Record
	var err error
	if r.Registry, err = registry(f[0]); err != nil {
		return Record{}, err
	}
	if r.Country, err = p.country(f[1]); err != nil {
		return Record{}, err
	}
	if r.Resource, err = resource(fam, f[2], f[3], f[4]); err != nil {
		return Record{}, err
	}
	if r.Date, err = p.date(f[5]); err != nil {
		return Record{}, err
	}
	if r.Status, err = status(f[6], r.Registry); err != nil {
		return Record{}, err
	}
	if len(f) >= 8 {
		r.OpaqueID = p.str(f[7])
		for _, e := range f[8:] {
			r.Extensions = append(r.Extensions, p.str(e))
		}
	}
	if r.Registry == ipledger.IANA && (r.Status == StatusAllocated || r.Status == StatusAssigned) {
		if _, ok := RegistryHandle(r.OpaqueID); !ok && r.OpaqueID != StatusIETF {
			return Record{}, fmt.Errorf("IANA record with status %s names no registry (%q)", r.Status, r.OpaqueID)
		}
	}
	return r, nil
}

func (p *lineParser) country(b []byte) (string, error) {
	switch {
	case len(b) == 0:
		return "", nil
	case len(b) == 2 && isLetter(b[0]) && isLetter(b[1]):
		if b[0] >= 'a' || b[1] >= 'a' {
			return string(bytes.ToUpper(b)), nil
		}
		return p.str(b), nil
	}
	return "", fmt.Errorf("bad country code %q", b)
}

func isLetter(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }

func status(b []byte, reg string) (string, error) {
	switch string(b) {
	case StatusAllocated:
		return StatusAllocated, nil
	case StatusAssigned:
		return StatusAssigned, nil
	case StatusAvailable:
		return StatusAvailable, nil
	case StatusReserved:
		return StatusReserved, nil
	}
	if reg == ipledger.IANA {
		if string(b) == StatusIETF {
			return StatusIETF, nil
		}
		for w := range registryWords {
			if w == string(b) {
				return w, nil
			}
		}
	}
	return "", fmt.Errorf("unknown status %q", b)
}

// date parses YYYYMMDD into YYYY-MM-DD; empty and 00000000 mean no date.
func (p *lineParser) date(b []byte) (string, error) {
	if len(b) == 0 || string(b) == "00000000" {
		return "", nil
	}
	if p.intern != nil {
		if s, ok := p.intern[string(b)]; ok {
			return s, nil
		}
	}
	if len(b) != 8 {
		return "", fmt.Errorf("bad date %q: want YYYYMMDD", b)
	}
	v, ok := ipledger.ParseDigits(b, math.MaxUint64)
	if !ok {
		return "", fmt.Errorf("bad date %q: want YYYYMMDD", b)
	}
	y, m, d := int(v/10000), int(v/100%100), int(v%100)
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return "", fmt.Errorf("bad date %q: no such day", b)
	}
	s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if p.intern != nil {
		p.intern[string(b)] = s
	}
	return s, nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// resource reads the start and value fields of a record of family fam.
func resource(fam ipledger.Family, typ, start, value []byte) (ipledger.Resource, error) {
	switch fam {
	case ipledger.IPv4, ipledger.IPv6:
		a, err := netip.ParseAddr(string(start))
		if err != nil {
			return ipledger.Resource{}, fmt.Errorf("bad %s address %q", typ, start)
		}
		if fam == ipledger.IPv4 {
			if !a.Is4() {
				return ipledger.Resource{}, fmt.Errorf("bad ipv4 address %q", start)
			}
			n, ok := ipledger.ParseDigits(value, math.MaxUint64)
			if !ok {
				return ipledger.Resource{}, fmt.Errorf("bad ipv4 count %q", value)
			}
			r, err := ipledger.AddrCount(a, n)
			if err != nil {
				return ipledger.Resource{}, fmt.Errorf("ipv4 %s|%s: %w", start, value, err)
			}
			return r, nil
		}
		if !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return ipledger.Resource{}, fmt.Errorf("bad ipv6 address %q", start)
		}
		bits, ok := ipledger.ParseDigits(value, 128)
		if !ok {
			return ipledger.Resource{}, fmt.Errorf("bad ipv6 prefix length %q", value)
		}
		r, err := ipledger.PrefixResource(netip.PrefixFrom(a, int(bits)))
		if err != nil {
			return ipledger.Resource{}, fmt.Errorf("ipv6 %s|%s: %w", start, value, err)
		}
		return r, nil
	case ipledger.ASN:
		first, ok := ipledger.ParseDigits(start, 0xFFFFFFFF)
		if !ok {
			return ipledger.Resource{}, fmt.Errorf("bad AS number %q", start)
		}
		n, ok := ipledger.ParseDigits(value, math.MaxUint64)
		if !ok || n == 0 {
			return ipledger.Resource{}, fmt.Errorf("bad AS count %q", value)
		}
		if n-1 > 0xFFFFFFFF-first {
			return ipledger.Resource{}, fmt.Errorf("AS%d plus %d numbers runs past AS4294967295", first, n)
		}
		return ipledger.ASRange(uint32(first), uint32(first+n-1))
	}
	return ipledger.Resource{}, fmt.Errorf("unknown type %q", typ)
}

// sortFlaws orders flaws by file, then line.
func sortFlaws(fl []Flaw) {
	slices.SortStableFunc(fl, func(a, b Flaw) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
}
