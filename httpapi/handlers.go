package httpapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/tlog"
)

func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.node.Status(r.Context())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if st.Halted {
		// A health check that reads only the status sees a halted node as down.
		status = http.StatusServiceUnavailable
	}
	return s.writeJSON(w, status, st)
}

// submit admits a transaction: 202 with its hash after CheckTx, or with ?wait=commit 200
// with its outcome once committed. A wait that runs out answers 202 with the hash only.
func (s *server) submit(w http.ResponseWriter, r *http.Request) error {
	wait := false
	switch v := r.URL.Query().Get("wait"); v {
	case "":
	case "commit":
		wait = true
	default:
		return invalid("wait=%.20q: the only value is \"commit\"", v)
	}
	b, err := readTx(w, r)
	if err != nil {
		return err
	}
	// Submit decodes first: garbage is answered without a trip through the mempool.
	hash, err := s.node.Submit(r.Context(), b)
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client is gone
		}
		return err
	}
	if !wait {
		return s.writeJSON(w, http.StatusAccepted, apitypes.SubmitResult{Hash: hash})
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.commitWait)
	defer cancel()
	out, err := s.app.WaitCommit(ctx, hash)
	switch {
	case err == nil:
		o := outcomeOf(out)
		return s.writeJSON(w, http.StatusOK, apitypes.SubmitResult{Hash: hash, Outcome: &o})
	case r.Context().Err() != nil:
		return nil // the client is gone
	case isContextErr(err):
		return s.writeJSON(w, http.StatusAccepted, apitypes.SubmitResult{Hash: hash})
	default:
		return err
	}
}

// readTx reads the transaction of a POST /v1/tx: the raw bytes, or SubmitRequest JSON when
// the content type is application/json. Bodies beyond the limit are CodeTooLarge (413).
func readTx(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	limit := int64(ipledger.MaxTxBytes)
	if mt == "application/json" {
		limit = int64(base64.StdEncoding.EncodedLen(ipledger.MaxTxBytes)) + 1024
	}
	if r.ContentLength > limit {
		return nil, tooLarge(r.ContentLength)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var b []byte
	if mt == "application/json" {
		var req apitypes.SubmitRequest
		d := json.NewDecoder(body)
		d.DisallowUnknownFields()
		if err := d.Decode(&req); err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, tooLarge(-1)
			}
			return nil, ipledger.Errorf(ipledger.CodeMalformed, "request body: %v", err)
		}
		if d.More() {
			return nil, ipledger.Errorf(ipledger.CodeMalformed, "request body: trailing data")
		}
		b = req.Tx
	} else {
		var err error
		if b, err = io.ReadAll(body); err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, tooLarge(-1)
			}
			return nil, ipledger.Errorf(ipledger.CodeMalformed, "read request body: %v", err)
		}
	}
	if len(b) == 0 {
		return nil, ipledger.Errorf(ipledger.CodeMalformed, "no transaction in the request body")
	}
	if len(b) > ipledger.MaxTxBytes {
		return nil, tooLarge(int64(len(b)))
	}
	return b, nil
}

func tooLarge(n int64) error {
	if n < 0 {
		return ipledger.Errorf(ipledger.CodeTooLarge, "request body is over the limit; a transaction is at most %d bytes", ipledger.MaxTxBytes)
	}
	return ipledger.Errorf(ipledger.CodeTooLarge, "request body is %d bytes; a transaction is at most %d bytes", n, ipledger.MaxTxBytes)
}

func outcomeOf(o ipledger.TxOutcome) apitypes.Outcome {
	return apitypes.Outcome{Height: o.Height, Index: o.Index, Code: o.Code, CodeName: o.Code.String(), Log: o.Log, Touched: o.Touched}
}

// tx answers where and how a transaction was committed, with its decoded content from the
// transparency log.
func (s *server) tx(w http.ResponseWriter, r *http.Request) error {
	hash, err := ipledger.ParseHash(r.PathValue("hash"))
	if err != nil {
		return invalid("%v", err)
	}
	info, err := s.txInfo(hash)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}

func (s *server) txInfo(hash ipledger.Hash) (*apitypes.TxInfo, error) {
	out, ok, err := s.app.Outcome(hash)
	if err != nil {
		return nil, fmt.Errorf("outcome of %s: %w", hash, err)
	}
	if !ok {
		return nil, notFound("transaction %s is not committed (it may still be waiting in a mempool)", hash)
	}
	rec, err := s.app.Block(out.Height)
	if err != nil {
		return nil, fmt.Errorf("tx %s: %w", hash, err)
	}
	if rec == nil || int(out.Index) >= len(rec.Txs) {
		return nil, fmt.Errorf("tx %s: block %d has no record of it", hash, out.Height)
	}
	info := &apitypes.TxInfo{Hash: hash, Outcome: outcomeOf(out), Time: rec.Time, Kind: rec.Txs[out.Index].Kind}
	// A block appends one leaf per transaction, then its end-of-block leaf.
	n := uint64(len(rec.Txs)) + 1
	if rec.LogSize < n {
		return nil, fmt.Errorf("tx %s: block %d log size %d below its %d leaves", hash, out.Height, rec.LogSize, n)
	}
	leafIndex := rec.LogSize - n + uint64(out.Index)
	leaf, err := s.app.Leaf(leafIndex)
	if err != nil {
		return nil, fmt.Errorf("tx %s: leaf %d: %w", hash, leafIndex, err)
	}
	l, err := tlog.DecodeLeaf(leaf)
	if err != nil {
		return nil, fmt.Errorf("tx %s: leaf %d: %w", hash, leafIndex, err)
	}
	tl, ok := l.(tlog.TxLeaf)
	if !ok || tl.Height != out.Height || tl.Index != out.Index || ipledger.HashTx(tl.Tx) != hash {
		return nil, fmt.Errorf("tx %s: leaf %d is not its log record", hash, leafIndex)
	}
	info.Size = len(tl.Tx)
	tx, err := ipledger.DecodeTx(tl.Tx)
	if err != nil {
		return info, nil // committed with a decode failure as its result; nothing more to show
	}
	info.Kind, info.ChainID, info.Sequence, info.Expiry = tx.Kind.String(), tx.ChainID, tx.Sequence, tx.Expiry
	for _, sig := range tx.Signatures {
		info.Signers = append(info.Signers, apitypes.TxSigner{Org: sig.Org, Key: sig.Key})
	}
	if json.Valid(tx.Body) {
		info.Body = json.RawMessage(tx.Body)
	} else {
		info.BodyRaw = tx.Body
	}
	return info, nil
}

// parseResourcePath parses the {resource...} part of /v1/resources/: anything
// ipledger.ParseResource accepts. Errors are CodeInvalid.
func parseResourcePath(p string) (ipledger.Resource, error) {
	if p == "" {
		return ipledger.Resource{}, invalid("no resource in the path; try /v1/resources/192.0.2.0/24 or /v1/resources/AS64496")
	}
	res, err := ipledger.ParseResource(p)
	if err != nil {
		return ipledger.Resource{}, invalid("%v", err)
	}
	return res, nil
}

// resource answers GET /v1/resources/{resource...} from the committed state.
func (s *server) resource(w http.ResponseWriter, r *http.Request, res ipledger.Resource, pg page) error {
	snap := s.app.Committed()
	chn, err := ledger.Lookup(snap.State, res)
	if err != nil {
		return fmt.Errorf("lookup %s: %w", res, err)
	}
	if len(chn) == 0 {
		return notFound("no single holding contains all of %s", res)
	}
	info, err := s.describe(r.Context(), snap, res, chn, pg)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}

// parseHoldingID reads "42" or a handle "IPL-H42" (any case).
func parseHoldingID(s string) (uint64, error) {
	n := s
	if len(n) > 5 && strings.EqualFold(n[:5], "IPL-H") {
		n = n[5:]
	}
	id, err := strconv.ParseUint(n, 10, 64)
	if err != nil || id == 0 {
		return 0, invalid("holding %.30q: want a number or a handle like IPL-H42", s)
	}
	return id, nil
}

// holdingChain returns holding id of kv and the lookup chain of its range down to it (deeper
// holdings may cover the same range, a whole allocation assigned on); h is nil when kv has no
// such holding.
func holdingChain(kv ipledger.KV, id uint64) (h *ipledger.Holding, chn []*ipledger.Holding, err error) {
	h, err = ledger.HoldingByID(kv, id)
	if err != nil {
		return nil, nil, fmt.Errorf("holding %d: %w", id, err)
	}
	if h == nil {
		return nil, nil, nil
	}
	chn, err = ledger.Lookup(kv, h.Resource)
	if err != nil {
		return nil, nil, fmt.Errorf("lookup %s: %w", h.Resource, err)
	}
	if len(chn) <= h.Depth || chn[h.Depth].ID != h.ID {
		return nil, nil, fmt.Errorf("holding %d at depth %d is not in the lookup chain of %s", h.ID, h.Depth, h.Resource)
	}
	return h, chn[:h.Depth+1], nil
}

// holding answers GET /v1/holdings/{id} from the committed state.
func (s *server) holding(w http.ResponseWriter, r *http.Request, id uint64, pg page) error {
	snap := s.app.Committed()
	h, chn, err := holdingChain(snap.State, id)
	if err != nil {
		return err
	}
	if h == nil {
		return notFound("no holding %s", ipledger.HoldingHandle(id))
	}
	info, err := s.describe(r.Context(), snap, h.Resource, chn, pg)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}

// page is where a client asked a resource or holding answer's lists to resume: after the
// child starting at ?children_after= and after the history position ?history_after=
// (the children_next and history_next of the previous answer).
type page struct {
	childrenAfter ipledger.Resource
	historyAfter  ipledger.HistoryPos
}

// parsePage reads ?children_after= and ?history_after=. Errors are CodeInvalid.
func parsePage(r *http.Request) (page, error) {
	var pg page
	q := r.URL.Query()
	if v := q.Get("children_after"); v != "" {
		res, err := ipledger.ParseResource(v)
		if err != nil {
			return page{}, invalid("children_after=%.60q: %v", v, err)
		}
		pg.childrenAfter = res
	}
	var err error
	if pg.historyAfter, err = historyAfter(r); err != nil {
		return page{}, err
	}
	return pg, nil
}

// historyAfter reads ?history_after=HEIGHT.INDEX. Errors are CodeInvalid.
func historyAfter(r *http.Request) (ipledger.HistoryPos, error) {
	v := r.URL.Query().Get("history_after")
	if v == "" {
		return ipledger.HistoryPos{}, nil
	}
	p, err := ipledger.ParseHistoryPos(v)
	if err != nil {
		return ipledger.HistoryPos{}, invalid("history_after: %v", err)
	}
	return p, nil
}

// describe builds the answer for res whose lookup chain is chn (not empty), with a page of
// at most MaxHistory history entries and MaxChildren children from where pg says. It reads
// at most one entry and one child more than it answers, and stops with ctx's error.
func (s *server) describe(ctx context.Context, snap *ipledger.Snapshot, res ipledger.Resource, chn []*ipledger.Holding, pg page) (*apitypes.ResourceInfo, error) {
	names := nameCache{kv: snap.State, m: map[string]string{}}
	info := &apitypes.ResourceInfo{Resource: res, Height: snap.Height, Chain: make([]apitypes.HoldingInfo, 0, len(chn)), Children: []apitypes.HoldingInfo{}}
	for _, h := range chn {
		hi, err := names.holding(h)
		if err != nil {
			return nil, err
		}
		info.Chain = append(info.Chain, hi)
	}
	last := chn[len(chn)-1]
	info.Holding = info.Chain[len(info.Chain)-1]
	objects := []string{holdingObject(last.ID)}
	if last.Origin != 0 {
		objects = append(objects, holdingObject(last.Origin))
	}
	var err error
	if info.History, info.HistoryNext, err = s.history(ctx, pg.historyAfter, objects...); err != nil {
		return nil, err
	}
	info.HistoryTruncated = info.HistoryNext != ""
	kids, more, err := ledger.ChildrenPage(ctx, snap.State, last, pg.childrenAfter, MaxChildren)
	if err != nil {
		return nil, fmt.Errorf("children of holding %d: %w", last.ID, err)
	}
	for i, k := range kids {
		if i%64 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		hi, err := names.holding(k)
		if err != nil {
			return nil, err
		}
		info.Children = append(info.Children, hi)
	}
	if more {
		info.ChildrenTruncated, info.ChildrenNext = true, kids[len(kids)-1].Resource.String()
	}
	if info.Geo, info.GeoTruncated, err = ledger.GeosOverlapping(snap.State, res, MaxGeo); err != nil {
		return nil, fmt.Errorf("geolocations of %s: %w", res, err)
	}
	return info, nil
}

func holdingObject(id uint64) string { return "holding/" + strconv.FormatUint(id, 10) }

// nameCache looks up holder names once per request.
type nameCache struct {
	kv ipledger.KV
	m  map[string]string
}

func (c nameCache) holding(h *ipledger.Holding) (apitypes.HoldingInfo, error) {
	name, ok := c.m[h.Holder]
	if !ok {
		o, err := ledger.Org(c.kv, h.Holder)
		if err != nil {
			return apitypes.HoldingInfo{}, fmt.Errorf("holder of holding %d: %w", h.ID, err)
		}
		if o != nil {
			name = o.Name
		}
		c.m[h.Holder] = name
	}
	return apitypes.HoldingInfo{
		Handle: h.Handle(), ID: h.ID, Resource: h.Resource, Depth: h.Depth, Holder: h.Holder, HolderName: name,
		Status: h.Status, Country: h.Country, Registered: h.Registered, Changed: h.Changed, Origin: h.Origin,
	}, nil
}

// history lists the transactions that touched any of objects, oldest first, from just
// after position after, at most MaxHistory, with kind, code and time from their log
// leaves. next is the position to ask from for the rest ("" when there is none). It reads
// at most MaxHistory+1 index entries per object and stops with ctx's error.
func (s *server) history(ctx context.Context, after ipledger.HistoryPos, objects ...string) (out []apitypes.HistoryItem, next string, err error) {
	return s.historyPage(ctx, after, MaxHistory, objects...)
}

// historyPage is history with at most limit (≤ MaxHistory) entries.
func (s *server) historyPage(ctx context.Context, after ipledger.HistoryPos, limit int, objects ...string) (out []apitypes.HistoryItem, next string, err error) {
	out = []apitypes.HistoryItem{}
	truncated := false
	seen := map[ipledger.HistoryPos]bool{}
	for _, obj := range objects {
		es, more, err := s.app.HistoryPage(ctx, obj, after, limit)
		if err != nil {
			return nil, "", fmt.Errorf("history of %s: %w", obj, err)
		}
		truncated = truncated || more
		for _, e := range es {
			if !seen[e.Pos()] {
				seen[e.Pos()] = true
				out = append(out, apitypes.HistoryItem{Height: e.Height, Index: e.Index, Hash: e.Hash, Object: obj})
			}
		}
	}
	// Each object's page holds its first MaxHistory entries after the cursor, so the first
	// MaxHistory of the merge are the first MaxHistory of all, with none skipped.
	slices.SortFunc(out, func(a, b apitypes.HistoryItem) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
	})
	if len(out) > limit {
		out, truncated = out[:limit], true
	}
	// A block's record is read only for its time-driven events, or where the log cannot
	// say (an older part of the log a snapshot did not bring), and once per request.
	blocks := map[int64]*ipledger.BlockRecord{}
	for i := range out {
		if i%64 == 63 && ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		e := &out[i]
		d, ok, err := s.app.HistoryDetailOf(ipledger.HistoryEntry{Height: e.Height, Index: e.Index, Hash: e.Hash})
		if err != nil {
			return nil, "", fmt.Errorf("history: %w", err)
		}
		if ok && !d.EndBlock {
			e.Time, e.Kind, e.Code, e.CodeName = d.Time, d.Kind, d.Code, d.Code.String()
			continue
		}
		rec, ok := blocks[e.Height]
		if !ok {
			if rec, err = s.app.Block(e.Height); err != nil {
				return nil, "", fmt.Errorf("history: %w", err)
			}
			blocks[e.Height] = rec
		}
		if rec != nil && int(e.Index) == len(rec.Txs) {
			// The block's time-driven events (lease settlement, expiries) touched it.
			var kinds []string
			for _, ev := range rec.Events {
				if slices.Contains(ev.Touched, e.Object) && !slices.Contains(kinds, ev.Kind) {
					kinds = append(kinds, ev.Kind)
				}
			}
			e.Time, e.Kind, e.CodeName = rec.Time, "events:"+strings.Join(kinds, ","), ipledger.CodeOK.String()
			continue
		}
		if rec == nil || int(e.Index) >= len(rec.Txs) || rec.Txs[e.Index].Hash != e.Hash {
			return nil, "", fmt.Errorf("history: block %d has no record of tx %d (%s)", e.Height, e.Index, e.Hash)
		}
		t := rec.Txs[e.Index]
		e.Time, e.Kind, e.Code, e.CodeName = rec.Time, t.Kind, t.Code, t.Code.String()
	}
	if truncated && len(out) > 0 {
		last := out[len(out)-1]
		next = ipledger.HistoryPos{Height: last.Height, Index: last.Index}.String()
	}
	return out, next, nil
}

// orgHandle reads an organisation handle from a path, upper-casing it.
func orgHandle(s string) (string, error) {
	h := strings.ToUpper(s)
	if !ipledger.ValidHandle(h) {
		return "", invalid("%.70q is not an organisation handle", s)
	}
	return h, nil
}

// org answers GET /v1/orgs/{handle} from the committed state.
func (s *server) org(w http.ResponseWriter, r *http.Request, handle string, after ipledger.HistoryPos) error {
	snap := s.app.Committed()
	o, err := ledger.Org(snap.State, handle)
	if err != nil {
		return fmt.Errorf("org %s: %w", handle, err)
	}
	if o == nil {
		return notFound("no organisation %s", handle)
	}
	info := &apitypes.OrgInfo{Organisation: *o, Height: snap.Height}
	if info.History, info.HistoryNext, err = s.history(r.Context(), after, "org/"+handle); err != nil {
		return err
	}
	info.HistoryTruncated = info.HistoryNext != ""
	return s.writeJSON(w, http.StatusOK, info)
}

// orgs lists handles: ?prefix=ORG- (any case), ?after=HANDLE to page on, ?limit=N (1 to
// MaxOrgList, default 100).
func (s *server) orgs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	prefix, after := strings.ToUpper(q.Get("prefix")), strings.ToUpper(q.Get("after"))
	if len(prefix) > 64 || len(after) > 64 {
		return invalid("prefix and after are at most 64 characters")
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxOrgList {
			return invalid("limit=%.20q: want 1 to %d", v, MaxOrgList)
		}
		limit = n
	}
	snap := s.app.Committed()
	list := &apitypes.OrgList{Height: snap.Height, Handles: []string{}}
	// Start at the cursor or the prefix, whichever is later: handles come in order.
	from := max(prefix, after)
	err := ledger.OrgsFrom(snap.State, from, func(o *ipledger.Organisation) bool {
		h := o.Handle
		if h <= after || h < prefix {
			return true // after itself
		}
		if !strings.HasPrefix(h, prefix) {
			return false // handles come in order: no later one has the prefix
		}
		return appendCapped(&list.Handles, h, limit, &list.Truncated)
	})
	if err != nil {
		return fmt.Errorf("list orgs: %w", err)
	}
	return s.writeJSON(w, http.StatusOK, list)
}

// block answers a block record by height, or the latest one.
func (s *server) block(w http.ResponseWriter, r *http.Request) error {
	v := r.PathValue("height")
	if v == "latest" {
		snap := s.app.Committed()
		if snap.Height < 1 {
			return notFound("no block committed yet")
		}
		return s.writeJSON(w, http.StatusOK, snap.Block)
	}
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 1 {
		return invalid("block %.30q: want a height from 1, or \"latest\"", v)
	}
	rec, err := s.app.Block(h)
	if err != nil {
		return fmt.Errorf("block %d: %w", h, err)
	}
	if rec == nil {
		return notFound("no block %d (the chain is at %d)", h, s.app.Committed().Height)
	}
	return s.writeJSON(w, http.StatusOK, rec)
}
