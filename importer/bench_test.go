package importer

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseLargest parses the largest date folder, 2014-06 (four RIR files, 8 MB,
// 138,795 records), checksums included.
func BenchmarkParseLargest(b *testing.B) {
	dir := filepath.Join(delegatedDir(b), "2014-06")
	records := 0
	b.ReportAllocs()
	for b.Loop() {
		files, err := ParseDir(dir, false)
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		for _, f := range files {
			records += len(f.Records) + f.NotHoldings
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPlan2014 plans the import of 2014-06, on a genesis where IANA holds everything
// (every record needs a transfer) and on a rough real one.
func BenchmarkPlan2014(b *testing.B) {
	files, err := ParseDir(filepath.Join(delegatedDir(b), "2014-06"), false)
	if err != nil {
		b.Fatal(err)
	}
	records := 0
	for _, f := range files {
		records += len(f.Records) + f.NotHoldings
	}
	for _, c := range []struct {
		name  string
		pools []Pool
	}{{"whole-iana", wholeIANA()}, {"realistic", realisticPools(b)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := PlanImport(files, c.pools, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkParseCompressed parses 2014-06's RIPE NCC file (4.2 MB, 85,681 records) plain,
// gzipped and bzip2'd.
func BenchmarkParseCompressed(b *testing.B) {
	src := filepath.Join(delegatedDir(b), "2014-06", "delegated-ripencc-latest")
	plain, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", gzipBytes(b, plain)}, {"bzip2", bzip2Bytes(b, plain)}} {
		path := write(b, filepath.Join(dir, c.name), c.data)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseFile(path, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(plain))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}
