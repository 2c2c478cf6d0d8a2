package importer

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipledger/ipledger/ipledgertest"
)

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	if _, err := z.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// bzip2Bytes compresses with Debian's bzip2 (the standard library only decompresses).
func bzip2Bytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("bzip2 is not installed (apt-get install bzip2)")
		}
		tb.Skip("bzip2 is not installed")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("bzip2: %v", err)
	}
	return out
}

func write(tb testing.TB, path string, b []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// sameParse checks that got is want read from another path: the same header, records,
// counts and flaws at the same lines.
func sameParse(t *testing.T, got, want *File) {
	t.Helper()
	if got.Header != want.Header || got.Registry != want.Registry || got.Extended != want.Extended ||
		got.NotHoldings != want.NotHoldings || !reflect.DeepEqual(got.ByStatus, want.ByStatus) {
		t.Fatalf("%s: header %+v, %d not holdings, %v; want %+v, %d, %v", got.Path, got.Header, got.NotHoldings, got.ByStatus, want.Header, want.NotHoldings, want.ByStatus)
	}
	if len(got.Records) != len(want.Records) || len(got.Flaws) != len(want.Flaws) {
		t.Fatalf("%s: %d records, %d flaws; want %d, %d", got.Path, len(got.Records), len(got.Flaws), len(want.Records), len(want.Flaws))
	}
	for i := range got.Records {
		g, w := got.Records[i], want.Records[i]
		g.File, w.File = "", ""
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: record %d is %+v, want %+v", got.Path, i, g, w)
		}
	}
	for i := range got.Flaws {
		if got.Flaws[i].Line != want.Flaws[i].Line || got.Flaws[i].Msg != want.Flaws[i].Msg {
			t.Fatalf("%s: flaw %s, want %s", got.Path, got.Flaws[i], want.Flaws[i])
		}
	}
}

// TestParseCompressed reads a real file gzipped and bzip2'd here, under its own name and
// under names that lie, and checks it parses as the plain file does.
func TestParseCompressed(t *testing.T) {
	src := ipledgertest.Data(t, "delegated/2019-09/delegated-lacnic-latest") // 35,932 records and two known flaws
	plain, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseFile(src, false)
	if err != nil {
		t.Fatal(err)
	}
	gz, bz := gzipBytes(t, plain), bzip2Bytes(t, plain)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"delegated-lacnic-latest.gz", gz},
		{"delegated-lacnic-latest.bz2", bz},
		{"gzip-named-plain", gz},            // told by the magic bytes, not the name
		{"bzip2-named-plain.txt", bz},       // likewise
		{"inflated-by-a-browser.gz", plain}, // a .gz holding text is read as text
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseFile(write(t, filepath.Join(dir, c.name), c.data), false)
			if err != nil {
				t.Fatal(err)
			}
			sameParse(t, got, want)
			if got.Records[0].File != got.Path || got.Flaws[0].File != got.Path {
				t.Errorf("records and flaws name %s and %s, want the compressed file's path", got.Records[0].File, got.Flaws[0].File)
			}
		})
	}
	// A gzip file of two members (as `cat a.gz b.gz` makes) reads as their concatenation.
	t.Run("two gzip members", func(t *testing.T) {
		half := bytes.IndexByte(plain[len(plain)/2:], '\n') + len(plain)/2 + 1
		two := append(gzipBytes(t, plain[:half]), gzipBytes(t, plain[half:])...)
		got, err := ParseFile(write(t, filepath.Join(dir, "two.gz"), two), false)
		if err != nil {
			t.Fatal(err)
		}
		sameParse(t, got, want)
	})
	// A folder of compressed files parses as the folder of plain ones.
	t.Run("ParseDir", func(t *testing.T) {
		d := t.TempDir()
		write(t, filepath.Join(d, "delegated-lacnic-latest.bz2"), bz)
		files, err := ParseDir(d, false)
		if err != nil || len(files) != 1 {
			t.Fatalf("%d files, %v", len(files), err)
		}
		sameParse(t, files[0], want)
	})
	// Strict: the first flaw, at its line in the text.
	t.Run("strict", func(t *testing.T) {
		_, err := ParseFile(filepath.Join(dir, "delegated-lacnic-latest.gz"), true)
		var fl Flaw
		if !errors.As(err, &fl) || fl.Line != want.Flaws[0].Line {
			t.Fatalf("strict: %v, want the flaw of line %d", err, want.Flaws[0].Line)
		}
	})
}

// TestParseCompressedMD5: the .md5 beside a compressed file is the digest of the file as
// stored.
func TestParseCompressedMD5(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "delegated-example-latest"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzipBytes(t, plain)
	dir := t.TempDir()
	path := write(t, filepath.Join(dir, "delegated-example-latest.gz"), gz)
	sum := md5.Sum(gz)
	write(t, path+".md5", []byte("MD5 (delegated-example-latest.gz) = "+hex.EncodeToString(sum[:])+"\n"))
	f, err := ParseFile(path, true)
	if err != nil || f.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("md5 %q, %v", f.MD5, err)
	}
	// The digest of the text is not the digest of the file.
	sum = md5.Sum(plain)
	write(t, path+".md5", []byte(hex.EncodeToString(sum[:])+"\n"))
	if _, err := ParseFile(path, false); !errors.Is(err, ErrChecksum) {
		t.Fatalf("digest of the text: %v, want ErrChecksum", err)
	}
	// A truncated download: the checksum says so, before the gzip stream's end does.
	sum = md5.Sum(gz)
	write(t, path+".md5", []byte(hex.EncodeToString(sum[:])+"\n"))
	write(t, path, gz[:len(gz)-10])
	if _, err := ParseFile(path, false); !errors.Is(err, ErrChecksum) {
		t.Fatalf("truncated: %v, want ErrChecksum", err)
	}
}

// TestParseBomb: a compressed file that inflates past the limit is refused, saying so,
// after reading no more than the limit; so is a plain file past it. The limit is lowered
// to 1 MiB here; MaxFileBytes is the same code with 64 MiB.
func TestParseBomb(t *testing.T) {
	defer func(n int64) { maxFileBytes = n }(maxFileBytes)
	maxFileBytes = 1 << 20
	// 4 MiB of one valid line: no flaw in it until the limit.
	line := []byte("apnic|JP|asn|173|1|20020801|allocated\n")
	big := bytes.Repeat(line, (4<<20)/len(line))
	dir := t.TempDir()
	cases := []struct{ name, want string }{
		{"bomb.gz", "gzip data inflates to over 1 MiB, the limit of one file"},
		{"bomb.bz2", "bzip2 data inflates to over 1 MiB, the limit of one file"},
		{"big", "over 1 MiB, the limit of one file"},
	}
	write(t, filepath.Join(dir, "bomb.gz"), gzipBytes(t, big))
	write(t, filepath.Join(dir, "big"), big[:2<<20])
	write(t, filepath.Join(dir, "bomb.bz2"), bzip2Bytes(t, big))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile(filepath.Join(dir, c.name), false)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want ErrTooLarge: %s", err, c.want)
			}
		})
	}
	// Parse, from a reader of unknown size, is bounded the same way.
	if _, err := Parse(bytes.NewReader(gzipBytes(t, big)), "r", false); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse: %v, want ErrTooLarge", err)
	}
	// Exactly at the limit is fine.
	exact := []byte("2|apnic|1|0|||+1000\n")
	for len(exact) < 1<<20 {
		exact = append(exact, "#"+strings.Repeat(" ", min(1000, 1<<20-len(exact)-2))+"\n"...)
	}
	if len(exact) != 1<<20 {
		t.Fatalf("%d bytes", len(exact))
	}
	if _, err := ParseFile(write(t, filepath.Join(dir, "exact.gz"), gzipBytes(t, exact)), false); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
}

// TestParseUnreadable: a file that yields no record and has flaws fails ParseFile with
// ErrUnreadable (a file of another kind must not import as empty); a header that declares
// no records and nothing else is fine. Parse itself stays lenient.
func TestParseUnreadable(t *testing.T) {
	dir := t.TempDir()
	flawed := "2|apnic|1|2|||+1000\napnic|JP|asn|x|1|20020801|allocated\napnic|JP|ipv4|1.2.3|1|20020801|allocated\n"
	for _, c := range []struct {
		name, text string
		want       string // "" for no error
	}{
		{"empty", "", "no records, 1 flaw (the first: DIR/empty: no header line"},
		{"only comments", "# nothing\n\n", "no records, 1 flaw"},
		{"web page", "<!DOCTYPE html>\n<html><body>Not found</body></html>\n", "no records, 3 flaws"},
		{"every record a flaw", flawed, `no records, 2 flaws (the first: DIR/every record a flaw:2: bad AS number "x")`},
		{"declared empty", "2|apnic|1|0|||+1000\n", ""},
		{"declared empty with summaries", "2|apnic|1|0|||+1000\napnic|*|asn|*|0|summary\n", ""},
		{"only reserved space", "2|apnic|1|1|||+1000\napnic||ipv4|1.2.3.0|256||reserved\n", ""},
		{"one good record among flaws", flawed + "apnic|JP|asn|173|1|20020801|allocated\n", ""},
		{"many flaws", "2|apnic|1|1|||+1000\napnic|JP|asn|173|1|20020801|allocated\n" + strings.Repeat("x\n", maxFlaws+1), "over 10000 flaws"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, filepath.Join(dir, c.name), []byte(c.text))
			_, err := ParseFile(path, false)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := strings.ReplaceAll(c.want, "DIR", dir)
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), want) {
				t.Fatalf("%v\nwant ErrUnreadable: %s", err, want)
			}
			if _, err := ParseDir(dir, false); !errors.Is(err, ErrUnreadable) {
				t.Fatalf("ParseDir: %v", err)
			}
			os.Remove(path)
			if c.name == "many flaws" {
				return // Parse too stops there
			}
			if _, err := Parse(strings.NewReader(c.text), "x", false); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

// TestParseTruncated: a compressed download cut short fails, saying so, rather than
// importing the part that arrived.
func TestParseTruncated(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "delegated-example-latest"))
	if err != nil {
		t.Fatal(err)
	}
	gz, bz := gzipBytes(t, plain), bzip2Bytes(t, plain)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"x.gz", gz[:len(gz)-4], "read x.gz: gzip data: unexpected EOF"},
		{"x.bz2", bz[:len(bz)-4], "read x.bz2: bzip2 data: unexpected EOF"},
	} {
		if _, err := Parse(bytes.NewReader(c.data), c.name, false); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

// TestParseOtherCompression: forms not read here are named, not parsed as lines of flaws.
func TestParseOtherCompression(t *testing.T) {
	for _, c := range []struct {
		name string
		head []byte
		want string
	}{
		{"x.xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, "xz-compressed"},
		{"x.zst", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0}, "zstd-compressed"},
		{"x.zip", []byte("PK\x03\x04\x14\x00"), "a zip archive"},
		{"bad.gz", []byte{0x1f, 0x8b, 0x09, 0}, "gzip data"},
	} {
		_, err := Parse(bytes.NewReader(c.head), c.name, false)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "read "+c.name) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParseCompressed feeds arbitrary bytes, and gzip streams of them, to Parse under a
// 1 MiB limit: no panic, only reading errors, and a gzip stream parses as its text.
func FuzzParseCompressed(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join("testdata", "delegated-example-latest"))
	f.Add(seed, false)
	f.Add(seed, true)
	f.Add(gzipBytes(f, seed), false)
	f.Add([]byte("BZh91AY&SY"), false)
	if _, err := exec.LookPath("bzip2"); err == nil {
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(seed)
		if out, err := cmd.Output(); err == nil {
			f.Add(out, false)
		}
	}
	defer func(n int64) { maxFileBytes = n }(maxFileBytes)
	maxFileBytes = 1 << 20
	f.Fuzz(func(t *testing.T, in []byte, gz bool) {
		text := in
		if gz {
			in = gzipBytes(t, in)
		}
		file, err := Parse(bytes.NewReader(in), "in", false)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnreadable) && !strings.HasPrefix(err.Error(), "read in: ") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if !gz || bytes.HasPrefix(text, magicGzip) || bytes.HasPrefix(text, magicBzip2) {
			return // inflated once: compressed text is not inflated again
		}
		want, err := Parse(bytes.NewReader(text), "in", false)
		if err != nil {
			return // text that is refused as such (xz, zip…) is parsed as lines once inflated
		}
		if len(file.Records) != len(want.Records) || len(file.Flaws) != len(want.Flaws) {
			t.Fatalf("gzip: %d records, %d flaws; text: %d, %d", len(file.Records), len(file.Flaws), len(want.Records), len(want.Flaws))
		}
	})
}
