package rdap

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// object is a network or autnum, whose top-level members can be set.
type object interface{ set(top) }

func (t *top) set(v top) { *t = v }

// holding renders a holding as a network or an autnum. A full rendering reads its history
// for transfer events; search results are rendered without (bounded work per answer).
func (rc *request) holding(h *ipledger.Holding, parent string, full bool) (object, error) {
	ents, err := rc.holdingEntities(h)
	if err != nil {
		return nil, err
	}
	events, err := rc.holdingEvents(h, full)
	if err != nil {
		return nil, err
	}
	reg := registration{Name: h.Holder, Type: string(h.Status), Country: h.Country, ParentHandle: parent, Status: rdapStatus(h)}
	rel := related{Entities: ents, Events: events, Port43: rc.h.port43}
	if h.Resource.Family() == ipledger.ASN {
		rel.Links = rc.holdingLinks(h, rc.base+autnumPath(h.Resource))
		return &autnum{
			ObjectClassName: "autnum", Handle: h.Handle(),
			StartAutnum: h.Resource.FirstAS(), EndAutnum: h.Resource.LastAS(),
			registration: reg, related: rel,
		}, nil
	}
	ver := "v4"
	if h.Resource.Family() == ipledger.IPv6 {
		ver = "v6"
	}
	rel.Links = rc.holdingLinks(h, rc.base+ipPath(h.Resource))
	return &network{
		ObjectClassName: "ip network", Handle: h.Handle(),
		StartAddress: h.Resource.FirstAddr().String(), EndAddress: h.Resource.LastAddr().String(),
		IPVersion: ver, registration: reg, CIDRs: cidrs(h.Resource), related: rel,
	}, nil
}

// holdingLinks are self, the holding's ledger history in the JSON API, its state proof, an
// address block's passport (issue 18), and the RFC 9910
// relations up (when the holding's range can be named exactly) and top.
func (rc *request) holdingLinks(h *ipledger.Holding, self string) []link {
	out := []link{
		{Value: self, Rel: "self", Href: self, Type: contentType},
		{Value: self, Rel: "related", Href: rc.api + holdingAPIPath(h.ID), Type: "application/json",
			Title: "Ledger history of " + h.Handle()},
		{Value: self, Rel: "related", Href: rc.api + holdingProofPath(h.ID), Type: "application/json",
			Title: "State proof of " + h.Handle()},
	}
	if h.Resource.Family() != ipledger.ASN {
		out = append(out, link{Value: self, Rel: "related", Href: rc.api + passportPath(h.Resource), Type: "application/json",
			Title: "IP passport of " + h.Resource.String() + ": its history, blocklist observations and grade"})
	}
	if h.Depth == 0 {
		return out
	}
	var exact, first string
	if h.Resource.Family() == ipledger.ASN {
		first = "autnums/rirSearch1/rdap-%s/" + strconv.FormatUint(uint64(h.Resource.FirstAS()), 10)
		if h.Resource.FirstAS() == h.Resource.LastAS() {
			exact = first
		}
	} else {
		first = "ips/rirSearch1/rdap-%s/" + h.Resource.Prefixes()[0].String()
		if p, ok := h.Resource.Prefix(); ok {
			exact = "ips/rirSearch1/rdap-%s/" + p.String()
		}
	}
	if exact != "" {
		out = append(out, link{Value: self, Rel: "rdap-up", Href: rc.base + fmt.Sprintf(exact, "up"), Type: contentType})
	}
	return append(out, link{Value: self, Rel: "rdap-top", Href: rc.base + fmt.Sprintf(first, "top"), Type: contentType})
}

// holdingEntities are the holder as registrant, with its registry, and its abuse contact
// when it has a mailbox.
func (rc *request) holdingEntities(h *ipledger.Holding) ([]*entity, error) {
	o, err := rc.org(h.Holder)
	if err != nil || o == nil {
		return nil, err
	}
	reg, err := rc.entity(o, []string{"registrant"}, true)
	if err != nil {
		return nil, err
	}
	out := []*entity{reg}
	if o.AbuseMailbox != "" {
		ab := rc.abuse(o)
		if ab.Remarks, err = rc.openNotices(h); err != nil {
			return nil, err
		}
		out = append(out, ab)
	}
	return out, nil
}

// maxNotices bounds the open abuse notices a holding's abuse contact names.
const maxNotices = 5

// openNotices are the open abuse cases (issue 18) on blocks overlapping an address
// holding, as a remark of its abuse contact: each case's block, category, state and cure
// window, linked to the JSON API.
func (rc *request) openNotices(h *ipledger.Holding) ([]notice, error) {
	if h.Resource.Family() == ipledger.ASN {
		return nil, nil
	}
	cases, n, err := ledger.OpenCases(rc.snap.State, h.Resource, maxNotices)
	if err != nil || n == 0 {
		return nil, err
	}
	rm := notice{Title: "Open abuse notices"}
	for _, c := range cases {
		rm.Description = append(rm.Description, fmt.Sprintf("case %d on %s: %s, %s, cure by %s", c.ID, c.Resource, c.Category, c.State,
			time.Unix(c.CureBy, 0).UTC().Format(time.RFC3339)))
		href := rc.api + "v1/abuse/cases/" + strconv.FormatUint(c.ID, 10)
		rm.Links = append(rm.Links, link{Value: href, Rel: "related", Href: href, Type: "application/json"})
	}
	if n > len(cases) {
		rm.Description = append(rm.Description, fmt.Sprintf("%d more: %sv1/abuse/cases?resource=%s", n-len(cases), rc.api, h.Resource))
	}
	return []notice{rm}, nil
}

// holdingEvents are the original registration, the transfers that touched the holding (or
// the holding it was split from) when full, and the last change, all as block times.
func (rc *request) holdingEvents(h *ipledger.Holding, full bool) ([]event, error) {
	var ev []event
	if d, ok := registeredDate(h.Registered); ok {
		ev = append(ev, event{Action: "registration", Date: d})
	}
	if full {
		tr, err := rc.transfers(h)
		if err != nil {
			return nil, err
		}
		ev = append(ev, tr...)
	}
	if !h.Changed.IsZero() {
		ev = append(ev, event{Action: "last changed", Date: rfc3339(h.Changed)})
	}
	return ev, nil
}

// transfers lists, oldest first, the committed transfer and registry-transfer transactions
// in the history of h and of the holding it was split from.
func (rc *request) transfers(h *ipledger.Holding) ([]event, error) {
	objects := []string{"holding/" + strconv.FormatUint(h.ID, 10)}
	if h.Origin != 0 {
		objects = append(objects, "holding/"+strconv.FormatUint(h.Origin, 10))
	}
	var all []ipledger.HistoryEntry
	for _, obj := range objects {
		es, _, err := rc.h.src.HistoryPage(rc.r.Context(), obj, ipledger.HistoryPos{}, maxHistory)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", obj, err)
		}
		all = append(all, es...)
	}
	slices.SortFunc(all, func(a, b ipledger.HistoryEntry) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
	})
	all = slices.CompactFunc(all, func(a, b ipledger.HistoryEntry) bool { return a.Height == b.Height && a.Index == b.Index })
	var out []event
	for i, e := range all {
		if e.Height > rc.snap.Height {
			continue // committed after the snapshot this answer reads
		}
		if i%64 == 0 {
			if err := rc.r.Context().Err(); err != nil {
				return nil, err // the client is gone
			}
		}
		// The log leaf says what the entry was without decoding its block's whole record
		// (an import block's runs to megabytes); a node whose log starts later (state
		// sync) cannot say, and the record is read instead.
		d, ok, err := rc.h.src.HistoryDetailOf(e)
		if err != nil {
			return nil, fmt.Errorf("history of holding %d: %w", h.ID, err)
		}
		if ok && d.EndBlock {
			continue // a block's time-driven events: never a transfer
		}
		if ok {
			if d.Code == ipledger.CodeOK && (d.Kind == ipledger.KindTransfer.String() || d.Kind == ipledger.KindRegistryTransfer.String()) {
				out = append(out, event{Action: "transfer", Date: rfc3339(d.Time)})
			}
			continue
		}
		rec, err := rc.block(e.Height)
		if err != nil {
			return nil, err
		}
		if rec != nil && int(e.Index) == len(rec.Txs) {
			continue // the block's time-driven events
		}
		if rec == nil || int(e.Index) >= len(rec.Txs) || rec.Txs[e.Index].Hash != e.Hash {
			return nil, fmt.Errorf("history of holding %d: block %d has no record of tx %d (%s)", h.ID, e.Height, e.Index, e.Hash)
		}
		t := rec.Txs[e.Index]
		if t.Code == ipledger.CodeOK && (t.Kind == ipledger.KindTransfer.String() || t.Kind == ipledger.KindRegistryTransfer.String()) {
			out = append(out, event{Action: "transfer", Date: rfc3339(rec.Time)})
		}
	}
	return out, nil
}
