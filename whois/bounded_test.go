package whois

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// countKV counts the values its Iterate hands out.
type countKV struct {
	ipledger.KV
	n atomic.Int64
}

func (c *countKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return c.KV.Iterate(start, end, reverse, func(k, v []byte) bool { c.n.Add(1); return fn(k, v) })
}

// manyAssignments is the test state with ORG-A's 193.2.0.0/17 assigned on in n /28s (n at most 2048).
func manyAssignments(t *testing.T, n int) (ipledger.KV, int64) {
	r := newTestRegistry(t)
	for i := 0; i < n; {
		var items []ipledger.AllocateItem
		for ; i < n && len(items) < 400; i++ {
			items = append(items, item(fmt.Sprintf("193.2.%d.%d/28", i/16, i%16*16), "ORG-A", ipledger.StatusAssignedPA, "NL", ""))
		}
		r.Apply(ipledger.KindAssign, ipledger.AssignBody{Items: items}, "ORG-A")
	}
	return r.KV(), r.Height()
}

// TestMoreSpecificBounded: a more-specific query over a holding with thousands of holdings
// below reads about as many as its answer may list, not all of them; and an answer past
// the write timeout stops with an error rather than finish for nobody.
func TestMoreSpecificBounded(t *testing.T) {
	kv, height := manyAssignments(t, 2000)
	ckv := &countKV{KV: kv}
	s := newTestServer(t, Options{Source: newSource(ckv, height), MaxObjects: 10})
	ckv.n.Store(0)
	out := ask(s, "-M -r -T inetnum 193.2.0.0/16")
	if got := strings.Count(out, "\ninetnum:") + strings.Count(out[:min(len(out), 9)], "inetnum:"); got != 10 || !strings.Contains(out, "cut at 10 objects") {
		t.Fatalf("%d objects:\n%s", got, out)
	}
	if n := ckv.n.Load(); n > 2*moreSpecificPage {
		t.Fatalf("read %d values for an answer of 10", n)
	}
	slow := newTestServer(t, Options{Source: newSource(kv, height), WriteTimeout: time.Nanosecond})
	if out := ask(slow, "-M -r -T inetnum 193.2.0.0/16"); !strings.Contains(out, "%ERROR:112") {
		t.Fatalf("past the deadline:\n%s", out)
	}
}
