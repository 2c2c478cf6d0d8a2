package store

import (
	"context"
	"encoding/binary"
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
	for _, dir := range fixtureDirs {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// keyOrder is how the keys of an import spread over the key space.
type keyOrder int

const (
	// orderRandom spreads holdings and organisations at random: the worst case for the
	// value table's LSM (and for IAVL, the tree before).
	orderRandom keyOrder = iota
	// orderMixed writes holdings in address order, as an import of sorted delegated files
	// does, and organisations at random (handles from opaque ids).
	orderMixed
	// orderSequential writes every key in ascending order within its table, as when
	// imported handles carry a sequence number.
	orderSequential
)

// benchKey returns the i-th key, shaped like the ledger's (package ledger, state.go): an
// organisation ('o' handle), a holding ('h' family depth first-address) or a holding id
// ('i' id, growing with i as the ledger assigns ids).
func benchKey(i int, order keyOrder) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 1))
	switch i % 3 {
	case 0:
		if order == orderSequential {
			return fmt.Appendf(nil, "oORG-RIPE-%07d", i)
		}
		return fmt.Appendf(nil, "o%s-%08X%06d", []string{"RIPE-NCC", "ARIN", "APNIC", "LACNIC", "AFRINIC"}[r.IntN(5)], r.Uint32(), i)
	case 1:
		k := []byte{'h', 4, 1}
		k = binary.BigEndian.AppendUint64(k, 0)
		if order == orderRandom {
			return binary.BigEndian.AppendUint64(k, r.Uint64())
		}
		return binary.BigEndian.AppendUint64(k, uint64(i))
	default:
		return binary.BigEndian.AppendUint64([]byte{'i'}, uint64(i))
	}
}

// benchTemplate is the body of the benchmark values.
var benchTemplate = []byte(`{"id":0000000000,"holder":"ORG-0000000","status":"ALLOCATED PA","country":"DE","registered":"2004-05-06","changed":"2025-01-01T00:00:00Z","note":"` +
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz" + `"}`)

// benchValue returns a fresh JSON-like value of 150 to 300 bytes, cheaply, so that the
// benchmarks measure the store rather than the making of values.
func benchValue(i, version int) []byte {
	n := 150 + (i*7919+version)%151
	v := make([]byte, n)
	copy(v, benchTemplate)
	binary.BigEndian.PutUint64(v[7:], uint64(i)<<8|uint64(version&0xff))
	v[n-2], v[n-1] = '"', '}'
	return v
}

// importKeys writes n keys in blocks of perBlock, checking each key first as the ledger
// does, and commits each block.
func importKeys(tb testing.TB, s *Store, n, perBlock int, order keyOrder) {
	w := s.Working()
	for i := range n {
		k := benchKey(i, order)
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
	fixtureMu   sync.Mutex
	fixtureDirs = map[keyOrder]string{}
)

// fixture returns the directory of a closed, fully compacted store holding benchKeys keys
// written in order, every version retained. It is built once per process.
func fixture(b *testing.B, order keyOrder) string {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if dir, ok := fixtureDirs[order]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "ipledger-store-bench-")
	if err != nil {
		b.Fatal(err)
	}
	fixtureDirs[order] = dir
	s, err := Open(Options{Dir: dir, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	importKeys(b, s, benchKeys, benchPerBlock, order)
	// Settle the database, so that the benchmarks that read it do not measure the
	// import's compaction debt (Close waits for a compaction under way).
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkCommitLarge is the whole large import: 400k keys, a Get and a Set each, in 40
// committed (fsynced) versions.
func BenchmarkCommitLarge(b *testing.B) {
	for _, c := range []struct {
		name  string
		opts  Options
		order keyOrder
	}{
		{"random", Options{}, orderRandom},
		{"mixed", Options{}, orderMixed},
		{"sequential", Options{}, orderSequential},
		{"mixed-cache500k", Options{CacheSize: 500_000}, orderMixed},
		{"mixed-nosync", Options{NoSync: true}, orderMixed},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			cpu := cpuTime()
			for b.Loop() {
				opts := c.opts
				opts.Dir = filepath.Join(b.TempDir(), fmt.Sprint(n))
				n++
				s, err := Open(opts)
				if err != nil {
					b.Fatal(err)
				}
				importKeys(b, s, benchKeys, benchPerBlock, c.order)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchKeys)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64(cpuTime()-cpu)/1e3/float64(benchKeys*b.N), "cpu-µs/key")
		})
	}
}

// BenchmarkSet sets keys (half updates, half new) in the working tree of a 400k-key store.
// Every 10k sets the working tree is rolled back, outside the timer.
func BenchmarkSet(b *testing.B) {
	s := openTest(b, fixture(b, orderRandom), Options{NoSync: true})
	w := s.Working()
	r := rand.New(rand.NewPCG(1, 2))
	i := 0
	for b.Loop() {
		j := r.IntN(2 * benchKeys)
		if err := w.Set(benchKey(j, orderRandom), benchValue(j, 1)); err != nil {
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
	s := openTest(b, fixture(b, orderRandom), Options{})
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
				v, err := c.get(benchKey(r.IntN(benchKeys), orderRandom))
				if err != nil || v == nil {
					b.Fatalf("Get = %q, %v", v, err)
				}
			}
		})
	}
}

// BenchmarkReopen opens a 400k-key store, reads one key and closes it.
func BenchmarkReopen(b *testing.B) {
	dir := fixture(b, orderRandom)
	for b.Loop() {
		s, err := Open(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.Working().Get(benchKey(12345, orderRandom))
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
	s := openTest(b, fixture(b, orderRandom), Options{})
	view, err := s.ReadAt(0)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for b.Loop() {
		n := 0
		err := view.Iterate(benchKey(r.IntN(benchKeys), orderRandom), nil, false, func(k, v []byte) bool {
			n++
			return n < 100
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanAll reads every key of a freshly opened 400k-key store in order, as a node
// that loads its state into memory at start does.
func BenchmarkScanAll(b *testing.B) {
	for _, c := range []struct {
		name  string
		order keyOrder
	}{{"random", orderRandom}, {"mixed", orderMixed}} {
		b.Run(c.name, func(b *testing.B) {
			dir := fixture(b, c.order)
			for b.Loop() {
				s, err := Open(Options{Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				view, err := s.ReadAt(0)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				if err := view.Iterate(nil, nil, false, func(k, v []byte) bool { n++; return true }); err != nil {
					b.Fatal(err)
				}
				if n != benchKeys {
					b.Fatalf("scanned %d keys", n)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlock models the node's block path on a store of 400k keys (the
// BenchmarkCommitLarge fixture): each block sets 3,750 keys, a third of them new and the
// rest updates of random existing keys, as 1,000 transactions do, then hashes and commits
// the version (fsynced). Reports the cost per key written.
func BenchmarkBlock(b *testing.B) {
	for _, c := range []struct {
		name string
		keys int
	}{{"small", 20_000}, {"400k", benchKeys}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			s := openTest(b, dir, Options{})
			if c.keys == benchKeys {
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				dir = copyFixture(b, fixture(b, orderRandom))
				s = openTest(b, dir, Options{})
			} else {
				importKeys(b, s, c.keys, benchPerBlock, orderRandom)
			}
			// Start from a settled database, not from the import's compaction debt.
			if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
				b.Fatal(err)
			}
			const perBlock = 3750
			r := rand.New(rand.NewPCG(7, 8))
			next := c.keys
			w := s.Working()
			written := 0
			cpu := cpuTime()
			for b.Loop() {
				for i := range perBlock {
					j := r.IntN(next)
					if i%3 == 0 {
						j, next = next, next+1
					}
					if err := w.Set(benchKey(j, orderRandom), benchValue(j, written)); err != nil {
						b.Fatal(err)
					}
				}
				if h := s.WorkingHash(); h == nil {
					b.Fatal("no working hash")
				}
				if _, _, err := s.Commit(); err != nil {
					b.Fatal(err)
				}
				written += perBlock
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(written), "ns/key")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(written), "cpu-ns/key")
		})
	}
}

// copyFixture copies a closed fixture store into a fresh directory, so a benchmark may
// write to it.
func copyFixture(b *testing.B, src string) string {
	dst := b.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dst
}
