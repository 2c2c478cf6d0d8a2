package ledger

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ipledger/ipledger"
)

// childrenEnv allocates n /24s out of RIPE's 193.0.0.0/8 pool, in one transaction, and
// returns the env and the pool holding.
func childrenEnv(t *testing.T, n int) (*tenv, *ipledger.Holding) {
	t.Helper()
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	var items []ipledger.AllocateItem
	for i := range n {
		items = append(items, ipledger.AllocateItem{Resource: mustRes(fmt.Sprintf("193.%d.%d.0/24", i/256, i%256)), Org: "ORG-A", Status: ipledger.StatusAllocatedPA})
	}
	e.ok(ipledger.KindAllocate, ipledger.AllocateBody{Items: items}, ipledger.RIPENCC)
	chn, err := Lookup(e.kv, mustRes("193.0.0.0/8"))
	if err != nil || len(chn) != 1 {
		t.Fatalf("lookup pool: %v %v", chn, err)
	}
	return e, chn[0]
}

// TestQueryChildrenPage pages through a holding's children with a small limit: every
// child comes exactly once, in order, and only the last page says no more follow.
func TestQueryChildrenPage(t *testing.T) {
	const n, limit = 300, 7
	e, pool := childrenEnv(t, n)
	all, err := Children(e.kv, pool)
	if err != nil || len(all) != n {
		t.Fatalf("Children: %d, %v", len(all), err)
	}
	var got []*ipledger.Holding
	var after ipledger.Resource
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		page, more, err := ChildrenPage(context.Background(), e.kv, pool, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if more && len(page) != limit || len(page) > limit {
			t.Fatalf("page of %d with more=%v", len(page), more)
		}
		got = append(got, page...)
		if !more {
			break
		}
		after = page[len(page)-1].Resource
	}
	if !slices.EqualFunc(got, all, func(a, b *ipledger.Holding) bool { return a.ID == b.ID }) {
		t.Fatalf("paged %d children, want the %d of Children in order", len(got), len(all))
	}
	// A cursor outside the holding: before it starts from the first, after it is empty.
	if page, _, _ := ChildrenPage(context.Background(), e.kv, pool, mustRes("192.0.0.0/24"), 1); len(page) != 1 || page[0].ID != all[0].ID {
		t.Fatalf("cursor before the holding: %v", page)
	}
	if page, more, _ := ChildrenPage(context.Background(), e.kv, pool, mustRes("194.0.0.0/24"), 1); len(page) != 0 || more {
		t.Fatalf("cursor after the holding: %v %v", page, more)
	}
}

// countingKV counts the values an Iterate hands out.
type countingKV struct {
	ipledger.KV
	n int
}

func (c *countingKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return c.KV.Iterate(start, end, reverse, func(k, v []byte) bool { c.n++; return fn(k, v) })
}

// TestQueryChildrenPageBounded reads at most limit+1 children however many there are, and
// stops when its context ends.
func TestQueryChildrenPageBounded(t *testing.T) {
	e, pool := childrenEnv(t, 500)
	kv := &countingKV{KV: e.kv}
	page, more, err := ChildrenPage(context.Background(), kv, pool, ipledger.Resource{}, 10)
	if err != nil || len(page) != 10 || !more {
		t.Fatalf("page %d more %v err %v", len(page), more, err)
	}
	if kv.n > 11+1 { // limit+1, and the floor seek's one step
		t.Fatalf("read %d values for a page of 10", kv.n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	kv.n = 0
	if _, _, err := ChildrenPage(ctx, kv, pool, ipledger.Resource{}, 1000); err == nil || kv.n > 0 {
		t.Fatalf("cancelled: err %v after %d values", err, kv.n)
	}
	// Cancelled during the walk: it stops within a check interval.
	ctx, cancel = context.WithCancel(context.Background())
	kv2 := &cancelKV{KV: e.kv, after: 100, cancel: cancel}
	if _, _, err := ChildrenPage(ctx, kv2, pool, ipledger.Resource{}, 1000); err == nil || kv2.n > 100+64 {
		t.Fatalf("cancelled after 100: err %v after %d values", err, kv2.n)
	}
}

// cancelKV cancels a context once it has handed out after values.
type cancelKV struct {
	ipledger.KV
	n, after int
	cancel   func()
}

func (c *cancelKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return c.KV.Iterate(start, end, reverse, func(k, v []byte) bool {
		if c.n++; c.n == c.after {
			c.cancel()
		}
		return fn(k, v)
	})
}
