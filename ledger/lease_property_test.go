package ledger

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// The lease property test drives random lease life cycles on simulated block times, with
// gaps between blocks from a second to half a year, and checks after every step: credits
// are conserved (the sum of balances is what was minted less what was burned), no block is
// leased twice at once, and exactly one non-AS0 authorisation in force covers every part of
// a leased block: its lessee's.

var (
	leaseLessors = []string{"ORG-LA", "ORG-LB"}
	leaseLessees = []string{"ORG-T1", "ORG-T2", "ORG-T3"}
)

func runLeaseSequence(t *testing.T, data []byte) map[string]int {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, leaseLessors...)
	e.newOrg(ipledger.RIPENCC, leaseLessees...)
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/20", "ORG-LA", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, alloc("193.0.16.0/20", "ORG-LB", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, alloc("2001:600::/32", "ORG-LA", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	// The lessor's own authorisations, which leases must suppress.
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/20"), MaxLength: 24, ASN: 100}, "ORG-LA")
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("2001:600::/32"), MaxLength: 48, ASN: 100}, "ORG-LA")
	var minted uint64
	s := &stream{b: data}
	seen := map[string]int{}
	for step := 0; len(s.b) >= 2 && step < 300; step++ {
		before := e.view()
		var res Result
		kind := ""
		switch s.next() % 9 {
		case 0:
			amount := uint64(s.next() % 3000)
			res, kind = e.do(ipledger.KindMint, ipledger.MintBody{To: leaseLessees[s.next()%3], Amount: amount}, testAgent), "mint"
			if res.Code == ipledger.CodeOK {
				minted += amount
			}
		case 1, 2:
			var r ipledger.Resource
			if s.next()%4 == 0 {
				r = mustRes("2001:600::/32")
				p, _ := r.Prefix()
				sub := netip.PrefixFrom(p.Addr(), 40+int(s.next()%9))
				r, _ = ipledger.PrefixResource(netip.PrefixFrom(addNth(sub, int(s.next()%8)), sub.Bits()))
			} else {
				r = s.block()
			}
			minP := 1 + int(s.next()%3)
			body := ipledger.OfferBody{Resource: r, Price: uint64(s.next() % 4), Period: int64(1+s.next()%5) * day,
				MinPeriods: minP, MaxPeriods: minP + int(s.next()%4), Renewable: s.next()%2 == 0}
			res, kind = e.do(ipledger.KindOffer, body, leaseLessors[s.next()%2]), "offer"
		case 3:
			res, kind = e.do(ipledger.KindWithdrawOffer, ipledger.WithdrawOfferBody{Offer: uint64(1 + s.next()%20)}, leaseLessors[s.next()%2]), "withdraw-offer"
		case 4, 5:
			// Mostly an offer that is open, sometimes any id.
			id := uint64(1 + s.next()%20)
			var open []uint64
			Offers(e.kv, func(o *ipledger.Offer) bool { open = append(open, o.ID); return true })
			if pick := s.next(); len(open) > 0 && pick%4 != 0 {
				id = open[int(pick)%len(open)]
			}
			res, kind = e.do(ipledger.KindLease, ipledger.LeaseBody{Offer: id, ASN: 64500 + s.next()%3, Periods: 1 + int(s.next()%6)}, leaseLessees[s.next()%3]), "lease"
		case 6:
			// Mostly a running lease signed by its lessee.
			id, by := uint64(1+s.next()%12), leaseLessees[s.next()%3]
			var live []*ipledger.Lease
			Leases(e.kv, func(l *ipledger.Lease) bool {
				if l.State != ipledger.LeaseEnded {
					live = append(live, l)
				}
				return true
			})
			if pick := s.next(); len(live) > 0 && pick%4 != 0 {
				id, by = live[int(pick)%len(live)].ID, live[int(pick)%len(live)].Lessee
			}
			if s.next()%2 == 0 {
				res, kind = e.do(ipledger.KindRenew, ipledger.RenewBody{Lease: id, Periods: 1 + int(s.next()%3)}, by), "renew"
			} else {
				res, kind = e.do(ipledger.KindTerminate, ipledger.TerminateBody{Lease: id}, by), "terminate"
			}
		case 7:
			from, to := leaseLessees[s.next()%3], leaseLessees[s.next()%3]
			res, kind = e.do(ipledger.KindPay, ipledger.PayBody{To: to, Amount: uint64(s.next() % 500)}, from), "pay"
		case 8:
			// Time passes: mostly hours to days, sometimes half a year without a block.
			gap := time.Duration(1+s.next()%(20*24)) * time.Hour
			if s.next()%8 == 0 {
				gap = 180 * 24 * time.Hour
			}
			for _, ev := range e.advance(gap) {
				seen[ev.Kind]++
			}
			checkLeaseInvariants(t, e, minted)
			continue
		}
		if res.Code == ipledger.CodeOK {
			seen[kind]++
		} else {
			e.checkRejected(before, e.last, res)
		}
		checkLeaseInvariants(t, e, minted)
	}
	return seen
}

// addNth returns the address of the n-th block of p's size after p.
func addNth(p netip.Prefix, n int) netip.Addr {
	a := p.Addr().As16()
	bit := p.Bits() - 1 // the lowest network bit
	for ; n > 0; n-- {
		i := bit / 8
		carry := byte(1 << (7 - bit%8))
		for ; i >= 0; i-- {
			v := a[i] + carry
			overflow := v < a[i]
			a[i] = v
			if !overflow {
				break
			}
			carry = 1
		}
	}
	return netip.AddrFrom16(a)
}

func checkLeaseInvariants(t *testing.T, e *tenv, minted uint64) {
	t.Helper()
	checkCoverIndex(t, e.kv, "lease sequence")
	var sum uint64
	if err := Balances(e.kv, func(_ string, n uint64) bool { sum += n; return true }); err != nil {
		t.Fatal(err)
	}
	supply, _ := Supply(e.kv)
	if sum != supply || supply != minted {
		t.Fatalf("credits: balances sum %d, supply %d, minted %d", sum, supply, minted)
	}
	running, err := RunningLeases(e.kv)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(running); i++ {
		if running[i-1].Resource.Overlaps(running[i].Resource) {
			t.Fatalf("leased twice at once: %s and %s", running[i-1].Resource, running[i].Resource)
		}
	}
	var inForce []*ipledger.RouteAuth
	if err := InForce(e.kv, e.time.Unix(), func(ra *ipledger.RouteAuth) bool { inForce = append(inForce, ra); return true }); err != nil {
		t.Fatal(err)
	}
	for _, rl := range running {
		l := e.lease(rl.Lease)
		if l.State == ipledger.LeaseEnded || l.Resource != rl.Resource {
			t.Fatalf("running lease %d is %+v", rl.Lease, l)
		}
		if h, _ := Lookup(e.kv, l.Resource); h[len(h)-1].Holder != l.Lessee || h[len(h)-1].Status != ipledger.StatusLeased {
			t.Fatalf("lease %d: block held by %s (%s)", l.ID, h[len(h)-1].Holder, h[len(h)-1].Status)
		}
		for _, p := range l.Resource.Prefixes() {
			pr, _ := ipledger.PrefixResource(p)
			n := 0
			for _, ra := range inForce {
				rr, _ := ipledger.PrefixResource(ra.Prefix)
				if ra.ASN == 0 || !rr.Overlaps(pr) {
					continue
				}
				n++
				if ra.Lease != l.ID || ra.ASN != l.ASN || ra.Holder != l.Lessee {
					t.Fatalf("lease %d (%s, AS%d): authorisation %+v covers it too", l.ID, p, l.ASN, ra)
				}
			}
			if n != 1 {
				t.Fatalf("lease %d: %d non-AS0 authorisations cover %s", l.ID, n, p)
			}
		}
	}
	if err := Leases(e.kv, func(l *ipledger.Lease) bool {
		if l.State == ipledger.LeaseEnded {
			for _, rl := range running {
				if rl.Lease == l.ID {
					t.Fatalf("ended lease %d still encumbers %s", l.ID, rl.Resource)
				}
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseProperties(t *testing.T) {
	seededRuns(t, 30, 0x1ea5e, 1200, runLeaseSequence, "offer", "lease", "renew", "terminate", "lease-paid", "lease-grace", "lease-ended", "route-expired")
}

// seededRuns runs run over n byte streams of size bytes drawn from seeds 0..n-1 (with
// salt) and sums what each applied; every one of want must have happened in some run, or
// the invariants were checked on too little.
func seededRuns(t *testing.T, n, salt uint64, size int, run func(*testing.T, []byte) map[string]int, want ...string) {
	total := map[string]int{}
	for seed := range n {
		rng := rand.New(rand.NewPCG(seed, salt))
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for k, c := range run(t, data) {
			total[k] += c
		}
	}
	for _, k := range want {
		if total[k] == 0 {
			t.Errorf("no %s in any sequence: %v", k, total)
		}
	}
	t.Logf("applied: %v", total)
}

func FuzzLeaseSequences(f *testing.F) {
	f.Add([]byte{0, 1, 0, 200, 0, 1, 0, 3, 0, 4, 0, 1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) { runLeaseSequence(t, data) })
}
