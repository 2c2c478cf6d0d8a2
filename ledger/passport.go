package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/ipledger/ipledger"
)

// MaxPassportObjects bounds the objects whose history a passport merges: the holdings
// containing the block and their origins, the holdings inside it, and the route
// authorisations overlapping it.
const MaxPassportObjects = 256

// PassportObjects names the objects ("holding/ID", "route/ID") whose transactions make a
// block's passport: every holding that contains r, the holdings it was split from as far
// as they are still in the state (a removed origin is named, its own origin is not known),
// the holdings below the most specific one that overlap r, and the route authorisations
// overlapping r. At most MaxPassportObjects names, in that order without repeats.
func PassportObjects(ctx context.Context, kv ipledger.KV, r ipledger.Resource) ([]string, error) {
	s := state{kv}
	var out []string
	seen := map[string]bool{} // a set: the order is out's
	add := func(kind string, id uint64) bool {
		name := kind + "/" + strconv.FormatUint(id, 10)
		if !seen[name] && len(out) < MaxPassportObjects {
			seen[name] = true
			out = append(out, name)
		}
		return len(out) < MaxPassportObjects
	}
	chn, err := s.chain(r)
	if err != nil {
		return nil, err
	}
	for _, h := range chn {
		if h.Depth == 0 {
			continue // registry pools: their history is every allocation of the registry
		}
		add("holding", h.ID)
		for o, n := h.Origin, 0; o != 0 && n < 16; n++ {
			add("holding", o)
			oh, err := s.holdingByID(o)
			if err != nil || oh == nil {
				break
			}
			o = oh.Origin
		}
	}
	if len(chn) > 0 && chn[len(chn)-1].Depth > 0 {
		after, _ := r.Before() // children starting at r's first number on
		kids, _, err := ChildrenPage(ctx, kv, chn[len(chn)-1], after, MaxPassportObjects)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if k.Resource.Overlaps(r) {
				add("holding", k.ID)
			}
		}
	}
	// An authorisation starting inside r overlaps it: only those starting before are read.
	var ferr error
	err = scanOverlapping(kv, tagAuthPos, r, func(k, _ []byte, containing bool) bool {
		id := binary.BigEndian.Uint64(k[len(k)-8:])
		if containing {
			ra, err := s.auth(id)
			if err != nil {
				ferr = err
				return false
			}
			if ra == nil {
				return true
			}
			if pr, _ := ipledger.PrefixResource(ra.Prefix); !pr.Overlaps(r) {
				return true
			}
		}
		return add("route", id)
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("passport routes: %w", err)
	}
	return out, nil
}
