package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ipledger/ipledger"
)

// The property test drives random transaction sequences, chosen by a byte stream, over a
// small part of 193.0.0.0/8 and checks the ledger's invariants after every step.

var propOrgs = []string{"ORG-P0", "ORG-P1", "ORG-P2", "ORG-P3"}

type stream struct{ b []byte }

func (s *stream) next() uint32 {
	if len(s.b) < 2 {
		return 0
	}
	v := binary.BigEndian.Uint16(s.b)
	s.b = s.b[2:]
	return uint32(v)
}

// block picks IPv4 space inside 193.0.0.0/16: mostly an aligned /20 to /26, sometimes a
// range of 64 to 4096 addresses from any 64-aligned start (not CIDR-aligned, so the
// cover index sees blocks larger than the holdings).
func (s *stream) block() ipledger.Resource {
	shape := s.next()
	off := s.next() << 6 // 193.0.x.y, 64-aligned
	a := netip.AddrFrom4([4]byte{193, 0, byte(off >> 8), byte(off)})
	if shape%4 == 0 {
		r, err := ipledger.AddrCount(a, uint64(1+shape/4%64)*64)
		if err == nil && ipledger.MustParseResource("193.0.0.0/16").Contains(r) {
			return r
		}
	}
	p := netip.PrefixFrom(a, 20+int(shape%7)).Masked()
	r, _ := ipledger.PrefixResource(p)
	return r
}

func (s *stream) org() string { return propOrgs[s.next()%uint32(len(propOrgs))] }

func runSequence(t *testing.T, data []byte) (applied map[ipledger.Kind]int) {
	applied = map[ipledger.Kind]int{}
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, propOrgs...)
	s := &stream{b: data}
	// done holds every transaction that consumed its sequence, accepted or rejected: none
	// may apply again. okHashes counts the hashes applied with code 0.
	var done []*ipledger.Tx
	okHashes := map[ipledger.Hash]int{}
	for step := 0; len(s.b) >= 2 && step < 200; step++ {
		op := s.next() % 8
		r := s.block()
		by := s.org()
		// Mostly act as someone who holds r, so holder-signed kinds get exercised.
		if chain, _ := Lookup(e.kv, r); s.next()%4 != 0 && len(chain) > 1 {
			by = chain[1+int(s.next())%(len(chain)-1)].Holder
		}
		before := e.view()
		heldBefore := holderOf(e, r)
		var tx *ipledger.Tx
		switch op {
		case 0:
			// Now and then the registry marks pool space AVAILABLE or RESERVED instead.
			to, st := by, ipledger.StatusAllocatedPA
			switch s.next() % 6 {
			case 0:
				to, st = ipledger.RIPENCC, ipledger.StatusAvailable
			case 1:
				to, st = ipledger.RIPENCC, ipledger.StatusReserved
			}
			tx = e.build(ipledger.KindAllocate, e.seq[ipledger.RIPENCC]+1, alloc(r.String(), to, st), ipledger.RIPENCC)
		case 1:
			tx = e.build(ipledger.KindAssign, e.seq[by]+1, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: r, Org: s.org(), Status: ipledger.StatusAssignedPA}}}, by)
		case 2:
			to := s.org()
			if to == by {
				continue
			}
			tx = e.build(ipledger.KindTransfer, e.seq[by]+1, ipledger.TransferBody{Resource: r, To: to}, by, to)
		case 3:
			tx = e.build(ipledger.KindReturn, e.seq[by]+1, ipledger.ReturnBody{Resource: r}, by)
		case 4:
			tx = e.build(ipledger.KindAssign, e.seq[by]+1, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: r, Org: s.org(), Status: ipledger.StatusSubAllocatedPA}}}, by)
		case 6:
			// Pool space between RIPE NCC and ARIN: splits pools and merges them back.
			from, to := ipledger.RIPENCC, ipledger.ARIN
			if chain, _ := Lookup(e.kv, r); len(chain) > 0 && chain[0].Holder == ipledger.ARIN {
				from, to = to, from
			}
			tx = e.build(ipledger.KindRegistryTransfer, e.seq[from]+1, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: r, From: from, To: to}}}, from, to)
		case 5, 7:
			// A replay of an earlier transaction, accepted or rejected, after the state
			// has changed since (5), or again at once (7).
			if len(done) == 0 {
				continue
			}
			old := done[len(done)-1]
			if op == 5 {
				old = done[int(s.next())%len(done)]
			}
			res := e.applyTx(old)
			if res.Code != ipledger.CodeStaleSequence {
				t.Fatalf("step %d: replay of %s gave %s", step, old.Kind, res.Code)
			}
			e.checkRejected(before, old, res)
			continue
		}
		res := e.applyTx(tx)
		if res.Code == ipledger.CodeInternal {
			t.Fatalf("step %d: internal error: %s", step, res.Log)
		}
		if consumes(res.Code) {
			done = append(done, tx)
		}
		if res.Code != ipledger.CodeOK {
			e.checkRejected(before, tx, res)
			continue
		}
		if okHashes[tx.Hash]++; okHashes[tx.Hash] > 1 {
			t.Fatalf("step %d: %s %s applied with code 0 twice", step, tx.Kind, tx.Hash)
		}
		applied[tx.Kind]++
		signer := tx.Signatures[0].Org
		// Only a holder's key acts: a holder-signed kind succeeded only if the signer held
		// all of r beforehand (somewhere in the chain).
		if tx.Kind != ipledger.KindAllocate && !heldBefore[signer] {
			t.Fatalf("step %d: %s of %s by %s succeeded but %s did not hold it", step, tx.Kind, r, signer, signer)
		}
		checkInvariants(t, e, fmt.Sprintf("step %d (%s %s by %s)", step, tx.Kind, r, signer))
	}
	return applied
}

// holderOf returns the set of organisations holding all of r at some depth.
func holderOf(e *tenv, r ipledger.Resource) map[string]bool {
	chain, err := Lookup(e.kv, r)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]bool{}
	for _, h := range chain {
		m[h.Holder] = true
	}
	return m
}

func checkInvariants(t *testing.T, e *tenv, where string) {
	t.Helper()
	checkCoverIndex(t, e.kv, where)
	byDepth := map[int][]*ipledger.Holding{}
	if err := Holdings(e.kv, func(h *ipledger.Holding) bool {
		byDepth[h.Depth] = append(byDepth[h.Depth], h)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	// Pools cover each family exactly: address counts are conserved by every kind.
	var v4 uint64
	for _, h := range byDepth[0] {
		if h.Resource.Family() == ipledger.IPv4 {
			n, _ := h.Resource.Size()
			v4 += n
		}
	}
	if v4 != 1<<32 {
		t.Fatalf("%s: IPv4 pools hold %d addresses", where, v4)
	}
	for d, hs := range byDepth {
		for i, h := range hs {
			if i > 0 && hs[i-1].Resource.Overlaps(h.Resource) {
				t.Fatalf("%s: depth %d holdings %s and %s overlap", where, d, hs[i-1].Resource, h.Resource)
			}
			if d == 0 {
				continue
			}
			p, err := state{e.kv}.at(h.Resource, d-1)
			if err != nil || p == nil {
				t.Fatalf("%s: depth %d holding %s has no parent (%v)", where, d, h.Resource, err)
			}
			// An RIR's AVAILABLE and RESERVED pool space is free: nothing is held below it.
			if d == 1 && (p.Status == ipledger.StatusAvailable || p.Status == ipledger.StatusReserved) {
				t.Fatalf("%s: holding %s lies in the %s pool %s", where, h.Resource, p.Status, p.Resource)
			}
			if got, _ := HoldingByID(e.kv, h.ID); got == nil || got.Resource != h.Resource {
				t.Fatalf("%s: id index of %d wrong", where, h.ID)
			}
		}
	}
}

// checkCoverIndex checks the cover index against the holdings: every holding has exactly
// its entry (at the key of its smallest aligned block, naming its holding key), and every
// entry names a stored holding whose entry it is (none stray or stale).
func checkCoverIndex(t testing.TB, kv ipledger.KV, where string) {
	t.Helper()
	var hs []*ipledger.Holding
	if err := Holdings(kv, func(h *ipledger.Holding) bool { hs = append(hs, h); return true }); err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		v, err := kv.Get(holdingCoverKey(h.Resource, h.Depth))
		if err != nil {
			t.Fatal(err)
		}
		if want := HoldingKey(h.Resource, h.Depth); !bytes.Equal(v, want) {
			t.Fatalf("%s: holding %s at depth %d: cover entry %x, want %x", where, h.Resource, h.Depth, v, want)
		}
	}
	var keys, vals [][]byte
	if err := kv.Iterate([]byte{tagCover}, []byte{tagCover + 1}, false, func(k, v []byte) bool {
		keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		b, err := kv.Get(vals[i])
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			t.Fatalf("%s: cover entry %s names %x, where no holding is stored", where, DescribeKey(k, vals[i]), vals[i])
		}
		h, err := decodeHolding(b)
		if err != nil {
			t.Fatalf("%s: cover entry %s names %x: %v", where, DescribeKey(k, vals[i]), vals[i], err)
		}
		if !bytes.Equal(holdingCoverKey(h.Resource, h.Depth), k) || !bytes.Equal(HoldingKey(h.Resource, h.Depth), vals[i]) {
			t.Fatalf("%s: cover entry %s names holding %s at depth %d, whose entry it is not", where, DescribeKey(k, vals[i]), h.Resource, h.Depth)
		}
	}
	if len(keys) != len(hs) {
		t.Fatalf("%s: %d cover entries for %d holdings", where, len(keys), len(hs))
	}
}

func FuzzSequences(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8; i++ {
		b := make([]byte, 400)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { runSequence(t, data) })
}

func TestPropertyRandomSequences(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 5
	}
	total := map[ipledger.Kind]int{}
	for seed := 0; seed < n; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		b := make([]byte, 600)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			for k, v := range runSequence(t, b) {
				total[k] += v
			}
		})
	}
	t.Logf("applied: %v", total)
	// The generator must reach every kind, or the invariants were checked on nothing.
	for _, k := range []ipledger.Kind{ipledger.KindAllocate, ipledger.KindAssign, ipledger.KindTransfer, ipledger.KindReturn, ipledger.KindRegistryTransfer} {
		if total[k] == 0 {
			t.Errorf("no %s ever succeeded", k)
		}
	}
}
