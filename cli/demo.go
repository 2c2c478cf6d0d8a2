package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// The dev chain's demo organisations (DESIGN.md, credits rule: "ipledger dev creates a demo
// organisation with a key in the dev home and credits, so every feature can be tried at
// once"). On a fresh dev home RIPE NCC registers DemoOrg and DemoLessor and binds their
// keys (HOME/keys/DEMO.key, HOME/keys/DEMO-LESSOR.key); it allocates the lessor a /22,
// and DEMO an AS number and a /24 of its own, from free pool space; the settlement agent
// mints DEMO credits; the lessor offers a /24 of its block for lease and lists its last
// /24 for sale for a week. DEMO can then take the lease (which authorises the leased block
// for DEMO's AS), bid on the listing, pay, and authorise routes in its own /24, from the
// CLI or `ipledger wallet --home HOME`.

// Handles of the demo organisations.
const (
	DemoOrg    = "DEMO"
	DemoLessor = "DEMO-LESSOR"
)

// The demo's amounts: DEMO's credits, and the offer's price per address per period.
const (
	demoCredits     = 1_000_000 // US cents: $10,000
	demoPrice       = 5         // credits per address per period
	demoPeriod      = 30 * 24 * 3600
	demoMaxPeriods  = 12
	demoLessorBits  = 22
	demoOfferedBits = 24
	demoReserve     = 12_800 // credits for the listed /24 (50 per address)
	demoListing     = 7 * 24 * time.Hour
)

// demo is what setUpDemo made, for its log line and tests.
type demo struct {
	block, offered ipledger.Resource
	own            ipledger.Resource // DEMO's own /24, to authorise routes in
	listed         ipledger.Resource // the lessor's /24 listed for sale
	asn            uint32
	offer, listing uint64
}

// setUpDemo creates the demo organisations on the dev chain of s, whose home is home.
func setUpDemo(ctx context.Context, s *server, home, chainID string) (*demo, error) {
	sub := localSubmitter{s.node}
	keys := map[string]ipledger.PrivateKey{}
	for _, name := range []string{ipledger.RIPENCC, SettlementAgent} {
		k, err := loadKey(home, name)
		if err != nil {
			return nil, err
		}
		keys[name] = k
	}
	for _, name := range []string{DemoOrg, DemoLessor} {
		k, err := loadKey(home, name)
		if err != nil {
			if k, err = createKey(home, name); err != nil {
				return nil, err
			}
		}
		keys[name] = k
	}
	send := func(org string, kind ipledger.Kind, body any) (ipledger.TxOutcome, error) {
		seq, err := sub.Sequence(ctx, org)
		if err != nil {
			return ipledger.TxOutcome{}, err
		}
		tx, err := ipledger.BuildTx(chainID, kind, seq+1, 0, body, ipledger.Signer{Org: org, Key: keys[org]})
		if err != nil {
			return ipledger.TxOutcome{}, err
		}
		h, err := sub.Submit(ctx, tx)
		if err != nil {
			return ipledger.TxOutcome{}, fmt.Errorf("%s: %w", kind, err)
		}
		out, err := s.node.App().WaitCommit(ctx, h)
		if err != nil {
			return out, fmt.Errorf("%s: %w", kind, err)
		}
		if out.Code != ipledger.CodeOK {
			return out, fmt.Errorf("%s rejected: %s: %s", kind, out.Code, out.Log)
		}
		return out, nil
	}
	if err := s.node.WaitHeight(ctx, 1); err != nil {
		return nil, err
	}
	kv := s.node.App().Committed().State
	// One free /21: the lessor's /22 first, then DEMO's own /24.
	space, err := freeBlock(kv, ipledger.RIPENCC, ipledger.IPv4, demoLessorBits-1)
	if err != nil {
		return nil, err
	}
	block := space.Block(demoLessorBits)
	own, err := ipledger.ParseResource(space.LastAddr().String())
	if err != nil {
		return nil, err
	}
	own = own.Block(demoLessorBits).Block(demoOfferedBits)
	asn, err := freeBlock(kv, ipledger.RIPENCC, ipledger.ASN, 32)
	if err != nil {
		return nil, err
	}
	d := &demo{block: block, own: own, asn: asn.FirstAS(), offered: block.Block(demoOfferedBits)}
	last, err := ipledger.ParseResource(block.LastAddr().String())
	if err != nil {
		return nil, err
	}
	d.listed = last.Block(demoOfferedBits)
	listEnd := s.node.App().Committed().Block.Time.Add(demoListing).Unix()
	steps := []struct {
		org  string
		kind ipledger.Kind
		body any
	}{
		{ipledger.RIPENCC, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
			{Handle: DemoOrg, Name: "Demo network (the dev chain's demo organisation)", Country: "NG", AbuseMailbox: "abuse@demo.example"},
			{Handle: DemoLessor, Name: "Demo lessor (holds a block to lease)", Country: "NL", AbuseMailbox: "abuse@lessor.example"},
		}}},
		{ipledger.RIPENCC, ipledger.KindBindKey, ipledger.BindKeyBody{Org: DemoOrg, Key: keys[DemoOrg].Public()}},
		{ipledger.RIPENCC, ipledger.KindBindKey, ipledger.BindKeyBody{Org: DemoLessor, Key: keys[DemoLessor].Public()}},
		{ipledger.RIPENCC, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
			{Resource: block, Org: DemoLessor, Status: ipledger.StatusAllocatedPA, Country: "NL"},
			{Resource: asn, Org: DemoOrg, Status: ipledger.StatusAllocatedAS, Country: "NG"},
			{Resource: own, Org: DemoOrg, Status: ipledger.StatusAssignedPI, Country: "NG"},
		}}},
		{SettlementAgent, ipledger.KindMint, ipledger.MintBody{To: DemoOrg, Amount: demoCredits}},
		{DemoLessor, ipledger.KindOffer, ipledger.OfferBody{Resource: d.offered, Price: demoPrice, Period: demoPeriod, MinPeriods: 1, MaxPeriods: demoMaxPeriods, Renewable: true}},
		{DemoLessor, ipledger.KindList, ipledger.ListBody{Resource: d.listed, Reserve: demoReserve, MinIncrement: 100, End: listEnd}},
	}
	for _, st := range steps {
		out, err := send(st.org, st.kind, st.body)
		if err != nil {
			return nil, err
		}
		for _, t := range out.Touched {
			switch st.kind {
			case ipledger.KindOffer:
				fmt.Sscanf(t, "offer/%d", &d.offer)
			case ipledger.KindList:
				fmt.Sscanf(t, "listing/%d", &d.listing)
			}
		}
	}
	return d, nil
}

// runDemo sets the demo up and logs one line; a failure is logged, not fatal: the chain
// serves on without it.
func runDemo(ctx context.Context, s *server, home, chainID string, log *slog.Logger) {
	d, err := setUpDemo(ctx, s, home, chainID)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("demo organisations not set up", "err", err)
		}
		return
	}
	log.Info("demo organisations ready", "org", DemoOrg, "key", keyPath(home, DemoOrg), "credits", demoCredits, "asn", d.asn, "own", d.own.String(),
		"lessor", DemoLessor, "block", d.block.String(), "offer", d.offer, "offered", d.offered.String(), "listing", d.listing, "listed", d.listed.String())
}

// freeBlock returns the first aligned block of 2^(family bits − bits) numbers in a pool
// of registry that no holding below the pool overlaps.
func freeBlock(kv ipledger.KV, registry string, fam ipledger.Family, bits int) (ipledger.Resource, error) {
	var pools []*ipledger.Holding
	err := ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if h.Resource.Family() == fam && h.Depth > 0 {
			return false
		}
		if h.Depth == 0 && h.Holder == registry && h.Resource.Family() == fam && h.Status != ipledger.StatusReserved {
			pools = append(pools, h)
		}
		return true
	})
	if err != nil {
		return ipledger.Resource{}, fmt.Errorf("pools of %s: %w", registry, err)
	}
	size := uint64(1) << (32 - bits)
	for _, p := range pools {
		children, err := ledger.Children(kv, p)
		if err != nil {
			return ipledger.Resource{}, err
		}
		first, last := number32(p.Resource, false), number32(p.Resource, true)
		start := alignUp(first, size)
		for _, c := range children {
			cf, cl := number32(c.Resource, false), number32(c.Resource, true)
			if start+size-1 < cf {
				break
			}
			if cl >= start {
				start = alignUp(cl+1, size)
			}
		}
		if start+size-1 <= last {
			return resource32(fam, start, start+size-1)
		}
	}
	return ipledger.Resource{}, errors.New("no free space in the pools of " + registry)
}

func alignUp(n, size uint64) uint64 { return (n + size - 1) / size * size }

// number32 is r's first (or last) number as an integer: an IPv4 address or AS number.
func number32(r ipledger.Resource, last bool) uint64 {
	if r.Family() == ipledger.ASN {
		if last {
			return uint64(r.LastAS())
		}
		return uint64(r.FirstAS())
	}
	a := r.FirstAddr()
	if last {
		a = r.LastAddr()
	}
	b := a.As4()
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

func resource32(fam ipledger.Family, first, last uint64) (ipledger.Resource, error) {
	if fam == ipledger.ASN {
		return ipledger.ASRange(uint32(first), uint32(last))
	}
	addr := func(n uint64) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	return ipledger.AddrRange(addr(first), addr(last))
}
