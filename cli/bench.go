package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

func benchCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure a running node"}
	var node string
	var orgs int
	var dur time.Duration
	var workload, baseAddr, clientKind string
	load := &cobra.Command{
		Use:   "load",
		Short: "Post signed assignments and two-signer transfers to /v1/tx?wait=commit for a while; report committed tx/s and POST-to-commit latency",
		Long: `Sets up --orgs organisations (registered and allocated a /18 each by RIPE NCC, with the
registry key from --home; a fresh dev chain), then runs one client per organisation for
--duration (at most 512 transactions each): each posts a transaction and waits for its
commit, then the next. Three in four
are assignments of a /28 to the next organisation, one in four a transfer of a /28 to it,
signed by both.

With --workload lease the clients pair up: the first of a pair offers /28s of its block for
lease, the second takes each offer (paying its first period from credits the settlement
agent minted at set-up, with the agent key from --home) and publishes the block's
geolocation; the lessor also authorises a route for another /28 of its block. Every
transaction of the lease life cycle is counted.

With --workload market the clients pair up too, with credits minted the same way: the
first of a pair lists /28s of its block for sale, swaps other /28s to the second (signed
by both) and orders /28s in the class auctions; the second bids on each listing and asks
each /28 it was swapped in its class: listings, bids, swaps, orders and asks one in five
each, none of them settling inside the window.

The summary gives the node's CPU time per committed transaction (the nodes' together when
--node names several), from process_cpu_seconds_total on their /metrics at the window's
start and end.`,
		Args: cobra.NoArgs,
		RunE: e.inHome(func(cmd *cobra.Command, _ []string, home string) error {
			ripeKey, err := loadKey(home, ipledger.RIPENCC)
			if err != nil {
				return err
			}
			var cls []*client.Client
			for _, u := range strings.Split(node, ",") {
				cls = append(cls, &client.Client{Base: strings.TrimSpace(u), HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: orgs + 10}}})
			}
			if clientKind != "conn" && clientKind != "net/http" {
				return fmt.Errorf("--client %q: want conn or net/http", clientKind)
			}
			lo := loadOptions{baseAddr: baseAddr, orgs: orgs, dur: dur, conns: clientKind == "conn", workload: workload}
			switch workload {
			case "registry":
				return runLoad(cmd.Context(), e, cls, ripeKey, lo, nil)
			case "lease", "market":
				agentKey, err := loadKey(home, SettlementAgent)
				if err != nil {
					return err
				}
				return runLoad(cmd.Context(), e, cls, ripeKey, lo, &agentKey)
			}
			return fmt.Errorf("--workload %q: want registry, lease or market", workload)
		}),
	}
	load.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL; several, comma-separated, spread the clients over a network's nodes (set-up goes to the first)")
	load.Flags().StringVar(&baseAddr, "base", "193.0.0.0", "first address of the free RIPE NCC pool space the organisations' /18s are allocated from (another run on the same chain needs another, e.g. 194.0.0.0)")
	load.Flags().IntVar(&orgs, "orgs", 2000, "organisations, one concurrent client each (at most 2800)")
	load.Flags().DurationVar(&dur, "duration", 30*time.Second, "how long to post")
	load.Flags().StringVar(&workload, "workload", "registry", "registry (assignments and transfers), lease (offers, leases, geolocation, route authorisations) or market (listings, bids, swaps, class auction orders and asks)")
	load.Flags().StringVar(&clientKind, "client", "conn", "how clients post: conn (a kept-alive connection each, requests written and read on the client's goroutine: the least CPU taken from a node on the same machine) or net/http (Go's HTTP client)")
	c.AddCommand(load)
	restart := &cobra.Command{
		Use:   "restart",
		Short: "Start the (stopped) node in --home and report the seconds until it answers a resource query, and until its state machine is ready",
		Args:  cobra.NoArgs,
		RunE: e.inHome(func(cmd *cobra.Command, _ []string, home string) error {
			start := time.Now()
			s, err := startServer(cmd.Context(), home, serveFlags{http: "127.0.0.1:0", p2p: "127.0.0.1:0", rpc: "off"}, e.logger())
			if err != nil {
				return err
			}
			defer s.stop()
			cl := &client.Client{Base: "http://" + s.addr}
			for {
				_, err := cl.Resource(cmd.Context(), "193.0.0.1")
				if err == nil {
					break
				}
				if cmd.Context().Err() != nil || time.Since(start) > time.Minute {
					return fmt.Errorf("no answer to a resource query after %s: %w", time.Since(start).Round(time.Second), userError(err))
				}
				time.Sleep(5 * time.Millisecond)
			}
			answered := time.Since(start)
			if err := s.node.App().WaitReady(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "restart: answered queries after %.2f s; state machine ready after %.2f s (height %d)\n",
				answered.Seconds(), time.Since(start).Seconds(), s.node.App().Committed().Height)
			return nil
		}),
	}
	c.AddCommand(restart)
	c.AddCommand(benchWebCmd(e))
	return c
}

// loadOptions are bench load's settings: orgs organisations with /18s from baseAddr on,
// posting for dur, each over a connection of its own (client.SubmitConn) if conns, running
// workload ("registry", "lease", "market").
type loadOptions struct {
	baseAddr string
	orgs     int
	dur      time.Duration
	conns    bool
	workload string
}

// runLoad sets up the organisations and runs the registry workload, or lo.workload's (lease
// or market) with credits minted with agentKey (the settlement agent's). Client i posts to cls[i mod len(cls)];
// the set-up goes to cls[0].
func runLoad(ctx context.Context, e *env, cls []*client.Client, ripeKey ipledger.PrivateKey, lo loadOptions, agentKey *ipledger.PrivateKey) error {
	baseAddr, n, dur := lo.baseAddr, lo.orgs, lo.dur
	if n < 2 || n > 2800 {
		return fmt.Errorf("--orgs must be 2 to 2800")
	}
	cl := cls[0]
	st, err := cl.Status(ctx)
	if err != nil {
		return userError(err)
	}
	chainID := st.ChainID
	// The organisations take /18s from baseAddr on, which must be free RIPE NCC pool space.
	ba, err := netip.ParseAddr(baseAddr)
	if err != nil || !ba.Is4() {
		return fmt.Errorf("--base %q: want an IPv4 address", baseAddr)
	}
	info, err := cl.Resource(ctx, baseAddr)
	if err != nil {
		return userError(err)
	}
	if pool := info.Chain[0]; pool.Holder != ipledger.RIPENCC || len(info.Chain) != 1 {
		return fmt.Errorf("%s is not free RIPE NCC pool space on this chain; give another --base or run the load on a fresh dev chain", baseAddr)
	}
	base := ba.As4()
	block := func(i, sub int) ipledger.Resource { // /18 number i, or its /28 number sub
		a := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		a += uint32(i) << 14
		bits := 18
		if sub >= 0 {
			a += uint32(sub) << 4
			bits = 28
		}
		r, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits))
		return r
	}
	signers := make([]ipledger.Signer, n)
	var orgsBody ipledger.RegisterOrgBody
	var alloc ipledger.AllocateBody
	run := time.Now().Unix() % 100000
	for i := range signers {
		k, err := ipledger.GenerateKey(nil)
		if err != nil {
			return err
		}
		h := fmt.Sprintf("ORG-LOAD%d-%d", run, i)
		signers[i] = ipledger.Signer{Org: h, Key: k}
		orgsBody.Orgs = append(orgsBody.Orgs, ipledger.NewOrg{Handle: h, Name: "Load generator " + h, Keys: []ipledger.PublicKey{k.Public()}})
		alloc.Items = append(alloc.Items, ipledger.AllocateItem{Resource: block(i, -1), Org: h, Status: ipledger.StatusAllocatedPA})
	}
	ripe, err := cl.Org(ctx, ipledger.RIPENCC)
	if err != nil {
		return userError(err)
	}
	ripeSigner := ipledger.Signer{Org: ipledger.RIPENCC, Key: ripeKey}
	// Set-up transactions of at most 200 items each keep under the transaction size limit.
	type step struct {
		kind ipledger.Kind
		body any
	}
	var steps []step
	for i := 0; i < n; i += 200 {
		j := min(i+200, n)
		steps = append(steps, step{ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: orgsBody.Orgs[i:j]}})
	}
	for i := 0; i < n; i += 200 {
		j := min(i+200, n)
		steps = append(steps, step{ipledger.KindAllocate, ipledger.AllocateBody{Items: alloc.Items[i:j]}})
	}
	for i, step := range steps {
		tx, err := ipledger.BuildTx(chainID, step.kind, ripe.Sequence+1+uint64(i), 0, step.body, ripeSigner)
		if err != nil {
			return err
		}
		res, err := cl.Submit(ctx, tx, true)
		if err != nil {
			return fmt.Errorf("set-up: %w", userError(err))
		}
		if !res.Committed() || res.Code != ipledger.CodeOK {
			return fmt.Errorf("set-up %s did not commit cleanly: %+v", step.kind, res)
		}
	}
	if agentKey != nil {
		agent, err := cl.Org(ctx, SettlementAgent)
		if err != nil {
			return userError(err)
		}
		for i, sg := range signers {
			tx, err := ipledger.BuildTx(chainID, ipledger.KindMint, agent.Sequence+1+uint64(i), 0, ipledger.MintBody{To: sg.Org, Amount: 1 << 40}, ipledger.Signer{Org: SettlementAgent, Key: *agentKey})
			if err != nil {
				return err
			}
			if _, err := cl.Submit(ctx, tx, i == len(signers)-1); err != nil {
				return fmt.Errorf("set-up mint: %w", userError(err))
			}
		}
	}
	// Every node must have committed the set-up before its clients post.
	if len(cls) > 1 {
		st0, err := cl.Status(ctx)
		if err != nil {
			return userError(err)
		}
		for _, c := range cls[1:] {
			for {
				st, err := c.Status(ctx)
				if err != nil {
					return fmt.Errorf("%s: %w", c.Base, userError(err))
				}
				if st.Height >= st0.Height {
					break
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	fmt.Fprintf(e.stdout, "set up %d organisations with a /18 each; posting for %s to %d node(s)\n", n, dur, len(cls))

	submit := make([]func(context.Context, []byte) (apitypes.SubmitResult, error), n)
	for i := range submit {
		c := cls[i%len(cls)]
		if !lo.conns {
			submit[i] = func(ctx context.Context, tx []byte) (apitypes.SubmitResult, error) { return c.Submit(ctx, tx, true) }
			continue
		}
		sc, err := client.NewSubmitConn(c.Base)
		if err != nil {
			return err
		}
		defer sc.Close()
		submit[i] = func(ctx context.Context, tx []byte) (apitypes.SubmitResult, error) { return sc.Submit(ctx, tx, true) }
	}
	var ok, rejected, failed atomic.Int64
	// firstErr is the first client error, reported with the totals: a node that does not
	// trust this client's address (--trusted-clients) caps its connections and rates.
	var firstErr atomic.Pointer[error]
	lat := make([][]time.Duration, n)
	runCtx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	start := time.Now()
	var cpu *cpuWindow // the nodes' CPU over the window, from its start
	if agentKey != nil {
		cpu = startCPUWindow(ctx, cls, dur)
	}
	var wg sync.WaitGroup
	// post submits tx and waits for its commit; nil stops the client.
	post := func(i int, tx []byte) *apitypes.SubmitResult {
		t0 := time.Now()
		res, err := submit[i](ctx, tx)
		if err == nil && !res.Committed() {
			err = fmt.Errorf("%s: no commit seen", res.Hash)
		}
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
			failed.Add(1)
			return nil // the sequence is now uncertain; this client stops
		}
		if time.Since(start) > dur {
			return nil // committed after the window: not counted
		}
		lat[i] = append(lat[i], time.Since(t0))
		if res.Code != ipledger.CodeOK {
			rejected.Add(1)
			return nil
		}
		ok.Add(1)
		return &res
	}
	// created finds the id of the object of kind a transaction created among those it
	// touched (0 if none).
	created := func(res *apitypes.SubmitResult, kind string) uint64 {
		for _, obj := range res.Outcome.Touched {
			if id, ok := strings.CutPrefix(obj, kind+"/"); ok {
				n, _ := strconv.ParseUint(id, 10, 64)
				return n
			}
		}
		return 0
	}
	for i := 0; lo.workload == "market" && i+1 < n; i += 2 {
		marketPair(runCtx, &wg, chainID, i, i+1, signers, block, post, created)
	}
	for i := 0; lo.workload == "lease" && i+1 < n; i += 2 {
		type offered struct {
			id    uint64
			block ipledger.Resource
		}
		offers := make(chan offered)
		wg.Add(2)
		go func() { // the lessor
			defer wg.Done()
			defer close(offers)
			me, seq := signers[i], uint64(0)
			for k := 0; k < 256 && runCtx.Err() == nil; k++ {
				seq++
				tx, _ := ipledger.BuildTx(chainID, ipledger.KindOffer, seq, 0, ipledger.OfferBody{Resource: block(i, k), Price: 1, Period: 30 * 24 * 3600, MinPeriods: 1, MaxPeriods: 12}, me)
				res := post(i, tx)
				if res == nil {
					return
				}
				select {
				case offers <- offered{created(res, "offer"), block(i, k)}:
				case <-runCtx.Done():
					return
				}
				seq++
				p, _ := block(i, 512+k).Prefix()
				tx, _ = ipledger.BuildTx(chainID, ipledger.KindAuthorise, seq, 0, ipledger.AuthoriseBody{Prefix: p, MaxLength: 28, ASN: 64500}, me)
				if post(i, tx) == nil {
					return
				}
			}
		}()
		go func() { // the lessee
			defer wg.Done()
			me, seq := signers[i+1], uint64(0)
			for o := range offers {
				seq++
				tx, _ := ipledger.BuildTx(chainID, ipledger.KindLease, seq, 0, ipledger.LeaseBody{Offer: o.id, ASN: 64501, Periods: 3}, me)
				if post(i+1, tx) == nil {
					return
				}
				seq++
				tx, _ = ipledger.BuildTx(chainID, ipledger.KindSetGeo, seq, 0, ipledger.SetGeoBody{Resource: o.block, Country: "KE", City: "Nairobi"}, me)
				if post(i+1, tx) == nil {
					return
				}
			}
		}()
	}
	// The registry workload: client i assigns successive /28s of its /18 to the next
	// organisation, and every fourth transaction transfers a /28 from the top of the /18
	// to it (signed by both).
	registryTx := func(i, k int) ([]byte, error) {
		me, next := signers[i], signers[(i+1)%n]
		if k%4 == 3 {
			return ipledger.BuildTx(chainID, ipledger.KindTransfer, uint64(k+1), 0, ipledger.TransferBody{Resource: block(i, 1023-k), To: next.Org}, me, next)
		}
		return ipledger.BuildTx(chainID, ipledger.KindAssign, uint64(k+1), 0, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: block(i, k), Org: next.Org, Status: ipledger.StatusAssignedPA}}}, me)
	}
	var presigned [][][]byte
	if agentKey == nil {
		// Sign ahead, as ../shared/bench/cometbase does, so the window measures the node
		// rather than the load generator's signing: enough for one transaction per client
		// every 100 ms (no client commits faster than a block); past that, clients sign as
		// they go.
		per := min(512, int(dur/(100*time.Millisecond))+1)
		presigned = make([][][]byte, n)
		t0 := time.Now()
		var sg sync.WaitGroup
		var next atomic.Int64
		var serr atomic.Value
		for range runtime.GOMAXPROCS(0) {
			sg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					presigned[i] = make([][]byte, per)
					for k := range per {
						tx, err := registryTx(i, k)
						if err != nil {
							serr.Store(err)
							return
						}
						presigned[i][k] = tx
					}
				}
			})
		}
		sg.Wait()
		if err, _ := serr.Load().(error); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "signed %d transactions ahead in %.1f s\n", n*per, time.Since(t0).Seconds())
		start = time.Now()
		cpu = startCPUWindow(ctx, cls, dur)
		cancel()
		runCtx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	for i := 0; agentKey == nil && i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < 512 && runCtx.Err() == nil; k++ {
				var tx []byte
				if k < len(presigned[i]) {
					tx = presigned[i][k]
				} else {
					var err error
					if tx, err = registryTx(i, k); err != nil {
						failed.Add(1)
						return
					}
				}
				if post(i, tx) == nil {
					return
				}
			}
		}(i)
	}
	wg.Wait()
	el := min(time.Since(start), dur)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	fmt.Fprintf(e.stdout, "committed %d transactions in %.1f s: %.0f tx/s; POST-to-commit latency p50 %s p99 %s; %d rejected, %d client errors\n",
		ok.Load(), el.Seconds(), float64(ok.Load())/el.Seconds(), pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), rejected.Load(), failed.Load())
	if sec, err := cpu.seconds(); err != nil {
		fmt.Fprintf(e.stdout, "node CPU per committed transaction: unknown (%v)\n", userError(err))
	} else if ok.Load() > 0 {
		fmt.Fprintf(e.stdout, "node CPU %.1f s in the window: %.0f CPU-µs per committed transaction\n", sec, sec*1e6/float64(ok.Load()))
	}
	if p := firstErr.Load(); p != nil {
		fmt.Fprintf(e.stdout, "first client error: %v\n", userError(*p))
		if ipledger.ErrorCode(*p) == ipledger.CodeRateLimited {
			fmt.Fprintf(e.stdout, "the node rate-limits this client: start it with --trusted-clients naming this host's address\n")
		}
	}
	return nil
}
