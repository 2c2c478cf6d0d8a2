package kvbuffer_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
	"github.com/ipledger/ipledger/store"
)

func TestIterateMerges(t *testing.T) {
	base := store.NewMemKV()
	for _, k := range []string{"a", "c", "e", "g"} {
		base.Set([]byte(k), []byte("base-"+k))
	}
	o := kvbuffer.New(base)
	o.Set([]byte("b"), []byte("new-b"))
	o.Delete([]byte("c"))
	o.Set([]byte("e"), []byte("new-e"))
	o.Set([]byte("h"), []byte("new-h"))
	collect := func(start, end []byte, rev bool) string {
		var out []string
		o.Iterate(start, end, rev, func(k, v []byte) bool { out = append(out, string(k)+"="+string(v)); return true })
		return fmt.Sprint(out)
	}
	if got := collect(nil, nil, false); got != "[a=base-a b=new-b e=new-e g=base-g h=new-h]" {
		t.Fatal(got)
	}
	if got := collect([]byte("b"), []byte("g"), true); got != "[e=new-e b=new-b]" {
		t.Fatal(got)
	}
	if v, _ := o.Get([]byte("c")); v != nil {
		t.Fatal("deleted key visible")
	}
	if v, _ := base.Get([]byte("b")); v != nil {
		t.Fatal("write reached the base before FlushTo")
	}
}

// TestAgainstReference applies random writes both through a buffer and straight to a
// reference map, and compares every read, seek and range scan, before and after FlushTo.
func TestAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := func() []byte { return []byte{byte('a' + r.IntN(6)), byte('a' + r.IntN(6))} }
	for round := 0; round < 200; round++ {
		base, ref := store.NewMemKV(), store.NewMemKV()
		for i := 0; i < r.IntN(20); i++ {
			k, v := key(), []byte(fmt.Sprint(i))
			base.Set(k, v)
			ref.Set(k, v)
		}
		buf := kvbuffer.New(base)
		for i := 0; i < r.IntN(30); i++ {
			k := key()
			if r.IntN(3) == 0 {
				buf.Delete(k)
				ref.Delete(k)
			} else {
				v := []byte(fmt.Sprint("w", i))
				buf.Set(k, v)
				ref.Set(k, v)
			}
		}
		check := func(a, b interface {
			Iterate([]byte, []byte, bool, func(k, v []byte) bool) error
		}, stage string) {
			for q := 0; q < 20; q++ {
				var start, end []byte
				if r.IntN(4) > 0 {
					start = key()
				}
				if r.IntN(4) > 0 {
					end = key()
				}
				rev := r.IntN(2) == 0
				limit := 1 + r.IntN(5)
				scan := func(kv interface {
					Iterate([]byte, []byte, bool, func(k, v []byte) bool) error
				}) string {
					var out []string
					kv.Iterate(start, end, rev, func(k, v []byte) bool {
						out = append(out, string(k)+"="+string(v))
						return len(out) < limit
					})
					return fmt.Sprint(out)
				}
				if x, y := scan(a), scan(b); x != y {
					t.Fatalf("round %d %s: Iterate(%q, %q, rev=%v, limit %d) = %s, reference %s", round, stage, start, end, rev, limit, x, y)
				}
				// Floor against the reference's last key by a reverse scan.
				var want string
				b.Iterate(start, end, true, func(k, v []byte) bool { want = string(k) + "=" + string(v); return false })
				k, v, err := a.(ipledger.Floorer).Floor(start, end)
				if got := string(k) + "=" + string(v); err != nil || (k == nil) != (want == "") || (k != nil && got != want) {
					t.Fatalf("round %d %s: Floor(%q, %q) = %q, %v; reference %q", round, stage, start, end, got, err, want)
				}
			}
		}
		check(buf, ref, "buffered")
		if err := buf.FlushTo(base); err != nil {
			t.Fatal(err)
		}
		check(base, ref, "flushed")
	}
}
