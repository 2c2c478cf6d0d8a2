package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// compareWorkers is how many node answers are fetched at once.
const compareWorkers = 8

// sampleOrgsPer: a sample of N holdings compares the answers for N/sampleOrgsPer of their
// holders.
const sampleOrgsPer = 4

// maxOrgPages bounds the pages of /v1/orgs read when listing the node's organisations.
const maxOrgPages = 1 << 20

// compareState compares the node's answers for holdings and organisations with the
// replayed state: a random sample of holdings and some of their holders, or with Full every
// holding and organisation and the node's list of organisations. An object the node shows
// changed after the replayed height is skipped; a node behind the replay is compared with
// the replayed state at its own height.
func (r *run) compareState(ctx context.Context) error {
	o := r.a.o
	if o.Sample < 0 && !o.Full {
		return nil
	}
	snap := r.replay.App().Committed()
	var state ipledger.KV = snap.State
	height := snap.Height
	st, err := r.a.client.Status(ctx)
	if err != nil {
		return fmt.Errorf("audit: node status: %w", err)
	}
	if st.ChainID != r.doc.ChainID {
		return fmt.Errorf("audit: the node's API serves chain %q, the genesis is for %q", st.ChainID, r.doc.ChainID)
	}
	if st.Height >= 1 && st.Height < height {
		// The node is behind the replay: catching up, or halted (a node whose stored state
		// failed its start-up check executes no blocks, while the chain's block store may
		// hold one more). Its answers are compared with the replayed state at its height,
		// which the replay store retains unless the node is far behind (then every answer
		// is skipped).
		past, err := r.replay.App().SnapshotAt(st.Height)
		switch {
		case errors.Is(err, ipledger.ErrNotRetained):
		case err != nil:
			return fmt.Errorf("audit: replayed state at the node's height %d: %w", st.Height, err)
		default:
			state, height = past.State, past.Height
		}
	}
	// The holdings to compare, in ID order.
	var holdings []*ipledger.Holding
	if o.Full {
		err = ledger.Holdings(state, func(h *ipledger.Holding) bool { holdings = append(holdings, h); return true })
	} else {
		// Reservoir sampling over the holdings in key order.
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		n := 0
		err = ledger.Holdings(state, func(h *ipledger.Holding) bool {
			n++
			if len(holdings) < o.Sample {
				holdings = append(holdings, h)
			} else if j := rng.IntN(n); j < o.Sample {
				holdings[j] = h
			}
			return true
		})
	}
	if err != nil {
		return fmt.Errorf("audit: replayed holdings: %w", err)
	}
	slices.SortFunc(holdings, func(a, b *ipledger.Holding) int { return cmp.Compare(a.ID, b.ID) })
	var orgs []string
	if o.Full {
		err = ledger.Orgs(state, func(og *ipledger.Organisation) bool { orgs = append(orgs, og.Handle); return true })
		if err != nil {
			return fmt.Errorf("audit: replayed organisations: %w", err)
		}
	} else {
		// Some of the holders of the sampled holdings: an organisation's answer carries
		// its history, which costs the node far more than a holding's.
		seen := map[string]bool{}
		for _, h := range holdings {
			if !seen[h.Holder] {
				seen[h.Holder] = true
				orgs = append(orgs, h.Holder)
			}
		}
		if k := max(1, o.Sample/sampleOrgsPer); len(orgs) > k {
			rand.Shuffle(len(orgs), func(i, j int) { orgs[i], orgs[j] = orgs[j], orgs[i] })
			orgs = orgs[:k]
		}
		slices.Sort(orgs)
	}

	// Fetch and compare concurrently; report the first divergence in holding (then
	// handle) order, so the verdict does not depend on timing.
	type result struct {
		div     *Divergence
		skipped bool
		err     error
	}
	hres := make([]result, len(holdings))
	ores := make([]result, len(orgs))
	jobs := make(chan func())
	var wg sync.WaitGroup
	for range compareWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j()
			}
		}()
	}
	for i, h := range holdings {
		jobs <- func() {
			d, skip, err := r.compareHolding(ctx, h, height, st.Height)
			hres[i] = result{d, skip, err}
		}
	}
	for i, handle := range orgs {
		og, err := ledger.Org(state, handle)
		if err != nil {
			close(jobs)
			wg.Wait()
			return fmt.Errorf("audit: replayed organisation %s: %w", handle, err)
		}
		jobs <- func() {
			d, skip, err := r.compareOrg(ctx, og, height, st.Height)
			ores[i] = result{d, skip, err}
		}
	}
	close(jobs)
	wg.Wait()
	for _, rs := range [][]result{hres, ores} {
		for _, res := range rs {
			if res.err != nil {
				return res.err
			}
			if res.div != nil {
				return res.div
			}
		}
	}
	for _, res := range hres {
		if res.skipped {
			r.rep.Skipped++
		} else {
			r.rep.Holdings++
		}
	}
	for _, res := range ores {
		if res.skipped {
			r.rep.Skipped++
		} else {
			r.rep.Orgs++
		}
	}
	if o.Full && st.Height == height {
		return r.compareOrgList(ctx, orgs, height)
	}
	return nil
}

// changedAfter reports whether the node's state may differ from the replay at height for
// an object because of later blocks: the node is elsewhere and its history of the object
// has an entry after height, or may have one on a later page (the first page is the
// oldest, and the entries after height would be the last). A node behind the replay is
// never compared.
func changedAfter(nodeHeight, height int64, history []apitypes.HistoryItem, truncated bool) bool {
	if nodeHeight < height || truncated {
		return true
	}
	for _, e := range history {
		if e.Height > height {
			return true
		}
	}
	return false
}

// compareHolding compares the node's GET /v1/holdings/{id} with the replayed holding.
func (r *run) compareHolding(ctx context.Context, h *ipledger.Holding, height, nodeHeight int64) (*Divergence, bool, error) {
	obj := fmt.Sprintf("holding %s %s", h.Handle(), h.Resource)
	info, err := r.a.client.Holding(ctx, strconv.FormatUint(h.ID, 10))
	if ipledger.ErrorCode(err) == ipledger.CodeNotFound {
		if nodeHeight != height {
			return nil, true, nil
		}
		return &Divergence{Height: height, Leaf: -1, Object: obj, Detail: fmt.Sprintf("the node has no such holding; the log says it is held by %s", h.Holder)}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit: node holding %s: %w", h.Handle(), err)
	}
	if info.Height != height && changedAfter(info.Height, height, info.History, info.HistoryTruncated) {
		return nil, true, nil
	}
	mine := apitypes.HoldingInfo{Handle: h.Handle(), ID: h.ID, Resource: h.Resource, Depth: h.Depth, Holder: h.Holder, Status: h.Status,
		Country: h.Country, Registered: h.Registered, Changed: h.Changed, Origin: h.Origin}
	node := info.Holding
	node.HolderName = ""
	if field, nv, mv, differ := firstDiff(node, mine); differ {
		return &Divergence{Height: info.Height, Leaf: -1, Object: obj, Detail: fmt.Sprintf("node says %s %s, the log says %s", field, nv, mv)}, false, nil
	}
	return nil, false, nil
}

// compareOrg compares the node's GET /v1/orgs/{handle} with the replayed organisation.
func (r *run) compareOrg(ctx context.Context, og *ipledger.Organisation, height, nodeHeight int64) (*Divergence, bool, error) {
	obj := "organisation " + og.Handle
	info, err := r.a.client.Org(ctx, og.Handle)
	if ipledger.ErrorCode(err) == ipledger.CodeNotFound {
		if nodeHeight != height {
			return nil, true, nil
		}
		return &Divergence{Height: height, Leaf: -1, Object: obj, Detail: fmt.Sprintf("the node has no such organisation; the log registered %q", og.Name)}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit: node organisation %s: %w", og.Handle, err)
	}
	if info.Height != height && changedAfter(info.Height, height, info.History, info.HistoryTruncated) {
		return nil, true, nil
	}
	if field, nv, mv, differ := firstDiff(info.Organisation, *og); differ {
		return &Divergence{Height: info.Height, Leaf: -1, Object: obj, Detail: fmt.Sprintf("node says %s %s, the log says %s", field, nv, mv)}, false, nil
	}
	return nil, false, nil
}

// compareOrgList checks that the node lists exactly the replayed organisations.
func (r *run) compareOrgList(ctx context.Context, want []string, height int64) error {
	after := ""
	i := 0
	for range maxOrgPages {
		list, err := r.a.client.Orgs(ctx, "", after, apitypes.MaxOrgList)
		if err != nil {
			return fmt.Errorf("audit: node organisation list: %w", err)
		}
		if list.Height != height {
			return nil // the node moved on meanwhile
		}
		for _, h := range list.Handles {
			switch {
			case i >= len(want) || h < want[i]:
				return &Divergence{Height: height, Leaf: -1, Object: "organisation " + h, Detail: "the node lists an organisation the log never registered"}
			case h > want[i]:
				return &Divergence{Height: height, Leaf: -1, Object: "organisation " + want[i], Detail: "the node does not list an organisation the log registered"}
			}
			i++
		}
		if !list.Truncated || len(list.Handles) == 0 {
			break
		}
		after = list.Handles[len(list.Handles)-1]
	}
	if i < len(want) {
		return &Divergence{Height: height, Leaf: -1, Object: "organisation " + want[i], Detail: "the node does not list an organisation the log registered"}
	}
	return nil
}

// firstDiff compares two values field by field through their JSON form and returns the
// first field (in JSON key order) whose values differ, with both values as JSON.
func firstDiff(node, mine any) (field, nodeVal, mineVal string, differ bool) {
	nm, mm := jsonFields(node), jsonFields(mine)
	keys := make([]string, 0, len(nm)+len(mm))
	for k := range nm {
		keys = append(keys, k)
	}
	for k := range mm {
		if _, ok := nm[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	// The identifying fields first, so a message names the holder before the date.
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(fieldRank(a), fieldRank(b)) })
	for _, k := range keys {
		nv, mv := nm[k], mm[k]
		if !reflect.DeepEqual(nv, mv) {
			return k, show(nv), show(mv), true
		}
	}
	return "", "", "", false
}

func fieldRank(k string) int {
	switch k {
	case "id", "handle":
		return 0
	case "resource":
		return 1
	case "holder", "name":
		return 2
	}
	return 3
}

func jsonFields(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"": err.Error()}
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{"": err.Error()}
	}
	return m
}

func show(v any) string {
	if v == nil {
		return "nothing"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
