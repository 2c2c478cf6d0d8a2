package httpapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/stateproof"
)

// benchLeaves is the size of the log the inclusion benchmarks serve; IPLEDGER_BENCH_LEAVES
// overrides it.
func benchLeaves() int {
	if n, err := strconv.Atoi(os.Getenv("IPLEDGER_BENCH_LEAVES")); err == nil && n > 0 {
		return n
	}
	return 300_000
}

// benchLog replays blocks of 1,000 transactions each through the application (no
// consensus) until its log has about leaves leaves, and returns the application and the
// hashes of its transactions. The transactions are 104 random bytes: they do not decode,
// so each is committed with a result code and logged like any other, at no signing cost.
func benchLog(b *testing.B, leaves int) (*chain.App, []ipledger.Hash) {
	b.Helper()
	const perBlock = 1000
	ctx := context.Background()
	rp, err := chain.NewReplayer(ctx, b.TempDir(), testChain, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ipledgertest.Genesis())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rp.Close() })
	var hashes []ipledger.Hash
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for h := int64(1); len(hashes)+int(h) < leaves; h++ {
		txs := make([][]byte, perBlock)
		for i := range txs {
			tx := make([]byte, 104)
			for j := 0; j < len(tx); j += 8 {
				binary.LittleEndian.PutUint64(tx[j:], rng.Uint64())
			}
			txs[i] = tx
			hashes = append(hashes, ipledger.HashTx(tx))
		}
		if _, _, err := rp.Apply(ctx, chain.ReplayBlock{Height: h, Time: time.Date(2026, 1, 1, 0, 0, int(h), 0, time.UTC), Txs: txs}); err != nil {
			b.Fatal(err)
		}
	}
	size, _ := rp.App().LogSize()
	b.Logf("log of %d leaves in %d blocks built in %v", size, rp.App().Committed().Height, time.Since(start).Round(time.Millisecond))
	return rp.App(), hashes
}

// benchClient is an HTTP client with a keep-alive connection per concurrent caller.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
}

// hammer runs b.N GETs of the URL next gives over loopback from 64 concurrent callers
// (32 per core on this 2-core machine) and reports requests per second.
func hammer(b *testing.B, hc *http.Client, next func(rng *rand.Rand) string) {
	b.Helper()
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), uint64(time.Now().UnixNano())))
		for pb.Next() {
			resp, err := hc.Get(next(rng))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("HTTP %d", resp.StatusCode)
				return
			}
		}
	})
	// Wall-clock rate, and the CPU time of the whole process (server and clients) per
	// request: on a machine shared with other work, 2 cores / CPU per request is what two
	// idle cores would serve.
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
}

// hammerPipelined is hammer with a lean client: conns raw TCP connections, each writing
// depth requests at a time (HTTP/1.1 pipelining, RFC 9112 §9.3) and reading the
// responses with a minimal parser, so that the clients take less of the two cores the
// server needs. The server code is the same: net/http answers pipelined requests one
// after the other.
func hammerPipelined(b *testing.B, addr string, conns, depth int, next func(rng *rand.Rand) string) {
	b.Helper()
	b.ReportAllocs()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			rd := bufio.NewReaderSize(conn, 64<<10)
			var req []byte
			for {
				n := min(int64(depth), left.Add(-int64(depth))+int64(depth))
				if n <= 0 {
					return
				}
				req = req[:0]
				for range n {
					req = append(req, "GET "...)
					req = append(req, next(rng)...)
					req = append(req, " HTTP/1.1\r\nHost: bench\r\n\r\n"...)
				}
				if _, err := conn.Write(req); err != nil {
					b.Error(err)
					return
				}
				for range n {
					if err := readResponse(rd); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
}

// readResponse reads one HTTP/1.1 response with a Content-Length and wants status 200.
func readResponse(rd *bufio.Reader) error {
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || string(line[9:12]) != "200" {
		return fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		line, err = rd.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && (line[0] == 'C' || line[0] == 'c') && strings.EqualFold(string(line[:15]), "Content-Length:") {
			length, err = strconv.Atoi(strings.TrimSpace(string(line[15:])))
			if err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("no Content-Length")
	}
	_, err = rd.Discard(length)
	return err
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInclusionProofHTTP serves GET /v1/log/proof/inclusion for random leaves of a
// log of benchLeaves() leaves, by index and by transaction hash, to 64 concurrent
// clients over loopback. The clients run in the same process, on the same two cores.
//
//	go test -run '^$' -bench InclusionProofHTTP -benchtime 200000x ./httpapi
func BenchmarkInclusionProofHTTP(b *testing.B) {
	app, hashes := benchLog(b, benchLeaves())
	s := newServer(nil, app, Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	size, _ := app.LogSize()
	hc := benchClient()
	addr := srv.Listener.Addr().String()
	byIndex := func(rng *rand.Rand) string {
		return "/v1/log/proof/inclusion?index=" + strconv.FormatUint(rng.Uint64N(size), 10)
	}
	byHash := func(rng *rand.Rand) string {
		return "/v1/log/proof/inclusion?hash=" + hashes[rng.IntN(len(hashes))].String()
	}
	run := func(b *testing.B) {
		b.Run("index", func(b *testing.B) {
			hammer(b, hc, func(rng *rand.Rand) string { return srv.URL + byIndex(rng) })
		})
		b.Run("hash", func(b *testing.B) {
			hammer(b, hc, func(rng *rand.Rand) string { return srv.URL + byHash(rng) })
		})
		b.Run("index-pipelined", func(b *testing.B) { hammerPipelined(b, addr, 64, 8, byIndex) })
		b.Run("hash-pipelined", func(b *testing.B) { hammerPipelined(b, addr, 64, 8, byHash) })
	}
	// The floor: the same clients and HTTP stack on a route that does next to nothing
	// (the empty consistency proof of a tree with itself).
	b.Run("floor", func(b *testing.B) {
		url := srv.URL + "/v1/log/proof/consistency?old=1&new=1"
		hammer(b, hc, func(*rand.Rand) string { return url })
	})
	b.Run("floor-pipelined", func(b *testing.B) {
		hammerPipelined(b, addr, 64, 8, func(*rand.Rand) string { return "/v1/log/proof/consistency?old=1&new=1" })
	})
	// Cold: the node cache fills as proofs ask for nodes (a server just started).
	b.Run("cold", run)
	// Warm: every node of the log is in memory, as on a server that has served a while
	// (the cache holds every node of a log of up to about two million leaves).
	start := time.Now()
	for level := uint(0); size>>level > 0; level++ {
		for i := range size >> level {
			if _, err := s.logProofs.nodes.Read(level, i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("node cache filled in %v", time.Since(start).Round(time.Millisecond))
	b.Run("warm", run)
}

// benchState starts a node and fills it with holdings: RIPE NCC allocates n /24s out of
// 193.0.0.0/8 to n organisations (registered in batches, as an import does); returns the
// client, the trust of its genesis and the height at which everything is provable.
func benchState(b *testing.B, n int) (*client.Client, *stateproof.Trust, int64) {
	b.Helper()
	_, _, c, trust := startProofNode(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	seq := uint64(0)
	submit := func(kind ipledger.Kind, body any) int64 {
		seq++
		return commit(b, c, kind.String(), mustTx(b, kind, seq, body, ripe)).Height
	}
	const batch = 400 // each transaction under ipledger.MaxTxBytes
	var h int64
	for from := 0; from < n; from += batch {
		var orgs []ipledger.NewOrg
		var items []ipledger.AllocateItem
		for i := from; i < min(n, from+batch); i++ {
			handle := fmt.Sprintf("ORG-B%d", i)
			orgs = append(orgs, ipledger.NewOrg{Handle: handle, Name: "Bench " + handle, Country: "NL"})
			r := ipledger.MustParseResource(fmt.Sprintf("193.%d.%d.0/24", i/256, i%256))
			items = append(items, ipledger.AllocateItem{Resource: r, Org: handle, Status: ipledger.StatusAllocatedPA})
		}
		submit(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: orgs})
		h = submit(ipledger.KindAllocate, ipledger.AllocateBody{Items: items})
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := c.ProveOrg(ctx, ipledger.RIPENCC, h); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatalf("height %d never became provable: %v", h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c, trust, h
}

// benchHoldings is the number of holdings BenchmarkStateProofHTTP allocates.
const benchHoldings = 20_000

// BenchmarkStateProofHTTP serves GET /v1/proof/resources/{r} for the /24 allocations of
// a node holding benchHoldings of them, to 64 concurrent clients over loopback, at the
// latest provable height and at a fixed one: who holds a random allocated /24, with
// the pool, the allocation, the holder and an absence proof one level down.
//
//	go test -run '^$' -bench StateProofHTTP -benchtime 20000x ./httpapi
func BenchmarkStateProofHTTP(b *testing.B) {
	c, _, h := benchState(b, benchHoldings)
	hc := benchClient()
	addr := strings.TrimPrefix(c.Base, "http://")
	for _, at := range []string{"", "?height=" + strconv.FormatInt(h, 10)} {
		name := "latest"
		if at != "" {
			name = "fixed-height"
		}
		path := func(rng *rand.Rand) string {
			i := rng.IntN(benchHoldings)
			return "/v1/proof/resources/193." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ".0/24" + at
		}
		b.Run(name, func(b *testing.B) {
			hammer(b, hc, func(rng *rand.Rand) string { return c.Base + path(rng) })
		})
		b.Run(name+"-pipelined", func(b *testing.B) { hammerPipelined(b, addr, 64, 8, path) })
	}
}

// BenchmarkVerifyResource is the client's cost: decode a resource proof and verify it
// (proofs, app hash, header, one ed25519 commit signature, the answer).
func BenchmarkVerifyResource(b *testing.B) {
	c, trust, h := benchState(b, 2000)
	raw, err := c.ProveResource(context.Background(), "193.1.2.0/24", h)
	if err != nil {
		b.Fatal(err)
	}
	res := ipledger.MustParseResource("193.1.2.0/24")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var q stateproof.Proof
		if err := json.Unmarshal(raw, &q); err != nil {
			b.Fatal(err)
		}
		if _, err := q.VerifyResource(res, trust); err != nil {
			b.Fatal(err)
		}
	}
}
