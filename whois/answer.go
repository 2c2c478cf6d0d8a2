package whois

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// Outcomes of a query, the label of ipledger_whois_queries_total.
const (
	outcomeOK       = "ok"
	outcomeNotFound = "not_found"
	outcomeReferral = "referral"
	outcomeError    = "error"
	outcomeInternal = "internal"
)

// run is one query being answered against one committed snapshot.
type run struct {
	ctx  context.Context // ends at the answer's deadline: walks stop there
	s    *Server
	q    *Query
	snap *ipledger.Snapshot
	kv   ipledger.KV
	orgs map[string]*ipledger.Organisation // cache, nil for a missing handle

	out      strings.Builder
	seen     map[string]bool // objects printed, by type/key
	primary  int             // primary objects printed
	notes    []string        // comment lines printed after the objects
	referred bool
}

// errLimit stops collecting objects once an answer holds as many as it may.
var errLimit = errors.New("object limit reached")

// answer writes the body of the answer to q: objects and comments, or an %ERROR block. It
// never panics on any query; a failing store comes back as %ERROR:100 and is logged.
func (s *Server) answer(q *Query, snap *ipledger.Snapshot) (body string, outcome string) {
	// An answer that cannot be written within the write timeout is not worth finishing:
	// the connection's deadline would cut it anyway.
	ctx, cancel := context.WithTimeout(context.Background(), s.opt.WriteTimeout)
	defer cancel()
	r := &run{ctx: ctx, s: s, q: q, snap: snap, orgs: map[string]*ipledger.Organisation{}, seen: map[string]bool{}}
	err := r.execute()
	if err != nil {
		var qe *QueryError
		if errors.Is(err, context.DeadlineExceeded) {
			qe = qerr(errTooLarge, "query took too long", fmt.Sprintf("The answer was not ready within %s; narrow the query (-T, a longer prefix).", s.opt.WriteTimeout))
		} else if !errors.As(err, &qe) {
			s.log.Error("whois query", "query", q.Key, "err", err)
			qe = qerr(errInternal, "internal software error", "The server could not answer; the error is logged.")
		}
		var b strings.Builder
		b.WriteString(r.out.String())
		writeError(&b, qe)
		oc := outcomeError
		switch qe.Code {
		case errNotFound:
			oc = outcomeNotFound
		case errInternal:
			oc = outcomeInternal
		}
		return b.String(), oc
	}
	for _, n := range r.notes {
		r.out.WriteString(n)
		r.out.WriteString("\n\n")
	}
	if r.referred && r.primary == 0 {
		return r.out.String(), outcomeReferral
	}
	return r.out.String(), outcomeOK
}

// writeError formats a query error: the %ERROR line, then its explanation as comments.
func writeError(b *strings.Builder, e *QueryError) {
	fmt.Fprintf(b, "%%ERROR:%d: %s\n", e.Code, e.Text)
	if len(e.Detail) > 0 {
		b.WriteString("%\n")
		for _, d := range e.Detail {
			b.WriteString("% " + d + "\n")
		}
	}
	b.WriteByte('\n')
}

func notFound() error {
	return qerr(errNotFound, "no entries found", "No entries found in source "+SourceName+".")
}

func (r *run) execute() error {
	q := r.q
	for _, w := range q.Warnings {
		r.comment(w)
	}
	switch {
	case q.Help:
		r.out.WriteString(helpText)
		r.out.WriteByte('\n')
		return nil
	case q.Info != "":
		return r.info()
	}
	if r.snap == nil || r.snap.State == nil || r.snap.Height < 1 {
		return qerr(errNotFound, "no entries found", "This node has not committed its first block yet; try again shortly.")
	}
	r.kv = r.snap.State
	if q.Inverse != nil {
		return r.inverse()
	}
	if res, ok := parseKey(q.Key); ok {
		return r.resource(res)
	}
	if q.Level != LevelDefault || q.Brief {
		r.comment("%WARNING:902: useless IP flag passed\n%\n% An IP flag (-x, -l, -L, -m, -M or -b) was given with a key that is not an IP address or AS number.")
	}
	return r.handle(q.Key)
}

// comment adds a comment block (lines starting with %) and a blank line.
func (r *run) comment(text string) {
	r.out.WriteString(text)
	r.out.WriteString("\n\n")
}

// emit prints o unless it was printed already in this answer; primary objects count
// towards the answer's limit.
func (r *run) emit(o *object, primary bool) error {
	if r.seen[o.id()] {
		return nil
	}
	if primary {
		if r.primary >= r.s.opt.MaxObjects {
			return errLimit
		}
		r.primary++
	}
	r.seen[o.id()] = true
	if r.q.KeysOnly {
		o = o.keysOnly()
	}
	o.writeTo(&r.out)
	r.out.WriteByte('\n')
	return nil
}

// wants reports whether the query's type selection admits primary objects of typ.
func (r *run) wants(typ string) bool {
	if r.q.Types == nil {
		return true
	}
	for _, t := range r.q.Types {
		if t == typ {
			return true
		}
	}
	return false
}

func (r *run) org(handle string) (*ipledger.Organisation, error) {
	if o, ok := r.orgs[handle]; ok {
		return o, nil
	}
	o, err := ledger.Org(r.kv, handle)
	if err != nil {
		return nil, fmt.Errorf("organisation %s: %w", handle, err)
	}
	r.orgs[handle] = o
	return o, nil
}

// resource answers an address, prefix, range or AS number query.
func (r *run) resource(res ipledger.Resource) error {
	chn, err := ledger.Lookup(r.kv, res)
	if err != nil {
		return fmt.Errorf("lookup %s: %w", res, err)
	}
	if len(chn) > 0 {
		if reg, err := r.referral(chn[0]); err != nil {
			return err
		} else if reg != "" {
			r.refer(reg, res)
			return nil
		}
	}
	var list []*ipledger.Holding
	switch r.q.Level {
	case LevelDefault:
		if len(chn) > 0 {
			list = chn[len(chn)-1:]
		}
	case LevelExact:
		for _, h := range chn {
			if h.Resource == res {
				list = append(list, h)
			}
		}
	case LevelOneLess:
		for i := len(chn) - 1; i >= 0; i-- {
			if chn[i].Resource != res {
				list = chn[i : i+1]
				break
			}
		}
	case LevelAllLess:
		list = chn
	case LevelOneMore, LevelAllMore:
		if tooLarge(res) {
			return qerr(errTooLarge, "unsupported query", "-m and -M are not allowed on ranges larger than an IPv4 /8, an IPv6 /12 or 65536 AS numbers.")
		}
		return r.moreSpecific(res, chn)
	}
	routes, err := r.routeObjects(res)
	if err != nil {
		return err
	}
	if len(list) == 0 && len(routes) == 0 {
		return notFound()
	}
	if len(list) > 0 {
		if err := r.holdings(list, chn); err != nil && !(len(routes) > 0 && isNotFound(err)) {
			return err
		}
	}
	for _, o := range routes {
		if r.wants(o.typ) {
			if err := r.emit(o, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe) && qe.Code == errNotFound
}

// referral returns the registry whose own service holds the records of space in pool, or ""
// when the ledger answers for it: pools of an RIR that has not allocated on the ledger yet
// (not Authoritative). IANA's pools are IANA's registries, which genesis holds in full.
func (r *run) referral(pool *ipledger.Holding) (string, error) {
	if pool.Depth != 0 || whoisHosts[pool.Holder] == "" {
		return "", nil
	}
	reg, err := r.org(pool.Holder)
	if err != nil {
		return "", err
	}
	if reg == nil || reg.Authoritative {
		return "", nil
	}
	return pool.Holder, nil
}

// refer prints where the records of res are.
func (r *run) refer(registry string, res ipledger.Resource) {
	host := whoisHosts[registry]
	r.comment(fmt.Sprintf("%% This space is managed by %s; its records are not on this ledger yet.\n%% Query %s for them: whois -h %s %s",
		registry, host, host, keyText(res)))
	r.referred = true
}

// holdings prints each holding of list as a group with its referenced objects; chn is the
// lookup chain of the key when list comes from it (nil otherwise).
func (r *run) holdings(list, chn []*ipledger.Holding) error {
	printed := 0
	for _, h := range list {
		if !r.wants(objectType(h)) {
			continue
		}
		c := chn
		if len(c) <= h.Depth || c[h.Depth].ID != h.ID {
			var err error
			if c, err = r.chainOf(h); err != nil {
				return err
			}
		}
		if err := r.holding(h, c[:h.Depth+1]); err != nil {
			if errors.Is(err, errLimit) {
				r.truncated()
				return nil
			}
			return err
		}
		printed++
	}
	if printed == 0 {
		return notFound()
	}
	return nil
}

func (r *run) truncated() {
	r.notes = append(r.notes, fmt.Sprintf("%% Note: this answer is cut at %d objects; narrow the query (-T, a longer prefix) for the rest.", r.s.opt.MaxObjects))
}

// chainOf returns the lookup chain of h down to h itself.
func (r *run) chainOf(h *ipledger.Holding) ([]*ipledger.Holding, error) {
	c, err := ledger.Lookup(r.kv, h.Resource)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", h.Resource, err)
	}
	if len(c) <= h.Depth || c[h.Depth].ID != h.ID {
		return nil, fmt.Errorf("holding %d at depth %d is not in the lookup chain of %s", h.ID, h.Depth, h.Resource)
	}
	return c[:h.Depth+1], nil
}

// abuseContact returns the abuse mailbox for the last holding of chn: its holder's, else
// the nearest holder's above it, as the RIPE Database falls back to the parent resource.
func (r *run) abuseContact(chn []*ipledger.Holding) (string, error) {
	for i := len(chn) - 1; i >= 0; i-- {
		o, err := r.org(chn[i].Holder)
		if err != nil {
			return "", err
		}
		if o != nil && o.AbuseMailbox != "" {
			return o.AbuseMailbox, nil
		}
	}
	return "", nil
}

// holding prints one holding's group: header, abuse contact, the object, then (without -r)
// its holder's organisation and abuse role. chn is its lookup chain ending at it.
func (r *run) holding(h *ipledger.Holding, chn []*ipledger.Holding) error {
	key := primaryKey(h)
	if r.seen[holdingIdent(h)] {
		return nil
	}
	if r.primary >= r.s.opt.MaxObjects {
		return errLimit
	}
	holder, err := r.org(h.Holder)
	if err != nil {
		return err
	}
	abuse, err := r.abuseContact(chn)
	if err != nil {
		return err
	}
	if !r.q.NoGrouping && !r.q.Brief {
		r.comment("% Information related to '" + key + "'")
	}
	if abuse != "" {
		r.comment("% Abuse contact for '" + key + "' is '" + escapeValue(abuse) + "'")
	} else if !r.q.KeysOnly {
		r.comment("% No abuse contact registered for " + key)
	}
	if r.q.Brief {
		o := newObject(objectType(h), key)
		o.ident = holdingIdent(h)
		o.add("abuse-mailbox", abuse)
		return r.emit(o, true)
	}
	if err := r.emit(holdingObject(h, holder), true); err != nil {
		return err
	}
	if holder != nil {
		return r.referenced(holder)
	}
	return nil
}

// referenced prints the objects an object of o refers to, unless -r or -K: the
// organisation, and its abuse role.
func (r *run) referenced(o *ipledger.Organisation) error {
	if r.q.NoRecurse || r.q.KeysOnly {
		return nil
	}
	if err := r.emit(orgObject(o), false); err != nil {
		return err
	}
	if o.AbuseMailbox != "" {
		return r.emit(roleObject(o, r.q.NoFilter), false)
	}
	return nil
}

// sortHoldings orders holdings as a tree: by address, a larger range before the ranges it
// contains, and an equal range by depth.
func sortHoldings(list []*ipledger.Holding) {
	slices.SortFunc(list, func(a, b *ipledger.Holding) int {
		if c := a.Resource.Compare(b.Resource); c != 0 {
			return c
		}
		return a.Depth - b.Depth
	})
}
