package rtr

import (
	"compress/bzip2"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/vrp"
)

// cpuTime returns the CPU time the process has used: a measure less disturbed than wall
// time by other work on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchData struct {
	once sync.Once
	set  *vrp.Set
}

// benchSet returns the real 2025-07-20 snapshot (723,524 VRPs) when the shared data is
// there, else as many synthetic VRPs.
func benchSet(b *testing.B) *vrp.Set {
	benchData.once.Do(func() {
		p := ipledgertest.DataPath("rpki/rpkiclient_summary_20250720T100145Z.json.bz2")
		f, err := os.Open(p)
		if err == nil {
			defer f.Close()
			if j, err := vrp.ReadJSON(bzip2.NewReader(f), time.Time{}); err == nil {
				benchData.set = j.Set
				return
			}
		}
		b.Logf("real RPKI snapshot not found at %s; using synthetic VRPs", p)
		benchData.set = bigSet(b, 723524)
	})
	return benchData.set
}

// BenchmarkEncodeSnapshot encodes the whole set as version 1 PDUs, as each new serial
// does once.
func BenchmarkEncodeSnapshot(b *testing.B) { benchEncode(b, Version1) }

// BenchmarkEncodeSnapshotV2 encodes the whole set as version 2 PDUs (its 100 ASPAs too, once
// per address family), as the first version 2 query of a serial does.
func BenchmarkEncodeSnapshotV2(b *testing.B) { benchEncode(b, Version2) }

// benchEncode times encoding the whole set as version v PDUs.
func benchEncode(b *testing.B, v Version) {
	set := benchSet(b)
	n := encodedLen(set, v)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		if got := appendSet(make([]byte, 0, n), v, set, true); len(got) != n {
			b.Fatalf("%d bytes, want %d", len(got), n)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
}

// fullSync runs one Reset Query over a fresh connection and reads the whole answer.
func fullSync(b *testing.B, addr string, want int, buf []byte) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte{1, 2, 0, 0, 0, 0, 0, 8}); err != nil {
		b.Fatal(err)
	}
	got := 0
	for got < want {
		n, err := nc.Read(buf)
		got += n
		if err != nil {
			b.Fatalf("after %d of %d bytes: %v", got, want, err)
		}
	}
}

// BenchmarkFullSync times one router's full sync of the set over loopback TCP.
func BenchmarkFullSync(b *testing.B) {
	set := benchSet(b)
	s, addr := startServer(b, Options{MaxVersion: 1})
	s.Update(set)
	want := headerLen + encodedLen(set, Version1) + lenEndOfDataV1
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(want))
	c0 := cpuTime()
	for b.Loop() {
		fullSync(b, addr, want, buf)
	}
	b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(set.Len())*float64(b.N)/b.Elapsed().Seconds(), "vrps/s")
}

// BenchmarkFullSync50 times 50 routers syncing the set at once. All come from loopback,
// one client to the per-client cap, and a round's connections may still be closing on the
// server when the next round's arrive: the cap is the overall one.
func BenchmarkFullSync50(b *testing.B) {
	set := benchSet(b)
	s, addr := startServer(b, Options{MaxVersion: 1, MaxConnsPerClient: DefaultMaxConns})
	s.Update(set)
	want := headerLen + encodedLen(set, Version1) + lenEndOfDataV1
	b.SetBytes(50 * int64(want))
	c0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op") }()
	for b.Loop() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fullSync(b, addr, want, make([]byte, 1<<20))
			}()
		}
		wg.Wait()
	}
}

// BenchmarkUpdate times a set change of 2,000 VRPs against the whole set: diff, new
// serial, encoding of the new set.
func BenchmarkUpdate(b *testing.B) {
	set := benchSet(b)
	i := 0
	other := set.Filter(func(vrp.VRP) bool { i++; return i%360 != 0 }, nil)
	s, err := New(Options{MaxVersion: 1})
	if err != nil {
		b.Fatal(err)
	}
	s.Update(set)
	for k := 0; b.Loop(); k++ {
		if k%2 == 0 {
			s.Update(other)
		} else {
			s.Update(set)
		}
	}
}
