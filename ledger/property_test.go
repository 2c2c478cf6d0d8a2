package ledger

import (
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

// block picks an aligned IPv4 block inside 193.0.0.0/16: a /20 to /26.
func (s *stream) block() ipledger.Resource {
	bits := 20 + int(s.next()%7)
	off := s.next() << 6 // 193.0.x.y, 64-aligned
	a := netip.AddrFrom4([4]byte{193, 0, byte(off >> 8), byte(off)})
	p := netip.PrefixFrom(a, bits).Masked()
	r, _ := ipledger.PrefixResource(p)
	return r
}

func (s *stream) org() string { return propOrgs[s.next()%uint32(len(propOrgs))] }

func runSequence(t *testing.T, data []byte) (applied map[ipledger.Kind]int) {
	applied = map[ipledger.Kind]int{}
	e := newEnv(t)
	for _, o := range propOrgs {
		e.newOrg(ipledger.RIPENCC, o)
	}
	s := &stream{b: data}
	var done []*ipledger.Tx
	for step := 0; len(s.b) >= 2 && step < 200; step++ {
		op := s.next() % 6
		r := s.block()
		by := s.org()
		// Mostly act as someone who holds r, so holder-signed kinds get exercised.
		if chain, _ := Lookup(e.kv, r); s.next()%4 != 0 && len(chain) > 1 {
			by = chain[1+int(s.next())%(len(chain)-1)].Holder
		}
		before := e.digest()
		heldBefore := holderOf(e, r)
		var tx *ipledger.Tx
		switch op {
		case 0:
			tx = e.build(ipledger.KindAllocate, e.seq[ipledger.RIPENCC]+1, alloc(r.String(), by, ipledger.StatusAllocatedPA), ipledger.RIPENCC)
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
		case 5:
			if len(done) == 0 {
				continue
			}
			old := done[int(s.next())%len(done)]
			if res := e.applyTx(old); res.Code != ipledger.CodeStaleSequence {
				t.Fatalf("step %d: replay of %s gave %s", step, old.Kind, res.Code)
			}
			if e.digest() != before {
				t.Fatalf("step %d: replay changed state", step)
			}
			continue
		}
		res := e.applyTx(tx)
		if res.Code == ipledger.CodeInternal {
			t.Fatalf("step %d: internal error: %s", step, res.Log)
		}
		if res.Code != ipledger.CodeOK {
			if e.digest() != before {
				t.Fatalf("step %d: %s rejected (%s) but changed state", step, tx.Kind, res.Code)
			}
			continue
		}
		done = append(done, tx)
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
			p, err := store{e.kv}.at(h.Resource, d-1)
			if err != nil || p == nil {
				t.Fatalf("%s: depth %d holding %s has no parent (%v)", where, d, h.Resource, err)
			}
			if got, _ := HoldingByID(e.kv, h.ID); got == nil || got.Resource != h.Resource {
				t.Fatalf("%s: id index of %d wrong", where, h.ID)
			}
		}
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
	for _, k := range []ipledger.Kind{ipledger.KindAllocate, ipledger.KindAssign, ipledger.KindTransfer, ipledger.KindReturn} {
		if total[k] == 0 {
			t.Errorf("no %s ever succeeded", k)
		}
	}
}
