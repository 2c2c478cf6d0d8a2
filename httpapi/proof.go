package httpapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/stateproof"
)

// State proofs (package stateproof) under /v1/proof/:
//
//	GET /v1/proof/resources/{resource}   who holds it: the chain of holdings, the holder,
//	                                     and what rules out a more specific holding
//	GET /v1/proof/holdings/{id}          a holding by id (or its absence)
//	GET /v1/proof/orgs/{handle}          an organisation (or its absence)
//	GET /v1/proof/state/{key}            any state key, in hex
//
// each with ?height=H (default: the latest provable height). The app hash of height H is
// in the header of H+1, so H is provable once block H+1 is committed: a height beyond that
// is CodeNotFound with the latest provable height in the message. GET /v1/resources/…,
// /v1/holdings/… and /v1/orgs/… take ?prove=true (and ?height=) to answer at a provable
// height with the proof of that answer attached.

// headerSource is what proofs need of the node (package chain's Node): the signed headers,
// as bytes that only package stateproof decodes.
type headerSource interface {
	// LastHeaderHeight is the height of the last block with a signed header.
	LastHeaderHeight() int64
	// SignedHeader is the signed header of height h and the validator set that signed
	// it, in CometBFT's JSON (stateproof.NewAnchorJSON); ipledger.ErrNoHeader when the
	// node has none.
	SignedHeader(ctx context.Context, h int64) (header, validators []byte, err error)
}

// stateSource is what proofs need of the Reader: the state of past heights, whose State
// proves its keys (stateproof.Prover).
type stateSource interface {
	SnapshotAt(height int64) (*ipledger.Snapshot, error)
}

// maxAnchors bounds the anchors kept in memory (one per height asked).
const maxAnchors = 64

// maxProvenKeys bounds the proofs of single keys kept in memory: the registry pools and
// the holders every answer about their space proves again (about a kilobyte each).
const maxProvenKeys = 16384

// provenKey is a key's value and proof at a height.
type provenKey struct {
	value []byte
	proof *stateproof.KeyProof
}

// cachedView is the state of a height whose proofs of keys go through the prover's cache.
type cachedView struct {
	stateproof.Prover
	height int64
	p      *prover
}

// Prove is the state's Prove, remembered per height and key.
func (v cachedView) Prove(key []byte) ([]byte, *stateproof.KeyProof, error) {
	ck := strconv.FormatInt(v.height, 10) + "/" + string(key)
	v.p.mu.Lock()
	pk, ok := v.p.proven[ck]
	v.p.mu.Unlock()
	if ok {
		return pk.value, pk.proof, nil
	}
	val, proof, err := v.Prover.Prove(key)
	if err != nil {
		return nil, nil, err
	}
	v.p.mu.Lock()
	if len(v.p.proven) >= maxProvenKeys {
		clear(v.p.proven)
	}
	v.p.proven[ck] = provenKey{val, proof}
	v.p.mu.Unlock()
	return val, proof, nil
}

// prover serves state proofs: it builds one anchor per height, once.
type prover struct {
	hs  headerSource
	st  stateSource
	app reader

	mu      sync.Mutex
	anchors map[int64]*stateproof.Anchor
	order   []int64 // heights in anchors, oldest first
	proven  map[string]provenKey
}

func (s *server) mountProofs(hs headerSource, st stateSource) {
	s.proofs = &prover{hs: hs, st: st, app: s.app, anchors: map[int64]*stateproof.Anchor{}, proven: map[string]provenKey{}}
	s.handle("GET /v1/proof/resources/{resource...}", proofRoute(s, "resource", parseResourcePath, stateproof.ResourceEntries))
	s.handle("GET /v1/proof/holdings/{id}", proofRoute(s, "id", parseHoldingID, stateproof.HoldingEntries))
	s.handle("GET /v1/proof/orgs/{handle}", proofRoute(s, "handle", orgHandle, stateproof.OrgEntries))
	s.handle("GET /v1/proof/state/{key}", proofRoute(s, "key", parseStateKey, stateproof.KeyEntries))
}

// proofRoute is the handler of a GET /v1/proof/ path: parse reads its path value name (an
// error answers the request), entries gives what to prove of it.
func proofRoute[T any](s *server, name string, parse func(string) (T, error), entries func(stateproof.Prover, T) ([]stateproof.Entry, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		x, err := parse(r.PathValue(name))
		if err != nil {
			return err
		}
		return s.serveProof(w, r, func(v stateproof.Prover) ([]stateproof.Entry, error) { return entries(v, x) })
	}
}

// queryRoute is the handler of a query answered from the committed state, or with
// ?prove=true (wantProof) at a provable height with its proof: parse reads its path value
// name, query the rest of its query (errors of either answer the request); plain answers
// from the committed state, proved from the provedState of ?height=.
func queryRoute[T, Q any](s *server, name string, parse func(string) (T, error), query func(*http.Request) (Q, error),
	plain func(http.ResponseWriter, *http.Request, T, Q) error, proved func(http.ResponseWriter, *http.Request, provedState, T, Q) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		x, err := parse(r.PathValue(name))
		if err != nil {
			return err
		}
		q, err := query(r)
		if err != nil {
			return err
		}
		prove, err := wantProof(r)
		if err != nil {
			return err
		}
		if !prove {
			return plain(w, r, x, q)
		}
		ps, err := s.provedSnapshot(r)
		if err != nil {
			return err
		}
		return proved(w, r, ps, x, q)
	}
}

// parseStateKey reads the {key} of /v1/proof/state/: 1 to 1024 bytes in hex. Errors are
// CodeInvalid.
func parseStateKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil || len(key) == 0 || len(key) > 1024 {
		return nil, invalid("state key %.40q: want 1 to 1024 bytes in hex", s)
	}
	return key, nil
}

// serveProof answers with the proof of the entries build gives at the height asked.
func (s *server) serveProof(w http.ResponseWriter, r *http.Request, build func(stateproof.Prover) ([]stateproof.Entry, error)) error {
	ps, err := s.provedSnapshot(r)
	if err != nil {
		return err
	}
	entries, err := ps.entries(build(ps.v))
	if err != nil {
		return err
	}
	bp := jsonBufs.Get().(*[]byte)
	defer jsonBufs.Put(bp)
	b, err := stateproof.New(ps.a, entries).AppendJSON((*bp)[:0])
	if err != nil {
		return err
	}
	*bp = append(b, '\n')
	if r.URL.Query().Get("height") != "" {
		// The state of a height never changes: neither does its proof.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	writeJSONBytes(w, http.StatusOK, *bp)
	return nil
}

// proofHeight reads ?height= (0 if absent: the latest provable height).
func proofHeight(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("height")
	if v == "" {
		return 0, nil
	}
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 1 {
		return 0, invalid("height %.30q: want a height from 1", v)
	}
	return h, nil
}

// wantProof reads ?prove= of the plain queries: "true" or "1" asks for a proof.
func wantProof(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("prove"); v {
	case "":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, invalid("prove=%.20q: want true", v)
	}
}

// latest returns the latest provable height: the state of the last committed height
// whose app hash is in a header CometBFT has committed.
func (p *prover) latest() int64 {
	return min(p.app.Committed().Height, p.hs.LastHeaderHeight()-1)
}

// at returns the anchor and the state of height (0: the latest provable), whose State
// proves its keys.
func (p *prover) at(ctx context.Context, height int64) (*stateproof.Anchor, *ipledger.Snapshot, stateproof.Prover, error) {
	latest := p.latest()
	if height == 0 {
		height = latest
	}
	if height < 1 {
		return nil, nil, nil, notFound("no state is provable yet: the app hash of height 1 is signed in the header of height 2")
	}
	if height > latest {
		return nil, nil, nil, notFound("height %d is not provable yet: its app hash is signed in the header of height %d, which is not committed (the latest provable height is %d)", height, height+1, latest)
	}
	snap, err := p.st.SnapshotAt(height)
	if errors.Is(err, ipledger.ErrNotRetained) {
		return nil, nil, nil, notFound("the state of height %d is not retained", height)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("state proof at %d: %w", height, err)
	}
	v, ok := snap.State.(stateproof.Prover)
	if !ok {
		return nil, nil, nil, fmt.Errorf("state proof at %d: the state of %T proves no keys", height, snap.State)
	}
	p.mu.Lock()
	a := p.anchors[height]
	p.mu.Unlock()
	if a != nil {
		return a, snap, cachedView{v, height, p}, nil
	}
	// The record names the roots the anchor commits to; the state must be the one they
	// name (a store that hashes itself says so).
	if h, ok := snap.State.(interface{ Hash() []byte }); ok && !bytes.Equal(snap.Block.StateRoot, h.Hash()) {
		return nil, nil, nil, fmt.Errorf("state proof at %d: the block record has state root %X, the store %X", height, snap.Block.StateRoot, h.Hash())
	}
	header, vals, err := p.hs.SignedHeader(ctx, height+1)
	if errors.Is(err, ipledger.ErrNoHeader) {
		return nil, nil, nil, notFound("the header of height %d is not in this node's block store", height+1)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("state proof at %d: %w", height, err)
	}
	if a, err = stateproof.NewAnchorJSON(height, snap.Block.StateRoot, snap.Block.LogRoot, header, vals); err != nil {
		return nil, nil, nil, fmt.Errorf("state proof: %w", err)
	}
	p.mu.Lock()
	if _, ok := p.anchors[height]; !ok {
		p.anchors[height] = a
		p.order = append(p.order, height)
		if len(p.order) > maxAnchors {
			delete(p.anchors, p.order[0])
			p.order = p.order[1:]
		}
	}
	p.mu.Unlock()
	return a, snap, cachedView{v, height, p}, nil
}

// provedState is what a ?prove=true answer reads: the anchor of the height ?height= asks
// (or the latest provable), that height's state as a snapshot the plain answers describe,
// and the state proving its keys through the prover's cache.
type provedState struct {
	a    *stateproof.Anchor
	snap *ipledger.Snapshot
	v    stateproof.Prover
}

// provedSnapshot returns the provedState of r's ?height=.
func (s *server) provedSnapshot(r *http.Request) (provedState, error) {
	if s.proofs == nil {
		return provedState{}, notFound("this node serves no state proofs")
	}
	height, err := proofHeight(r)
	if err != nil {
		return provedState{}, err
	}
	a, snap, v, err := s.proofs.at(r.Context(), height)
	return provedState{a, snap, v}, err
}

// entries passes on the entries of a proof at ps's height, or their error with the height.
func (ps provedState) entries(es []stateproof.Entry, err error) ([]stateproof.Entry, error) {
	if err != nil {
		return nil, fmt.Errorf("state proof at %d: %w", ps.a.Height, err)
	}
	return es, nil
}

// proofOf returns the proof of entries against a for an answer's Proof, and cuts the
// answer's history (its items, its cursor next and whether it is truncated) to a.Height:
// the history index is not versioned, the answer is as of that height. When it drops any
// entry, no later page holds one at or below the height, so next is cleared.
func proofOf(a *stateproof.Anchor, entries []stateproof.Entry, items *[]apitypes.HistoryItem, next *string, truncated *bool) (json.RawMessage, error) {
	out := (*items)[:0]
	for _, it := range *items {
		if it.Height <= a.Height {
			out = append(out, it)
		}
	}
	if len(out) < len(*items) {
		*next = ""
	}
	*items, *truncated = out, *next != ""
	return proofJSON(a, entries)
}

// provedResource answers GET /v1/resources/{res}?prove=true: the ResourceInfo at a
// provable height, with the proof of who holds res.
func (s *server) provedResource(w http.ResponseWriter, r *http.Request, ps provedState, res ipledger.Resource, pg page) error {
	chn, err := ledger.Lookup(ps.snap.State, res)
	if err != nil {
		return fmt.Errorf("lookup %s at %d: %w", res, ps.a.Height, err)
	}
	entries, err := ps.entries(stateproof.ResourceEntries(ps.v, res))
	if err != nil {
		return err
	}
	if len(chn) == 0 {
		// Still proven: the proof shows that no single holding contains all of res.
		pj, err := proofJSON(ps.a, entries)
		if err != nil {
			return err
		}
		return s.writeJSON(w, http.StatusOK, &apitypes.ResourceInfo{Resource: res, Height: ps.a.Height, Chain: []apitypes.HoldingInfo{},
			History: []apitypes.HistoryItem{}, Children: []apitypes.HoldingInfo{}, Proof: pj})
	}
	return s.writeProved(w, r, ps, res, chn, entries, pg)
}

// proofJSON is the proof of entries against a as the wire types carry it.
func proofJSON(a *stateproof.Anchor, entries []stateproof.Entry) (json.RawMessage, error) {
	return stateproof.New(a, entries).AppendJSON(nil)
}

// writeProved answers with the resource res described by its holding chain chn as of the
// proof's height, and the proof of entries.
func (s *server) writeProved(w http.ResponseWriter, r *http.Request, ps provedState, res ipledger.Resource, chn []*ipledger.Holding, entries []stateproof.Entry, pg page) error {
	info, err := s.describe(r.Context(), ps.snap, res, chn, pg)
	if err != nil {
		return err
	}
	if info.Proof, err = proofOf(ps.a, entries, &info.History, &info.HistoryNext, &info.HistoryTruncated); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}

// provedHolding answers GET /v1/holdings/{id}?prove=true.
func (s *server) provedHolding(w http.ResponseWriter, r *http.Request, ps provedState, id uint64, pg page) error {
	h, chn, err := holdingChain(ps.snap.State, id)
	if err != nil {
		return fmt.Errorf("at %d: %w", ps.a.Height, err)
	}
	if h == nil {
		return notFound("no holding %s at height %d (GET /v1/proof/holdings/%d proves it)", ipledger.HoldingHandle(id), ps.a.Height, id)
	}
	entries, err := ps.entries(stateproof.HoldingEntries(ps.v, id))
	if err != nil {
		return err
	}
	return s.writeProved(w, r, ps, h.Resource, chn, entries, pg)
}

// provedOrg answers GET /v1/orgs/{handle}?prove=true.
func (s *server) provedOrg(w http.ResponseWriter, r *http.Request, ps provedState, handle string, after ipledger.HistoryPos) error {
	o, err := ledger.Org(ps.snap.State, handle)
	if err != nil {
		return fmt.Errorf("org %s at %d: %w", handle, ps.a.Height, err)
	}
	if o == nil {
		return notFound("no organisation %s at height %d (GET /v1/proof/orgs/%s proves it)", handle, ps.a.Height, handle)
	}
	entries, err := ps.entries(stateproof.OrgEntries(ps.v, handle))
	if err != nil {
		return err
	}
	info := &apitypes.OrgInfo{Organisation: *o, Height: ps.a.Height}
	if info.History, info.HistoryNext, err = s.history(r.Context(), after, "org/"+handle); err != nil {
		return err
	}
	if info.Proof, err = proofOf(ps.a, entries, &info.History, &info.HistoryNext, &info.HistoryTruncated); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}
