package ledger

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
)

// The abuse process (issue 18). A case concerns one block: the prefix a report or a
// DROP-class listing names, inside the deepest holding containing it. Opening it notifies
// the holder and, when a lease runs on the block, the lessee, and starts the cure window
// (per category). A response (counter-evidence or a cure) or the window's end leads to a
// decision: automatic when the rule is mechanical (a listing-opened case, still listed and
// unanswered when the window ends), otherwise by the panel (Params.AbusePanel; the block's
// registry while it is empty). An upheld decision acts on the block only — its route
// authorisations suspended (a covering one split into the complement), AS0 published over
// it, the lease cut to its paid periods, the lessee bond forfeited — and records what it
// changed, so that an appeal within the appeal window restores exactly that. When the
// window ends the decision is final: the forfeited bond is paid out, the reporter's bond
// returned. A delisting before a decision cures a listing-opened case.
//
//	'E' id(8)                              → Case JSON
//	'N' key(17) bits id(8)                 → the case's summary (encodeCaseSummary): cases by
//	                                         the block's position, for passports and grades
//	'U' reporter                           → the reporter's open reports (8 bytes)
//	'J' observer 0 list 0 key(17) bits     → the open cases a listing opened (8 bytes each)
//	'n' 'E'                                → next case id
const (
	tagCase    = 'E'
	tagCasePos = 'N'
	tagReports = 'U'
	tagObsCase = 'J'

	counterCase = 'E'
)

// Due kinds of the abuse process.
const (
	dueCure   = 'E' // a case's cure window ends
	dueAppeal = 'N' // an upheld decision's appeal window ends
)

// encAbuse encumbers a block an upheld decision acted on, until the case closes or an
// appeal reverses it: no authorisation, offer, sale or transfer of it meanwhile.
const encAbuse = "abuse"

// CategoryDrop is the category of a case a DROP-class listing opened.
const CategoryDrop = "drop"

// AbuseCategory is a category of abuse case with the reporter's bond, in credits, and the
// cure window, in seconds.
type AbuseCategory struct {
	Name string `json:"name"`
	Bond uint64 `json:"bond"`
	Cure int64  `json:"cure"`
}

func defaultAbuseCategories() []AbuseCategory {
	out := []AbuseCategory{{Name: CategoryDrop, Bond: 0, Cure: 24 * 3600}}
	for _, n := range []string{"spam", "malware", "phishing", "botnet", "hijack", "other"} {
		out = append(out, AbuseCategory{Name: n, Bond: 10_000, Cure: 72 * 3600})
	}
	return out
}

// checkAbuse checks the abuse process's parameters: categories named like lists, each
// once, with a positive cure window; drop lists valid list names; the panel handles.
func (p Params) checkAbuse() error {
	for i, c := range p.AbuseCategories {
		if !ValidListName(c.Name) || len(c.Name) > 32 || c.Cure <= 0 {
			return fmt.Errorf("abuse category %.40q: a name of 1 to 32 of a-z, 0-9, '.', '-', '_' and a cure window over 0 s", c.Name)
		}
		if slices.IndexFunc(p.AbuseCategories, func(x AbuseCategory) bool { return x.Name == c.Name }) != i {
			return fmt.Errorf("abuse category %s twice", c.Name)
		}
	}
	for _, l := range p.DropLists {
		if !ValidListName(l) {
			return fmt.Errorf("drop list %.70q is not a list name", l)
		}
	}
	for _, h := range p.AbusePanel {
		if !ipledger.ValidHandle(h) {
			return fmt.Errorf("abuse panel member %.70q is not a handle", h)
		}
	}
	return nil
}

func (p Params) category(name string) (AbuseCategory, bool) {
	for _, c := range p.AbuseCategories {
		if c.Name == name {
			return c, true
		}
	}
	return AbuseCategory{}, false
}

func caseName(id uint64) string { return "case/" + strconv.FormatUint(id, 10) }

func casePosKey(r ipledger.Resource, id uint64) []byte {
	k := r.Key()
	bits := 0
	if p, ok := r.Prefix(); ok {
		bits = p.Bits()
	}
	return binary.BigEndian.AppendUint64(append(append([]byte{tagCasePos}, k[:]...), byte(bits)), id)
}

func reportsKey(org string) []byte { return append([]byte{tagReports}, org...) }

func obsCaseKey(observer, list string, r ipledger.Resource, bits int) []byte {
	k := r.Key()
	p := append([]byte{tagObsCase}, observer...)
	p = append(append(append(p, 0), list...), 0)
	return append(append(p, k[:]...), byte(bits))
}

// maxURL is the longest evidence URL a report may carry.
const maxURL = 512

// checkEvidence accepts the hex SHA-256 of a piece of evidence.
func checkEvidence(h string) error {
	if len(h) != 64 || strings.ToLower(h) != h {
		return ipledger.Errorf(ipledger.CodeInvalid, "evidence %.70q: want the lowercase hex SHA-256 of the evidence", h)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return ipledger.Errorf(ipledger.CodeInvalid, "evidence %.70q: want the lowercase hex SHA-256 of the evidence", h)
	}
	return nil
}

func (s state) abuseCase(id uint64) (*ipledger.Case, error) {
	return found[ipledger.Case](s, tagCase, id, "case")
}

func (a *apply) putCase(c *ipledger.Case) error {
	a.touch("case", strconv.FormatUint(c.ID, 10))
	if err := a.kv.Set(casePosKey(c.Resource, c.ID), encodeCaseSummary(c)); err != nil {
		return err
	}
	return a.putJSON(u64Key(tagCase, c.ID), c, "case")
}

// caseStates numbers the case states in a summary.
var caseStates = []string{ipledger.CaseNotice, ipledger.CaseResponded, ipledger.CasePending, ipledger.CaseUpheld,
	ipledger.CaseAppealed, ipledger.CaseCured, ipledger.CaseDismissed, ipledger.CaseBaseless, ipledger.CaseReversed, ipledger.CaseClosed}

// A case's summary is stored in binary beside its position, so that a passport and a grade
// read no JSON: its state (an index into caseStates), the opening and decision times (8
// bytes each), the block's prefix (netip's binary form, after its length byte) and the
// category. The id is in the key.
func encodeCaseSummary(c *ipledger.Case) []byte {
	b := []byte{byte(slices.Index(caseStates, c.State))}
	b = binary.BigEndian.AppendUint64(b, uint64(c.Opened))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Decided))
	pf, _ := c.Resource.Prefix()
	pb, _ := pf.MarshalBinary()
	b = append(append(b, byte(len(pb))), pb...)
	return append(b, c.Category...)
}

// decodeCaseSummary reads what encodeCaseSummary wrote; the key gives the id.
func decodeCaseSummary(k, v []byte) (ipledger.CaseSummary, error) {
	var s ipledger.CaseSummary
	if len(k) != 1+17+1+8 || len(v) < 18 || int(v[0]) >= len(caseStates) || int(v[17]) > len(v)-18 {
		return s, fmt.Errorf("case summary %x: bad record", k)
	}
	var pf netip.Prefix
	if err := pf.UnmarshalBinary(v[18 : 18+int(v[17])]); err != nil {
		return s, fmt.Errorf("case summary %x: %w", k, err)
	}
	r, err := ipledger.PrefixResource(pf)
	if err != nil {
		return s, fmt.Errorf("case summary %x: %w", k, err)
	}
	// Only the form putCase stores: a masked prefix without a zone, where the key says.
	if pf != pf.Masked() || int(v[17]) != 1+pf.Addr().BitLen()/8 || string(casePosKey(r, 0)[:19]) != string(k[:19]) {
		return s, fmt.Errorf("case summary %x: prefix not in canonical form", k)
	}
	s.ID, s.Resource, s.State = binary.BigEndian.Uint64(k[19:]), r, caseStates[v[0]]
	s.Opened, s.Decided = int64(binary.BigEndian.Uint64(v[1:])), int64(binary.BigEndian.Uint64(v[9:]))
	s.Category = string(v[18+int(v[17]):])
	return s, nil
}

func (a *apply) step(c *ipledger.Case, st ipledger.CaseStep) {
	st.Height, st.Time = a.block.Height, a.block.Time.Unix()
	c.Steps = append(c.Steps, st)
}

// report opens a case on a block (KindReport): a valid category and evidence hash, a URL of
// at most 512 bytes, the block a prefix inside a holding (CodeNotFound for pool space), the
// reporter under Params.MaxOpenReports open reports (CodeRateLimited) and its bond free
// (CodeNoFunds).
func (a *apply) report(body *ipledger.ReportBody) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	cat, ok := p.category(body.Category)
	switch {
	case !ok:
		return ipledger.Errorf(ipledger.CodeInvalid, "category %.40q: not one of the chain's abuse categories", body.Category)
	case len(body.URL) > maxURL || strings.ContainsAny(body.URL, " \t\r\n"):
		return ipledger.Errorf(ipledger.CodeInvalid, "evidence URL: at most %d bytes without spaces", maxURL)
	}
	if err := checkEvidence(body.Evidence); err != nil {
		return err
	}
	if _, ok := body.Resource.Prefix(); !ok || !body.Resource.IsValid() || body.Resource.Family() == ipledger.ASN {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s: report an address prefix", body.Resource)
	}
	by := a.signers[0].Handle
	n, err := a.getU64(reportsKey(by))
	if err != nil {
		return err
	}
	if n >= uint64(p.MaxOpenReports) {
		return ipledger.Errorf(ipledger.CodeRateLimited, "%s has %d open reports, the most the chain allows", by, n)
	}
	if cat.Bond > 0 {
		if err := a.hold(by, cat.Bond); err != nil {
			return err
		}
	}
	c := &ipledger.Case{Resource: body.Resource, Category: cat.Name, Reporter: by, Bond: cat.Bond, URL: body.URL}
	opened, err := a.openCase(c, cat, ipledger.CaseStep{Step: ipledger.StepReport, By: by, Evidence: body.Evidence})
	if err != nil {
		return err
	}
	if !opened {
		return ipledger.Errorf(ipledger.CodeNotFound, "%s lies in no holding (pool space): nobody to notify", body.Resource)
	}
	return a.setU64(reportsKey(by), n+1)
}

// openCase finds who c's block concerns, stores c with its first step and the notice, and
// queues the cure window's end. It reports false, storing nothing, when the block lies in
// no holding of depth 1 or more.
func (a *apply) openCase(c *ipledger.Case, cat AbuseCategory, first ipledger.CaseStep) (bool, error) {
	chain, err := a.chain(c.Resource)
	if err != nil {
		return false, err
	}
	hi := -1
	for i := len(chain) - 1; i > 0; i-- {
		if chain[i].Status != ipledger.StatusLeased {
			hi = i
			break
		}
	}
	if hi < 0 {
		return false, nil
	}
	c.Holder, c.Registry = chain[hi].Holder, chain[0].Holder
	if l, err := a.leaseOn(chain[:hi+1], c.Resource); err != nil {
		return false, err
	} else if l != nil {
		c.Lessee, c.Lease = l.Lessee, l.ID
	}
	id, err := a.next(counterCase)
	if err != nil {
		return false, err
	}
	now := a.block.Time.Unix()
	c.ID, c.State, c.Opened, c.Height, c.CureBy = id, ipledger.CaseNotice, now, a.block.Height, now+cat.Cure
	a.step(c, first)
	note := "holder " + c.Holder
	if c.Lessee != "" {
		note += ", lessee " + c.Lessee
	}
	a.step(c, ipledger.CaseStep{Step: ipledger.StepNotice, Evidence: first.Evidence, Note: note})
	a.touch("org", c.Holder)
	a.touch("org", c.Reporter)
	if c.Lessee != "" {
		a.touch("org", c.Lessee)
	}
	if err := a.kv.Set(dueKey(c.CureBy, dueCure, id), []byte{}); err != nil {
		return false, err
	}
	return true, a.putCase(c)
}

// leaseOn returns the running lease overlapping r in chain's last holding, nil if none.
func (a *apply) leaseOn(chain []*ipledger.Holding, r ipledger.Resource) (*ipledger.Lease, error) {
	var id uint64
	err := a.encumbrances(chain, r, func(e *Encumbrance) bool {
		if e.Kind == encLease {
			id, _ = strconv.ParseUint(strings.TrimPrefix(e.Ref, "lease/"), 10, 64)
			return false
		}
		return true
	})
	if err != nil || id == 0 {
		return nil, err
	}
	l, err := a.lease(id)
	if err != nil || l == nil || l.State == ipledger.LeaseEnded {
		return nil, err
	}
	return l, nil
}

// observedAbuse is the abuse process's part of an observation: a listing on a DROP-class
// list opens a case (no bond: the observer is admitted), a delisting cures the case it
// opened unless a decision came first.
func (a *apply) observedAbuse(obs, list string, c ipledger.ObservationChange, r ipledger.Resource) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	if !slices.Contains(p.DropLists, list) {
		return nil
	}
	key := obsCaseKey(obs, list, r, c.Prefix.Bits())
	if c.Event == ipledger.ObservationListed {
		cat, ok := p.category(CategoryDrop)
		if !ok {
			return nil
		}
		parts, err := a.listedParts(r)
		if err != nil {
			return err
		}
		var ids []uint64
		for _, part := range parts {
			cs := &ipledger.Case{Resource: part, Category: CategoryDrop, Reporter: obs, List: list, ListID: c.ID, Listed: c.Prefix}
			opened, err := a.openCase(cs, cat, ipledger.CaseStep{Step: ipledger.StepListed, By: obs, Note: list + " " + c.ID + " " + c.Prefix.String()})
			if err != nil {
				return err
			}
			if opened {
				ids = append(ids, cs.ID)
			}
		}
		return a.setIDs(key, ids)
	}
	ids, err := a.ids(key)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := a.kv.Delete(key); err != nil {
		return err
	}
	for _, id := range ids {
		cs, err := a.abuseCase(id)
		if err != nil {
			return err
		}
		a.step(cs, ipledger.CaseStep{Step: ipledger.StepDelisted, By: obs, Note: list + " " + c.ID})
		switch cs.State {
		case ipledger.CaseNotice, ipledger.CaseResponded, ipledger.CasePending:
			if err := a.closeCase(cs, ipledger.CaseCured, p); err != nil {
				return err
			}
		}
		if err := a.putCase(cs); err != nil {
			return err
		}
	}
	return nil
}

// maxListedParts bounds the cases one listing opens when it spans several holdings.
const maxListedParts = 16

// listedParts are the blocks a listing of r concerns: r itself when a holding contains it,
// else the part of each holding one level below the deepest containing r (pool space) that
// r covers, as prefixes, at most maxListedParts of them (in address order).
func (a *apply) listedParts(r ipledger.Resource) ([]ipledger.Resource, error) {
	chain, err := a.chain(r)
	if err != nil || len(chain) == 0 {
		return nil, err
	}
	if chain[len(chain)-1].Depth > 0 {
		return []ipledger.Resource{r}, nil
	}
	kids, _, err := ChildrenPage(context.Background(), a.kv, &ipledger.Holding{Resource: r, Depth: chain[len(chain)-1].Depth}, ipledger.Resource{}, maxListedParts)
	if err != nil {
		return nil, err
	}
	var out []ipledger.Resource
	for _, k := range kids {
		for _, pf := range k.Resource.Prefixes() {
			part, err := ipledger.PrefixResource(pf)
			if err != nil || !part.Overlaps(r) {
				continue
			}
			if part.Contains(r) {
				part = r
			}
			if len(out) < maxListedParts {
				out = append(out, part)
			}
		}
	}
	return out, nil
}

// ids reads a list of 8-byte ids.
func (s state) ids(k []byte) ([]uint64, error) {
	b, err := s.kv.Get(k)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", k[:1], err)
	}
	var out []uint64
	for ; len(b) >= 8; b = b[8:] {
		out = append(out, binary.BigEndian.Uint64(b))
	}
	return out, nil
}

// setIDs stores a list of 8-byte ids; none deletes k.
func (s state) setIDs(k []byte, ids []uint64) error {
	if len(ids) == 0 {
		return s.kv.Delete(k)
	}
	var b []byte
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	return s.kv.Set(k, b)
}

// listedKey is the 'J' key of the listing that opened c.
func listedKey(c *ipledger.Case) []byte {
	r, _ := ipledger.PrefixResource(c.Listed)
	return obsCaseKey(c.Reporter, c.List, r, c.Listed.Bits())
}

// partyCase checks evidence and loads case id for a step only its parties may take (what
// names the step in the refusal): it returns the case and the signer, who must be the
// case's holder or lessee.
func (a *apply) partyCase(id uint64, evidence, what string) (*ipledger.Case, string, error) {
	if err := checkEvidence(evidence); err != nil {
		return nil, "", err
	}
	c, err := a.abuseCase(id)
	if err != nil {
		return nil, "", err
	}
	by := a.signers[0].Handle
	if by != c.Holder && (c.Lessee == "" || by != c.Lessee) {
		return nil, "", ipledger.Errorf(ipledger.CodeUnauthorized, "case %d concerns %s; %s may not %s it", c.ID, c.Holder, by, what)
	}
	return c, by, nil
}

// respond answers a case in its notice state, within the cure window (KindRespond); the
// signer must be the case's holder or lessee.
func (a *apply) respond(body *ipledger.RespondBody) error {
	c, by, err := a.partyCase(body.Case, body.Evidence, "answer")
	if err != nil {
		return err
	}
	if c.State != ipledger.CaseNotice || a.block.Time.Unix() > c.CureBy {
		return ipledger.Errorf(ipledger.CodeInvalid, "case %d is %s; a response comes within the cure window", c.ID, c.State)
	}
	note := "counter-evidence"
	if body.Cure {
		note = "cure"
	}
	a.step(c, ipledger.CaseStep{Step: ipledger.StepResponse, By: by, Evidence: body.Evidence, Note: note})
	c.State = ipledger.CaseResponded
	return a.putCase(c)
}

// decider checks that org may decide c: a panel member, or c's registry without a panel.
func decider(p Params, c *ipledger.Case, org string) error {
	if len(p.AbusePanel) == 0 {
		if org != c.Registry {
			return ipledger.Errorf(ipledger.CodeUnauthorized, "without a panel, %s (the block's registry) decides case %d", c.Registry, c.ID)
		}
		return nil
	}
	if !slices.Contains(p.AbusePanel, org) {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "%s is not on the abuse panel", org)
	}
	return nil
}

// decide decides a case after its response or cure window, or an appeal (KindDecide).
func (a *apply) decide(body *ipledger.DecideBody) error {
	if err := checkEvidence(body.Evidence); err != nil {
		return err
	}
	p, err := a.params()
	if err != nil {
		return err
	}
	c, err := a.abuseCase(body.Case)
	if err != nil {
		return err
	}
	if err := decider(p, c, a.signers[0].Handle); err != nil {
		return err
	}
	st := ipledger.CaseStep{Step: ipledger.StepDecision, By: a.signers[0].Handle, Evidence: body.Evidence, Outcome: body.Outcome}
	switch c.State {
	case ipledger.CaseResponded, ipledger.CasePending:
		switch body.Outcome {
		case ipledger.OutcomeUpheld:
			a.step(c, st)
			if err := a.act(c, body.Evidence, p); err != nil {
				return err
			}
		case ipledger.OutcomeDismissed, ipledger.OutcomeBaseless:
			a.step(c, st)
			c.Decided = a.block.Time.Unix()
			if err := a.closeCase(c, body.Outcome, p); err != nil {
				return err
			}
		default:
			return ipledger.Errorf(ipledger.CodeInvalid, "outcome %.20q: upheld, dismissed or baseless", body.Outcome)
		}
	case ipledger.CaseAppealed:
		switch body.Outcome {
		case ipledger.OutcomeUpheld:
			a.step(c, st)
			c.Decided = a.block.Time.Unix()
			if err := a.finalise(c, p); err != nil {
				return err
			}
		case ipledger.OutcomeDismissed:
			a.step(c, st)
			if err := a.restore(c, body.Evidence, p); err != nil {
				return err
			}
		default:
			return ipledger.Errorf(ipledger.CodeInvalid, "outcome %.20q on appeal: upheld or dismissed", body.Outcome)
		}
	default:
		return ipledger.Errorf(ipledger.CodeInvalid, "case %d is %s; it is decided after a response, its cure window or an appeal", c.ID, c.State)
	}
	return a.putCase(c)
}

// appeal appeals an upheld decision within the appeal window (KindAppeal), by the holder
// or lessee the case concerns.
func (a *apply) appeal(body *ipledger.AppealBody) error {
	c, by, err := a.partyCase(body.Case, body.Evidence, "appeal")
	if err != nil {
		return err
	}
	if c.State != ipledger.CaseUpheld || a.block.Time.Unix() > c.AppealBy {
		return ipledger.Errorf(ipledger.CodeInvalid, "case %d is %s; only an upheld decision is appealed, within its window", c.ID, c.State)
	}
	if err := a.kv.Delete(dueKey(c.AppealBy, dueAppeal, c.ID)); err != nil {
		return err
	}
	a.step(c, ipledger.CaseStep{Step: ipledger.StepAppeal, By: by, Evidence: body.Evidence})
	c.State = ipledger.CaseAppealed
	return a.putCase(c)
}

// act applies an upheld decision to c's block and records what it changed.
func (a *apply) act(c *ipledger.Case, evidence string, p Params) error {
	now := a.block.Time.Unix()
	chain, err := a.chain(c.Resource)
	if err != nil {
		return err
	}
	act := &ipledger.CaseAction{}
	for i := len(chain) - 1; i > 0; i-- {
		if chain[i].Holder == c.Holder && chain[i].Status != ipledger.StatusLeased {
			act.Depth = i
			break
		}
	}
	if act.Depth == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s no longer holds %s; the case has nothing to act on", c.Holder, c.Resource)
	}
	auths, err := a.authsOverlapping(c.Resource)
	if err != nil {
		return err
	}
	for _, ra := range auths {
		if ra.ASN == 0 {
			continue // already AS0
		}
		act.Removed = append(act.Removed, *ra)
		if err := a.dropAuth(ra); err != nil {
			return err
		}
		pr, _ := ipledger.PrefixResource(ra.Prefix)
		for _, rest := range pr.Subtract(c.Resource) {
			for _, pf := range rest.Prefixes() {
				piece, err := a.newAuth(ipledger.RouteAuth{Prefix: pf, MaxLength: max(ra.MaxLength, pf.Bits()), ASN: ra.ASN, Holder: ra.Holder, Expires: ra.Expires, Lease: ra.Lease})
				if err != nil {
					return err
				}
				act.Created = append(act.Created, piece.ID)
			}
		}
	}
	for _, pf := range c.Resource.Prefixes() {
		z, err := a.newAuth(ipledger.RouteAuth{Prefix: pf, MaxLength: pf.Addr().BitLen(), ASN: 0, Holder: c.Holder, Case: c.ID})
		if err != nil {
			return err
		}
		act.Created = append(act.Created, z.ID)
	}
	c.Against = "holder"
	if c.Lease != 0 {
		l, err := a.lease(c.Lease)
		if err != nil {
			return err
		}
		if l != nil && l.State != ipledger.LeaseEnded {
			c.Against = "lessee"
			act.Lease, act.Periods, act.Terminating = l.ID, l.Periods, l.Terminating
			if l.Paid < l.Periods {
				l.Periods, l.Terminating, act.Cut = max(l.Paid, 1), true, true
			}
			if l.Bond > 0 && l.BondCase == 0 {
				l.BondCase, act.Forfeit = c.ID, l.Bond
			}
			if err := a.setTerm(l); err != nil {
				return err
			}
		}
	}
	if err := a.putEncumbrance(&Encumbrance{Kind: encAbuse, Ref: caseName(c.ID), Resource: c.Resource, Depth: act.Depth}); err != nil {
		return err
	}
	c.Action, c.State, c.Decided, c.AppealBy = act, ipledger.CaseUpheld, now, now+p.AppealWindow
	a.touch("org", c.Holder)
	a.step(c, ipledger.CaseStep{Step: ipledger.StepAction, Evidence: evidence, Note: actionNote(act)})
	return a.kv.Set(dueKey(c.AppealBy, dueAppeal, c.ID), []byte{})
}

func actionNote(act *ipledger.CaseAction) string {
	note := fmt.Sprintf("%d authorisations suspended, %d placed (AS0 and the split's complement)", len(act.Removed), len(act.Created))
	if act.Cut {
		note += fmt.Sprintf("; lease %d ends with its paid periods", act.Lease)
	}
	if act.Forfeit > 0 {
		note += fmt.Sprintf("; lessee bond of %d forfeited", act.Forfeit)
	}
	return note
}

// restore undoes c's action (an appeal granted): the authorisations it placed go, those it
// removed come back as they were (but those that expired meanwhile, or whose lease ended),
// the lease's term and bond are as before, the encumbrance goes.
func (a *apply) restore(c *ipledger.Case, evidence string, p Params) error {
	act := c.Action
	if act == nil {
		return ipledger.Errorf(ipledger.CodeInternal, "case %d upheld without an action", c.ID)
	}
	now := a.block.Time.Unix()
	for _, id := range act.Created {
		ra, err := a.auth(id)
		if err != nil {
			return err
		}
		if ra != nil {
			if err := a.dropAuth(ra); err != nil {
				return err
			}
		}
	}
	var lease *ipledger.Lease
	if act.Lease != 0 {
		var err error
		if lease, err = a.lease(act.Lease); err != nil {
			return err
		}
	}
	for i := range act.Removed {
		ra := act.Removed[i]
		if ra.Expires != 0 && ra.Expires <= now {
			continue
		}
		if ra.Lease != 0 {
			if l, err := a.lease(ra.Lease); err != nil {
				return err
			} else if l == nil || l.State == ipledger.LeaseEnded {
				continue
			}
		}
		// Another case's action still suspends part of it: that case restores it.
		if other, err := a.suspendingCase(ra.Prefix, c.ID); err != nil {
			return err
		} else if other != nil {
			other.Action.Removed = append(other.Action.Removed, ra)
			if err := a.putCase(other); err != nil {
				return err
			}
			continue
		}
		if err := a.putAuth(&ra); err != nil {
			return err
		}
		if authQueued(&ra) {
			if err := a.kv.Set(dueKey(ra.Expires, dueAuth, ra.ID), []byte{}); err != nil {
				return err
			}
		}
		a.touch("route", strconv.FormatUint(ra.ID, 10))
	}
	if lease != nil {
		if lease.State != ipledger.LeaseEnded {
			lease.Periods, lease.Terminating = act.Periods, act.Terminating
		}
		if lease.BondCase == c.ID {
			lease.BondCase = 0
			if lease.State == ipledger.LeaseEnded && lease.Bond > 0 {
				if err := a.release(lease.Lessee, lease.Bond); err != nil {
					return err
				}
				lease.Bond = 0
			}
		}
		if lease.State != ipledger.LeaseEnded {
			if err := a.setTerm(lease); err != nil {
				return err
			}
		} else if err := a.putLease(lease); err != nil {
			return err
		}
	}
	if err := a.deleteEncumbrance(&Encumbrance{Kind: encAbuse, Ref: caseName(c.ID), Resource: c.Resource, Depth: act.Depth}); err != nil {
		return err
	}
	a.step(c, ipledger.CaseStep{Step: ipledger.StepRestored, Evidence: evidence})
	c.Decided = now
	return a.closeCase(c, ipledger.CaseReversed, p)
}

// suspendingCase returns the case other than not whose action encumbers space overlapping
// p, nil if none.
func (a *apply) suspendingCase(p netip.Prefix, not uint64) (*ipledger.Case, error) {
	r, err := ipledger.PrefixResource(p)
	if err != nil {
		return nil, nil
	}
	chain, err := a.chain(r)
	if err != nil || len(chain) == 0 {
		return nil, err
	}
	var id uint64
	err = a.encumbrances(chain, r, func(e *Encumbrance) bool {
		if e.Kind == encAbuse && e.Ref != caseName(not) {
			id, _ = strconv.ParseUint(strings.TrimPrefix(e.Ref, "case/"), 10, 64)
			return false
		}
		return true
	})
	if err != nil || id == 0 {
		return nil, err
	}
	c, err := a.abuseCase(id)
	if err != nil {
		return nil, err
	}
	if c.Action == nil {
		return nil, ipledger.Errorf(ipledger.CodeInternal, "case %d encumbers %s without an action", id, r)
	}
	return c, nil
}

// finalise makes an upheld decision final: the forfeited lessee bond is paid out (the
// reporter's share, the rest to the lessor), the encumbrance goes (the AS0 stays until its
// holder withdraws it) and the case closes.
func (a *apply) finalise(c *ipledger.Case, p Params) error {
	if act := c.Action; act != nil {
		if act.Forfeit > 0 {
			l, err := a.lease(act.Lease)
			if err != nil {
				return err
			}
			if l == nil || l.BondCase != c.ID {
				return ipledger.Errorf(ipledger.CodeInternal, "case %d: lease %d does not hold its forfeited bond", c.ID, act.Lease)
			}
			if err := a.release(l.Lessee, act.Forfeit); err != nil {
				return err
			}
			share := fee(act.Forfeit, p.ReporterShareBps)
			if err := a.move(l.Lessee, c.Reporter, share); err != nil {
				return err
			}
			if err := a.move(l.Lessee, l.Lessor, act.Forfeit-share); err != nil {
				return err
			}
			l.Bond = 0
			a.touch("lease", strconv.FormatUint(l.ID, 10))
			if err := a.putLease(l); err != nil {
				return err
			}
		}
		if err := a.deleteEncumbrance(&Encumbrance{Kind: encAbuse, Ref: caseName(c.ID), Resource: c.Resource, Depth: act.Depth}); err != nil {
			return err
		}
	}
	a.step(c, ipledger.CaseStep{Step: ipledger.StepFinal})
	return a.closeCase(c, ipledger.CaseClosed, p)
}

// closeCase moves c to the closed state st: the reporter's bond is returned, or paid to
// the holder for a baseless report; the reporter's open count and a listing's link go.
func (a *apply) closeCase(c *ipledger.Case, st string, p Params) error {
	if c.Bond > 0 {
		if err := a.release(c.Reporter, c.Bond); err != nil {
			return err
		}
		if st == ipledger.CaseBaseless {
			if err := a.move(c.Reporter, c.Holder, c.Bond); err != nil {
				return err
			}
		}
	}
	if c.List == "" {
		n, err := a.getU64(reportsKey(c.Reporter))
		if err != nil {
			return err
		}
		if n > 0 {
			if err := a.setU64(reportsKey(c.Reporter), n-1); err != nil {
				return err
			}
		}
	} else if st != ipledger.CaseCured {
		k := listedKey(c)
		ids, err := a.ids(k)
		if err != nil {
			return err
		}
		if err := a.setIDs(k, slices.DeleteFunc(ids, func(id uint64) bool { return id == c.ID })); err != nil {
			return err
		}
	}
	a.touch("org", c.Reporter)
	a.touch("org", c.Holder)
	c.State = st
	return nil
}

// abuseEvent applies a case's due event: the end of its cure window (the mechanical
// decision, or the case goes to the panel) or of its appeal window (final).
func (a *apply) abuseEvent(kind byte, id uint64, p Params) (string, string, error) {
	c, err := a.abuseCase(id)
	if err != nil {
		return "", "", fmt.Errorf("case %d: %w", id, err)
	}
	switch {
	case kind == dueCure && c.State == ipledger.CaseNotice:
		listed := false
		if c.List != "" {
			ids, err := a.ids(listedKey(c))
			if err != nil {
				return "", "", err
			}
			listed = slices.Contains(ids, c.ID)
		}
		if !listed {
			c.State = ipledger.CasePending
			a.step(c, ipledger.CaseStep{Step: ipledger.StepDecision, Auto: true, Note: "cure window ended; the panel decides"})
			return "case-pending", caseName(id), a.putCase(c)
		}
		// The decision and its action run in an overlay of their own: if the rules refuse
		// the action (the holding moved or went), none of it stays and the panel decides.
		ov := kvbuffer.New(a.kv)
		b := &apply{state: state{ov}, block: a.block}
		up := *c
		up.Steps = slices.Clone(c.Steps)
		b.step(&up, ipledger.CaseStep{Step: ipledger.StepDecision, Auto: true, Outcome: ipledger.OutcomeUpheld,
			Note: "still listed and unanswered when the cure window ended"})
		err := b.act(&up, "", p)
		if err == nil {
			if err := ov.FlushTo(a.kv); err != nil {
				return "", "", err
			}
			for _, obj := range b.touched {
				kind, id, _ := strings.Cut(obj, "/")
				a.touch(kind, id)
			}
			*c = up
			return "case-upheld", caseName(c.ID), a.putCase(c)
		}
		if ipledger.ErrorCode(err) == ipledger.CodeInternal {
			return "", "", err
		}
		c.State = ipledger.CasePending
		a.step(c, ipledger.CaseStep{Step: ipledger.StepDecision, Auto: true, Note: "still listed, but " + ipledger.ErrorMessage(err) + "; the panel decides"})
		return "case-pending", caseName(id), a.putCase(c)
	case kind == dueAppeal && c.State == ipledger.CaseUpheld:
		if err := a.finalise(c, p); err != nil {
			return "", "", err
		}
		return "case-closed", caseName(id), a.putCase(c)
	}
	return "case-window", caseName(id), nil
}

// CaseByID returns case id, nil if there is none.
func CaseByID(kv ipledger.KV, id uint64) (*ipledger.Case, error) {
	return getJSON[ipledger.Case](state{kv}, u64Key(tagCase, id), "case")
}

// Cases calls fn with every case after id after, in id order, until fn returns false.
func Cases(kv ipledger.KV, after uint64, fn func(*ipledger.Case) bool) error {
	return eachJSONRange(kv, u64Key(tagCase, after+1), []byte{tagCase + 1}, fn)
}

// OpenReports returns how many open cases org reported.
func OpenReports(kv ipledger.KV, org string) (uint64, error) {
	return state{kv}.getU64(reportsKey(org))
}

// CasesOverlapping returns the cases whose block overlaps r, in id order.
func CasesOverlapping(kv ipledger.KV, r ipledger.Resource) ([]*ipledger.Case, error) {
	refs, err := caseRefs(kv, r)
	if err != nil {
		return nil, err
	}
	out := make([]*ipledger.Case, 0, len(refs))
	for _, ref := range refs {
		c, err := CaseByID(kv, ref.id)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// caseRef is a case found by position: its id and the stored summary, decoded on demand.
type caseRef struct {
	id       uint64
	key, val []byte
}

func (c caseRef) state() string {
	if len(c.val) < 17 || int(c.val[0]) >= len(caseStates) {
		return ""
	}
	return caseStates[c.val[0]]
}

func (c caseRef) decided() int64 {
	if len(c.val) < 17 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(c.val[9:]))
}

// caseRefs returns the cases whose block overlaps r, in id order, from the position index
// alone, without decoding their summaries.
func caseRefs(kv ipledger.KV, r ipledger.Resource) ([]caseRef, error) {
	var out []caseRef
	pt := r.Point()
	err := scanOverlapping(kv, tagCasePos, r, func(k, v []byte, containing bool) bool {
		if len(k) != 1+17+1+8 {
			return true
		}
		if containing && (int(k[18]) > r.Family().Bits() || pt.Block(int(k[18])).Key() != [17]byte(k[1:18])) {
			return true
		}
		out = append(out, caseRef{id: binary.BigEndian.Uint64(k[19:]), key: slices.Clone(k), val: slices.Clone(v)})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("scan cases: %w", err)
	}
	slices.SortFunc(out, func(x, y caseRef) int { return cmpU64(x.id, y.id) })
	return out, nil
}

// CaseSummariesPage returns at most limit summaries of the cases whose block overlaps r
// with an id greater than after, in id order, and whether more follow: a passport's
// cases, read from the position index without decoding a case.
func CaseSummariesPage(kv ipledger.KV, r ipledger.Resource, after uint64, limit int) ([]ipledger.CaseSummary, bool, error) {
	refs, err := caseRefs(kv, r)
	if err != nil {
		return nil, false, err
	}
	i, _ := slices.BinarySearchFunc(refs, after+1, func(c caseRef, id uint64) int { return cmpU64(c.id, id) })
	refs = refs[i:]
	more := len(refs) > limit
	refs = refs[:min(len(refs), limit)]
	out := make([]ipledger.CaseSummary, len(refs))
	for i, ref := range refs {
		if out[i], err = decodeCaseSummary(ref.key, ref.val); err != nil {
			return nil, false, ipledger.Errorf(ipledger.CodeInternal, "%v", err)
		}
	}
	return out, more, nil
}

// caseGrade is what the cases of a block say of its grade at now: C for an upheld decision
// standing within window, B for one reversed within it, A otherwise.
func caseGrade(cases []caseRef, now, window int64) string {
	g := GradeA
	for _, c := range cases {
		if d := c.decided(); d < now-window || d == 0 {
			continue
		}
		switch c.state() {
		case ipledger.CaseUpheld, ipledger.CaseAppealed, ipledger.CaseClosed:
			return GradeC
		case ipledger.CaseReversed:
			g = GradeB
		}
	}
	return g
}

// worseGrade returns the worse of two grades.
func worseGrade(x, y string) string { return max(x, y) }

// OpenCases returns at most limit open cases (CaseOpen) on blocks overlapping r, in id
// order, and how many there are in all: the notices RDAP and WHOIS mention beside the
// abuse contact.
func OpenCases(kv ipledger.KV, r ipledger.Resource, limit int) ([]*ipledger.Case, int, error) {
	refs, err := caseRefs(kv, r)
	if err != nil {
		return nil, 0, err
	}
	var out []*ipledger.Case
	n := 0
	for _, ref := range refs {
		if !ipledger.CaseOpen(ref.state()) {
			continue
		}
		if n < limit {
			c, err := CaseByID(kv, ref.id)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, c)
		}
		n++
	}
	return out, n, nil
}
