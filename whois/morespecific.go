package whois

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// moreSpecificPage is how many holdings of a level a more-specific query reads at once.
const moreSpecificPage = 256

// moreSpecific answers -m and -M: the holdings inside res, level by level below the
// deepest holding containing it (or from the pools when none does). -m keeps those with no
// other holding inside res above them; -M keeps all.
func (r *run) moreSpecific(res ipledger.Resource, chn []*ipledger.Holding) error {
	all := r.q.Level == LevelAllMore
	base := -1
	if len(chn) > 0 {
		base = chn[len(chn)-1].Depth
	}
	var list []*ipledger.Holding
	var inside []ipledger.Resource // holdings of the previous level inside res, in order
	skipped := map[string]bool{}
	full := false
	for d := base + 1; d <= ledger.MaxDepth && !full; d++ {
		// Children of a holding at depth d-1 whose range is res: every holding at depth d
		// overlapping res, in address order, read a page at a time so that only what the
		// answer lists stays in memory.
		parent := &ipledger.Holding{Depth: d - 1, Resource: res}
		straddles, found := false, false
		var next []ipledger.Resource
		j := 0
		for after := (ipledger.Resource{}); !full; {
			level, more, err := ledger.ChildrenPage(r.ctx, r.kv, parent, after, moreSpecificPage)
			if err != nil {
				return fmt.Errorf("more specifics of %s at depth %d: %w", res, d, err)
			}
			found = found || len(level) > 0
			for _, h := range level {
				if !res.Contains(h.Resource) {
					straddles = true
					continue
				}
				if !all {
					next = append(next, h.Resource)
				}
				if d == 0 {
					if reg, err := r.referral(h); err != nil {
						return err
					} else if reg != "" {
						if !skipped[reg] {
							skipped[reg] = true
							r.notes = append(r.notes, fmt.Sprintf("%% Space managed by %s is not on this ledger yet; query %s for it.", reg, whoisHosts[reg]))
						}
						continue
					}
				}
				// Is h below a holding of the previous level that lies inside res?
				for j < len(inside) && inside[j].LastPoint().Compare(h.Resource.Point()) < 0 {
					j++
				}
				nested := j < len(inside) && inside[j].Contains(h.Resource)
				if all || !nested {
					if len(list) == r.s.opt.MaxObjects {
						full = true
						break
					}
					list = append(list, h)
				}
			}
			if !more {
				break
			}
			after = level[len(level)-1].Resource
		}
		if !found {
			break
		}
		if !all && !straddles {
			break // every deeper holding in res lies below one listed already
		}
		inside = next
	}
	if len(list) == 0 {
		if len(skipped) > 0 {
			r.referred = true
			return nil
		}
		return notFound()
	}
	// Tree order: by address, the larger range first.
	sortHoldings(list)
	err := r.holdings(list, nil)
	if full && err == nil {
		r.truncated()
	}
	return err
}

// tooLarge bounds -m and -M, which read every holding at each level inside the key
// (%ERROR:112, as the RIPE Database refuses them on very large ranges): at most an IPv4 /8,
// an IPv6 /12 or 65536 AS numbers.
func tooLarge(res ipledger.Resource) bool {
	switch res.Family() {
	case ipledger.IPv4:
		n, _ := res.Size()
		return n > 1<<24
	case ipledger.IPv6:
		// last - first: a /12 spans 2^116 - 1, whose high 64 bits are 2^52 - 1.
		a, b := res.FirstAddr().As16(), res.LastAddr().As16()
		_, borrow := bits.Sub64(binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(a[8:]), 0)
		hi, _ := bits.Sub64(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(a[:8]), borrow)
		return hi >= 1<<52
	}
	n, _ := res.Size()
	return n > 1<<16
}
