package tlog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

// refRoot is RFC 6962 §2.1's MTH, written out directly as the obviously-correct reference.
func refRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return h[:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(refRoot(leaves[:k]))
	h.Write(refRoot(leaves[k:]))
	return h.Sum(nil)
}

func TestRootMatchesReference(t *testing.T) {
	tr := New()
	var leaves [][]byte
	for i := 0; i <= 300; i++ {
		if !bytes.Equal(tr.Root(), refRoot(leaves)) {
			t.Fatalf("root at size %d differs from the reference", i)
		}
		// Persisted state round-trips at every size.
		back, err := Unmarshal(tr.Marshal())
		if err != nil || !bytes.Equal(back.Root(), tr.Root()) || back.Size() != tr.Size() {
			t.Fatalf("marshal round trip at size %d: %v", i, err)
		}
		leaf := TxLeaf{Height: int64(i), Time: time.Unix(int64(i), 5).UTC(), Index: uint32(i), Tx: []byte(fmt.Sprint(i))}.Encode()
		leaves = append(leaves, leaf)
		if err := tr.Append(HashLeaf(leaf), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeafRoundTrip(t *testing.T) {
	tl := TxLeaf{Height: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Index: 3, Code: 13, Tx: []byte("tx")}
	got, err := DecodeLeaf(tl.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(TxLeaf); g.Height != tl.Height || !g.Time.Equal(tl.Time) || g.Index != 3 || g.Code != 13 || string(g.Tx) != "tx" {
		t.Fatalf("got %+v", g)
	}
	el := EndBlockLeaf{Height: 9, Time: tl.Time, TxCount: 2, Events: []byte("null")}
	got, err = DecodeLeaf(el.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(EndBlockLeaf); g.Height != 9 || g.TxCount != 2 || string(g.Events) != "null" {
		t.Fatalf("got %+v", g)
	}
}

func FuzzDecodeLeaf(f *testing.F) {
	f.Add(TxLeaf{Height: 1, Tx: []byte("x")}.Encode())
	f.Add(EndBlockLeaf{Height: 1, Events: []byte("null")}.Encode())
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeLeaf(b)
		if err != nil {
			return
		}
		var re []byte
		switch l := v.(type) {
		case TxLeaf:
			re = l.Encode()
		case EndBlockLeaf:
			re = l.Encode()
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("leaf does not re-encode to the same bytes")
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	tr := New()
	for i := 0; i < 5; i++ {
		tr.Append(HashLeaf([]byte{byte(i)}), nil)
	}
	f.Add(tr.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if tr, err := Unmarshal(b); err == nil {
			_ = tr.Root()
		}
	})
}
