package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The benchmarks model the largest real import: ≈140k organisations and ≈140k holdings
// plus their indexes, 400k keys of 17–40 bytes with 150–300-byte JSON values, written in
// 40 blocks of 10k.
const (
	benchKeys     = 400_000
	benchPerBlock = 10_000
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		_ = os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// benchKey returns the i-th key: org, holding or index keys, 17 to 40 bytes.
func benchKey(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 1))
	switch i % 3 {
	case 0:
		return fmt.Appendf(nil, "org/ORG-%c%c%07d-%s", 'A'+r.IntN(26), 'A'+r.IntN(26), i, []string{"RIPE", "ARIN", "APNIC", "LACNIC", "AFRINIC"}[r.IntN(5)])
	case 1:
		return fmt.Appendf(nil, "hld/\x04\x01%08x%08x", r.Uint32(), i) // family, depth, start, id
	default:
		return fmt.Appendf(nil, "idx/holder/%010d/%08x", i/3, i)
	}
}

// benchValue returns a JSON-like value of 150 to 300 bytes.
func benchValue(i, version int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), uint64(version)))
	pad := make([]byte, 60+r.IntN(150))
	for j := range pad {
		pad[j] = 'a' + byte(r.IntN(26))
	}
	return fmt.Appendf(nil, `{"id":%d,"holder":"ORG-%07d","status":"ALLOCATED PA","country":"DE","registered":"2004-05-06","changed":"2025-01-01T00:00:%02dZ","note":"%s"}`, i, i/2, version%60, pad)
}

// importKeys writes n keys in blocks of perBlock, checking each key first as the ledger
// does, and commits each block.
func importKeys(tb testing.TB, s *Store, n, perBlock int) {
	w := s.Working()
	for i := range n {
		k := benchKey(i)
		if _, err := w.Get(k); err != nil {
			tb.Fatal(err)
		}
		if err := w.Set(k, benchValue(i, 0)); err != nil {
			tb.Fatal(err)
		}
		if (i+1)%perBlock == 0 || i == n-1 {
			if _, _, err := s.Commit(); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
)

// fixture returns the directory of a closed store holding benchKeys keys.
func fixture(b *testing.B) string {
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipledger-store-bench-")
		if err != nil {
			b.Fatal(err)
		}
		s, err := Open(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		importKeys(b, s, benchKeys, benchPerBlock)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		fixtureDir = dir
	})
	if fixtureDir == "" {
		b.Fatal("no fixture")
	}
	return fixtureDir
}

// BenchmarkCommitLarge is the whole large import: 400k keys, a Get and a Set each, in 40
// committed (fsynced) versions.
func BenchmarkCommitLarge(b *testing.B) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"cache100k", Options{CacheSize: 100_000}},
		{"nosync", Options{NoSync: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				opts := c.opts
				opts.Dir = filepath.Join(b.TempDir(), fmt.Sprint(n))
				n++
				s, err := Open(opts)
				if err != nil {
					b.Fatal(err)
				}
				importKeys(b, s, benchKeys, benchPerBlock)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchKeys)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// BenchmarkSet sets keys (half updates, half new) in the working tree of a 400k-key store.
// Every 10k sets the working tree is rolled back, outside the timer.
func BenchmarkSet(b *testing.B) {
	s := openTest(b, fixture(b), Options{NoSync: true})
	w := s.Working()
	r := rand.New(rand.NewPCG(1, 2))
	i := 0
	for b.Loop() {
		j := r.IntN(2 * benchKeys)
		if err := w.Set(benchKey(j), benchValue(j, 1)); err != nil {
			b.Fatal(err)
		}
		if i++; i%benchPerBlock == 0 {
			b.StopTimer()
			s.Rollback()
			b.StartTimer()
		}
	}
}

// BenchmarkGet reads random present keys of a 400k-key store from the working tree and
// from a committed view.
func BenchmarkGet(b *testing.B) {
	s := openTest(b, fixture(b), Options{})
	view, err := s.ReadAt(0)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		get  func([]byte) ([]byte, error)
	}{
		{"working", s.Working().Get},
		{"view", view.Get},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			for b.Loop() {
				v, err := c.get(benchKey(r.IntN(benchKeys)))
				if err != nil || v == nil {
					b.Fatalf("Get = %q, %v", v, err)
				}
			}
		})
	}
}

// BenchmarkReopen opens a 400k-key store, reads one key and closes it.
func BenchmarkReopen(b *testing.B) {
	dir := fixture(b)
	for b.Loop() {
		s, err := Open(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.Working().Get(benchKey(12345))
		if err != nil || v == nil {
			b.Fatalf("Get = %q, %v", v, err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIterate scans 100 keys from a random start in a committed view.
func BenchmarkIterate(b *testing.B) {
	s := openTest(b, fixture(b), Options{})
	view, err := s.ReadAt(0)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for b.Loop() {
		n := 0
		err := view.Iterate(benchKey(r.IntN(benchKeys)), nil, false, func(k, v []byte) bool {
			n++
			return n < 100
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
