package whois

import (
	"context"
	"errors"
	"fmt"
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

func isNotFound(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe) && qe.Code == errNotFound
}

func (r *run) truncated() {
	r.notes = append(r.notes, fmt.Sprintf("%% Note: this answer is cut at %d objects; narrow the query (-T, a longer prefix) for the rest.", r.s.opt.MaxObjects))
}
