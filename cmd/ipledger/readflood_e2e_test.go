package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// floodRecords is how many /24s the synthetic import puts under 194.0.0.0/8: four times
// what one answer lists, so every answer of the /8 used to load them all.
const floodRecords = 30000

// writeFloodImport writes a RIPE NCC delegated file of n /24s in 194.0.0.0/8, each
// allocated to its own holder.
func writeFloodImport(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "2|ripencc|20140630|%d|19830705|20140630|+0200\n", n)
	fmt.Fprintf(&b, "ripencc|*|ipv4|*|%d|summary\n", n)
	for i := range n {
		fmt.Fprintf(&b, "ripencc|NL|ipv4|194.%d.%d.0|256|20100101|allocated\n", i/256, i%256)
	}
	path := filepath.Join(t.TempDir(), "delegated-ripencc-latest")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// goMemory is the memory the node's Go runtime holds from the system, from its metrics:
// what it obtained less what it released.
func goMemory(t testing.TB, base string) int64 {
	var sys, released float64
	for _, l := range strings.Split(string(ipledgertest.Get(t, base+"/metrics")), "\n") {
		if v, ok := strings.CutPrefix(l, "go_memstats_sys_bytes "); ok {
			sys, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_released_bytes "); ok {
			released, _ = strconv.ParseFloat(v, 64)
		}
	}
	if sys == 0 {
		t.Fatal("no go_memstats_sys_bytes in the node's metrics")
	}
	return int64(sys - released)
}

// vmRSS reads a process's resident set in kB from /proc.
func vmRSS(t testing.TB, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestExpensiveReadFlood is issue 13's item 3: a node whose 194.0.0.0/8 has thousands of
// children is flooded for 10 s by 200 clients on as many loopback addresses (so that no
// per-client limit is what saves it) asking for the /8 and for RIPE NCC's history, and for
// RDAP's answer of the /8. Its resident memory must stay under 1.5× the idle figure, and
// transactions submitted meanwhile must commit.
//
// IPLEDGER_FLOOD_BIN runs the flood against another build (main's, for the before figure:
// expect it to fail); IPLEDGER_FLOOD_REAL=1 imports the real 2014-06 statistics instead of
// the synthetic file (slower: for measuring by hand), with the default 750 MiB limit
// unless IPLEDGER_FLOOD_MEMLIMIT says another ("auto" for the synthetic state's rule);
// IPLEDGER_FLOOD_PATHS replaces the flooded paths (comma-separated).
func TestExpensiveReadFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s flood")
	}
	bin := os.Getenv("IPLEDGER_FLOOD_BIN")
	if bin == "" {
		bin = binary(t)
	}
	// The node's soft memory limit must play the part the default 750 MiB plays over the
	// real 2014-06 state (470–660 MB resident idle): what bounds the heap. Over the small
	// synthetic state the default leaves the collector (GOGC 300) free to grow the heap to
	// four times its live size, garbage that says nothing about the queries; so the node
	// is measured idle once, then restarted with a limit of 1.25× the memory Go held then,
	// and the test is whether the queries keep it inside that.
	imp, memLimit := writeFloodImport(t, floodRecords), ""
	importWait, settle := 60*time.Second, 3*time.Second
	// In the real 2014-06 state 194.0.0.0/8 is split between pools by inter-registry
	// transfers; 88.0.0.0/8 lies in a RIPE NCC pool of tens of thousands of holdings.
	target := "194.0.0.0/8"
	if os.Getenv("IPLEDGER_FLOOD_REAL") == "1" {
		imp, memLimit, target = ipledgertest.DataPath("delegated/2014-06"), "750MiB", "88.0.0.0/8"
		importWait, settle = 5*time.Minute, 20*time.Second
	}
	switch v := os.Getenv("IPLEDGER_FLOOD_MEMLIMIT"); v {
	case "":
	case "auto": // 1.25× the idle Go memory, as over the synthetic state
		memLimit = ""
	default:
		memLimit = v
	}
	paths := []string{"/v1/resources/" + target, "/v1/orgs/RIPE-NCC", "/rdap/ip/" + target}
	if v := os.Getenv("IPLEDGER_FLOOD_PATHS"); v != "" {
		paths = strings.Split(v, ",")
	}
	home, addr := newHome(t), ipledgertest.FreeAddr(t)
	var n *proc
	start := func(args ...string) {
		if memLimit != "" {
			args = append(args, "--mem-limit", memLimit)
		}
		n = startProc(t, bin, nodeArgs("dev", home, addr, args...)...)
	}
	start("--import", imp)
	n.waitLine(t, "import: ", importWait)
	// The import's own peak stays resident a long while: restart on the home, as an
	// operator's node runs, and measure that.
	restart := func() {
		n.stop(os.Interrupt)
		start()
		waitUp(t, addr, n.out.String)
	}
	// idleRSS asks each flooded path once, so that what it reads is in the store's block
	// cache (bounded by its size, whatever the number of clients), lets the garbage go, then
	// takes the lowest of a few readings.
	idleRSS := func() int64 {
		for _, p := range paths {
			if b := ipledgertest.Get(t, "http://"+addr+p); len(b) == 0 {
				t.Fatalf("GET %s: empty", p)
			}
		}
		time.Sleep(settle)
		idle := vmRSS(t, n.cmd.Process.Pid)
		for range 10 {
			time.Sleep(200 * time.Millisecond)
			idle = min(idle, vmRSS(t, n.cmd.Process.Pid))
		}
		if idle == 0 {
			t.Fatal("no VmRSS for the node")
		}
		return idle
	}
	restart()
	if memLimit == "" {
		idleRSS()
		memLimit = strconv.FormatInt(goMemory(t, "http://"+addr)*5/4, 10) + "B"
		restart()
	}
	base := "http://" + addr
	cl := &client.Client{Base: base}
	ctx := context.Background()
	info, err := cl.Resource(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if !info.ChildrenTruncated {
		t.Fatalf("%s has %d children: the flood needs more than one answer holds", target, len(info.Children))
	}

	pid := n.cmd.Process.Pid
	idle := idleRSS()

	floodCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	var peak atomic.Int64
	peak.Store(idle)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for floodCtx.Err() == nil {
			if v := vmRSS(t, pid); v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// Transactions from 127.0.0.1 while the flood runs: ARIN, whom the import does not use,
	// registers organisations one after another, each waited for.
	arin := ipledger.Signer{Org: ipledger.ARIN, Key: loadKeyFile(t, home, ipledger.ARIN)}
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arinOrg, err := cl.Org(ctx, ipledger.ARIN) // its registry transfers may have used sequences
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := arinOrg.Sequence + 1; floodCtx.Err() == nil; {
			body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-FLOOD%d", seq), Name: "flood test"}}}
			tx, err := ipledger.BuildTx(st.ChainID, ipledger.KindRegisterOrg, seq, 0, body, arin)
			if err != nil {
				t.Error(err)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			res, err := cl.Submit(wctx, tx, true)
			cancel()
			if err == nil && res.Committed() && res.Code == ipledger.CodeOK {
				committed.Add(1)
				seq++
			} else if err == nil && res.Committed() {
				t.Errorf("flood registration %d: %s %s", seq, res.CodeName, res.Log)
				return
			}
		}
	}()

	var answers, busy, other atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%253))}
			tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for n := i; floodCtx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(floodCtx, "GET", base+paths[n%len(paths)], nil)
				resp, err := hc.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					answers.Add(1)
				case http.StatusServiceUnavailable:
					busy.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	if os.Getenv("IPLEDGER_FLOOD_METRICS") == "1" {
		// For a developer: where the memory is, 8 s into the flood.
		time.Sleep(8 * time.Second)
		for _, l := range strings.Split(string(ipledgertest.Get(t, base+"/metrics")), "\n") {
			if strings.HasPrefix(l, "go_memstats_") && !strings.Contains(l, "_total") || strings.HasPrefix(l, "go_goroutines") || strings.HasPrefix(l, "ipledger_http_") {
				t.Log(l)
			}
		}
	}
	wg.Wait()
	after := vmRSS(t, pid)
	t.Logf("mem limit %s: idle %d kB, peak %d kB (%.2f×), after %d kB; %d answers, %d busy (503), %d other; %d transactions committed during the flood",
		memLimit, idle, peak.Load(), float64(peak.Load())/float64(idle), after, answers.Load(), busy.Load(), other.Load(), committed.Load())
	if peak.Load() > idle*3/2 {
		t.Errorf("peak resident memory %d kB is over 1.5× the idle %d kB", peak.Load(), idle)
	}
	if committed.Load() < 3 {
		t.Errorf("only %d transactions committed during the flood", committed.Load())
	}
	if answers.Load() == 0 {
		t.Error("the flood got no answer at all")
	}
	if _, err := cl.Status(ctx); err != nil {
		t.Fatalf("node after the flood: %v\n%s", err, n.out.String())
	}
}
