package audit

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/tlog"
)

// FuzzParseState feeds audit.json decoding arbitrary bytes, seeded with a state a real
// audit wrote (testdata/audit.json). Whatever parses must encode and parse back to the
// same state.
func FuzzParseState(f *testing.F) {
	real, err := os.ReadFile("testdata/audit.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(`{"version":1,"chain_id":"c","genesis_sha256":"","height":0,"compared":0,"tree":null,"updated":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1,"chain_id":"c","height":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseState(b)
		if err != nil {
			return
		}
		out, err := s.encode()
		if err != nil {
			t.Fatalf("encode a parsed state: %v", err)
		}
		back, err := ParseState(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if back.ChainID != s.ChainID || back.Height != s.Height || back.Compared != s.Compared ||
			!bytes.Equal(back.tree.Root(), s.tree.Root()) || back.Checkpoint != s.Checkpoint || back.LogKey != s.LogKey ||
			(s.trusted == nil) != (back.trusted == nil) || (s.trusted != nil && !bytes.Equal(s.trusted.Hash(), back.trusted.Hash())) {
			t.Fatalf("state does not round-trip:\n%s", out)
		}
	})
}

// FuzzCheckpoints verifies two notes as checkpoints of one log and decides whether the
// second may follow the first: never a panic, and the decision agrees with sizes and
// roots.
func FuzzCheckpoints(f *testing.F) {
	// A fixed log key: the seeds stay valid from run to run.
	_, s, v := newLogKey(f, bytes.NewReader(make([]byte, 64)), "ipledger-node-fuzz")
	origin := chain.LogOrigin("fuzz")
	sign := func(size uint64, root []byte) []byte { return signCheckpoint(f, s, origin, size, root) }
	r1, r2 := tlog.HashLeaf([]byte("a")), tlog.HashLeaf([]byte("b"))
	f.Add(sign(1, r1), sign(1, r1))
	f.Add(sign(1, r1), sign(1, r2))
	f.Add(sign(5, r1), sign(3, r2))
	f.Add(sign(2, r1), sign(9, r2))
	f.Add([]byte("ipledger/fuzz\n1\n\n"), sign(1, r1))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		seen, err1 := openCheckpoint(a, origin, v)
		cp, err2 := openCheckpoint(b, origin, v)
		if err1 != nil || err2 != nil {
			return
		}
		need, err := checkAgainstSeen(seen, cp)
		var d *Divergence
		switch {
		case cp.Size == seen.Size && bytes.Equal(cp.Hash, seen.Hash):
			if need || err != nil {
				t.Fatalf("identical checkpoints: proof %v, %v", need, err)
			}
		case cp.Size <= seen.Size:
			if need || !errors.As(err, &d) {
				t.Fatalf("size %d after %d (roots differ: %v): proof %v, %v", cp.Size, seen.Size, !bytes.Equal(cp.Hash, seen.Hash), need, err)
			}
		default:
			if !need || err != nil {
				t.Fatalf("size %d after %d: proof %v, %v", cp.Size, seen.Size, need, err)
			}
		}
	})
}

// FuzzDescribeLeafDiff: explaining two leaves never fails, whatever they hold.
func FuzzDescribeLeafDiff(f *testing.F) {
	f.Add(tlog.TxLeaf{Height: 1, Tx: []byte("x")}.Encode(), tlog.TxLeaf{Height: 1, Code: 13, Tx: []byte("x")}.Encode())
	f.Add(tlog.EndBlockLeaf{Height: 2, Events: []byte("null")}.Encode(), tlog.TxLeaf{Height: 2}.Encode())
	f.Add([]byte{}, []byte{1})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if describeLeafDiff(a, b) == "" || describeLeaf(a) == "" {
			t.Fatal("empty description")
		}
		leafHeight(a)
	})
}
