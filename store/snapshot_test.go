package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFreeze: an image keeps the state and side tables of its moment while commits go on,
// and the store closes only after the image is closed.
func TestFreeze(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	w := s.Working()
	for i := range 100 {
		w.Set(fmt.Appendf(nil, "k%03d", i), []byte("one"))
	}
	b := s.NewSideBatch()
	b.Set([]byte("Lfirst"), []byte("1"))
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	root1, _, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Freeze()
	if err != nil {
		t.Fatal(err)
	}
	w.Set([]byte("k000"), []byte("two"))
	w.Delete([]byte("k001"))
	b = s.NewSideBatch()
	b.Set([]byte("Lsecond"), []byte("2"))
	b.Delete([]byte("Lfirst"))
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.Commit(); err != nil || v != 2 {
		t.Fatalf("commit: %d %v", v, err)
	}
	if f.Version() != 1 || !bytes.Equal(f.Hash(), root1) {
		t.Fatalf("image of version %d, hash %x; want 1, %x", f.Version(), f.Hash(), root1)
	}
	n := 0
	if err := f.Iterate(nil, nil, false, func(k, v []byte) bool {
		if string(v) != "one" {
			t.Fatalf("%s = %s in the image", k, v)
		}
		n++
		return true
	}); err != nil || n != 100 {
		t.Fatalf("image holds %d keys (%v)", n, err)
	}
	var side []string
	f.SideIterate(nil, nil, func(k, v []byte) bool { side = append(side, string(k)+"="+string(v)); return true })
	if fmt.Sprint(side) != "[Lfirst=1]" {
		t.Fatalf("image side tables %v", side)
	}
	if v, _ := f.SideGet([]byte("Lsecond")); v != nil {
		t.Fatal("a later side write is in the image")
	}
	// Close waits for the image.
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("the store closed under an open image")
	case <-time.After(100 * time.Millisecond):
	}
	if err := errors.Join(f.Close(), f.Close(), <-closed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Freeze(); !errors.Is(err, ErrClosed) {
		t.Fatalf("freeze after close: %v", err)
	}
}

// TestRestore: a restore fills an empty store at the snapshot's version; an aborted one
// leaves it empty; a store with a version refuses one.
func TestRestore(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	b := s.NewSideBatch()
	b.Set([]byte("Xstray"), []byte("left by an interrupted restore"))
	b.Commit(false)
	if err := s.BeginRestore(40); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SideGet([]byte("Xstray")); v != nil {
		t.Fatal("BeginRestore kept stray side data")
	}
	s.Working().Set([]byte("a"), []byte("1"))
	b = s.NewSideBatch()
	b.Set([]byte("B1"), []byte("x"))
	b.Commit(false)
	if err := s.AbortRestore(); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.SideIterate(nil, nil, false, func(k, v []byte) bool { n++; return true })
	if s.Version() != 0 || n != 0 || len(s.dirty) != 0 {
		t.Fatalf("after the abort: version %d, %d side entries, %d changes", s.Version(), n, len(s.dirty))
	}
	if err := s.BeginRestore(40); err != nil {
		t.Fatal(err)
	}
	s.Working().Set([]byte("a"), []byte("1"))
	if _, v, err := s.Commit(); err != nil || v != 40 {
		t.Fatalf("restored version %d (%v), want 40", v, err)
	}
	if _, v, err := s.Commit(); err != nil || v != 41 {
		t.Fatalf("next version %d (%v), want 41", v, err)
	}
	if err := s.BeginRestore(50); err == nil {
		t.Fatal("a store with versions began a restore")
	}
	if err := s.AbortRestore(); err != nil || s.Version() != 41 {
		t.Fatalf("abort on a store with versions: %v, version %d", err, s.Version())
	}
}
