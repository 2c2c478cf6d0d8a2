package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/web"
)

// An action is one form of the wallet: what it asks, how the form becomes a transaction
// body (parse, which records a field that does not parse in the form), and what the
// action touches (prove: it reads it with pv, from state proofs, and returns the credits
// the transaction moves or promises, for the confirm page, and the facts it proved).
type action struct {
	name   string // its path, /wallet/NAME
	label  string // the form's button
	kind   ipledger.Kind
	fields []web.Field
	parse  func(f *form) any // f.now is the time the transaction's expiry starts from
	prove  func(pv *prover, as string, body any) (price string, facts []string, err error)
}

// build parses the posted form and proves what the body touches.
func (a *action) build(pv *prover, as string, v url.Values, now time.Time) (any, string, []string, error) {
	f := &form{v: v, now: now}
	body := a.parse(f)
	if f.err != nil {
		return nil, "", nil, f.err
	}
	price, facts, err := a.prove(pv, as, body)
	return body, price, facts, err
}

// form reads the fields of a posted form, remembering the first one that does not parse.
type form struct {
	v   url.Values
	now time.Time
	err error
}

func (f *form) fail(name string, err error) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: %w", name, err)
	}
}

func (f *form) str(name string) string { return strings.TrimSpace(f.v.Get(name)) }

func (f *form) uint(name string) uint64 {
	n, err := strconv.ParseUint(f.str(name), 10, 64)
	if err != nil {
		f.fail(name, errors.New("want a whole number"))
	}
	return n
}

func (f *form) int(name string) int {
	n, err := strconv.Atoi(f.str(name))
	if err != nil || n < 0 {
		f.fail(name, errors.New("want a whole number"))
	}
	return n
}

func (f *form) resource(name string) ipledger.Resource {
	r, err := ipledger.ParseResource(f.str(name))
	if err != nil {
		f.fail(name, err)
	}
	return r
}

func (f *form) asn(name string) uint32 {
	s := strings.TrimPrefix(strings.ToUpper(f.str(name)), "AS")
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		f.fail(name, errors.New("want an AS number such as AS64500"))
	}
	return uint32(n)
}

// Form fields, shared by the actions that ask them.
var (
	fResource = web.Field{Name: "resource", Label: "Block (prefix or range)", Type: "text"}
	fOffer    = web.Field{Name: "offer", Label: "Offer number", Type: "number"}
	fASN      = web.Field{Name: "asn", Label: "Origin AS", Type: "text"}
)

// actions are the wallet's actions, in the order its front page offers them.
var actions = []*action{
	{name: "offer", label: "Offer the block for lease", kind: ipledger.KindOffer,
		fields: []web.Field{fResource,
			{Name: "price", Label: "Price per address (IPv6: per block) per period, in credits", Type: "number", Value: "5"},
			{Name: "period", Label: "Period in seconds", Type: "number", Value: "2592000"},
			{Name: "min_periods", Label: "Fewest periods", Type: "number", Value: "1"},
			{Name: "max_periods", Label: "Most periods", Type: "number", Value: "12"}},
		parse: func(f *form) any {
			return ipledger.OfferBody{Resource: f.resource("resource"), Price: f.uint("price"), Period: int64(f.uint("period")),
				MinPeriods: f.int("min_periods"), MaxPeriods: f.int("max_periods"), Renewable: true}
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.OfferBody)
			h, err := pv.heldBy(b.Resource, as)
			if err != nil {
				return "", nil, err
			}
			ppp, err := perPeriod(b.Resource, b.Price)
			return fmt.Sprintf("asks %d credits per period for the block (%d per address), every %s", ppp, b.Price, time.Duration(b.Period)*time.Second),
				[]string{heldFact(b.Resource, h)}, err
		}},
	{name: "withdraw-offer", label: "Withdraw the offer", kind: ipledger.KindWithdrawOffer, fields: []web.Field{fOffer},
		parse: func(f *form) any { return ipledger.WithdrawOfferBody{Offer: f.uint("offer")} },
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			id := body.(ipledger.WithdrawOfferBody).Offer
			o, err := proveOwned(pv, id, ledger.OfferByID, func(o *ipledger.Offer) string { return o.Lessor }, as, "an open offer")
			if err != nil {
				return "", nil, err
			}
			return "none", []string{fmt.Sprintf("offer %d of %s stands for %s", o.ID, o.Lessor, o.Resource)}, nil
		}},
	{name: "lease", label: "Take the offer", kind: ipledger.KindLease,
		fields: []web.Field{fOffer, fASN, {Name: "periods", Label: "Periods", Type: "number", Value: "1"}},
		parse: func(f *form) any {
			return ipledger.LeaseBody{Offer: f.uint("offer"), ASN: f.asn("asn"), Periods: f.int("periods")}
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.LeaseBody)
			o, err := ledger.OfferByID(pv, b.Offer)
			if err != nil {
				return "", nil, err
			}
			if o == nil {
				return "", nil, fmt.Errorf("no open offer %d (proved at height %d)", b.Offer, pv.height)
			}
			ppp, err := perPeriod(o.Resource, o.Price)
			if err != nil {
				return "", nil, err
			}
			bal, err := pv.pays(as, ppp)
			return fmt.Sprintf("pays %d credits now for the first period, then %d every %s, for the %d periods agreed", ppp, ppp, time.Duration(o.Period)*time.Second, b.Periods),
				[]string{fmt.Sprintf("offer %d: %s from %s at %d credits per address per period, %d to %d periods", o.ID, o.Resource, o.Lessor, o.Price, o.MinPeriods, o.MaxPeriods), bal}, err
		}},
	{name: "pay", label: "Pay", kind: ipledger.KindPay,
		fields: []web.Field{{Name: "to", Label: "To (organisation handle)", Type: "text"}, {Name: "amount", Label: "Amount in credits", Type: "number"}},
		parse:  func(f *form) any { return ipledger.PayBody{To: strings.ToUpper(f.str("to")), Amount: f.uint("amount")} },
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.PayBody)
			to, err := pv.org(b.To)
			if err != nil {
				return "", nil, err
			}
			bal, err := pv.pays(as, b.Amount)
			return fmt.Sprintf("pays %d credits to %s", b.Amount, b.To), []string{fmt.Sprintf("%s is %s", to.Handle, to.Name), bal}, err
		}},
	{name: "authorise", label: "Authorise the route", kind: ipledger.KindAuthorise,
		fields: []web.Field{{Name: "prefix", Label: "Prefix", Type: "text"}, {Name: "max_length", Label: "Longest prefix length announced", Type: "number"}, fASN},
		parse: func(f *form) any {
			p, err := netip.ParsePrefix(f.str("prefix"))
			if err != nil {
				f.fail("prefix", err)
			}
			b := ipledger.AuthoriseBody{Prefix: p.Masked(), ASN: f.asn("asn"), MaxLength: p.Bits()}
			if f.str("max_length") != "" {
				b.MaxLength = f.int("max_length")
			}
			return b
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.AuthoriseBody)
			r, err := ipledger.PrefixResource(b.Prefix)
			if err != nil {
				return "", nil, err
			}
			h, err := pv.heldBy(r, as)
			if err != nil {
				return "", nil, err
			}
			return "none", []string{heldFact(r, h)}, nil
		}},
	{name: "withdraw-route", label: "Withdraw the route authorisation", kind: ipledger.KindWithdrawAuth,
		fields: []web.Field{{Name: "id", Label: "Route authorisation number", Type: "number"}},
		parse:  func(f *form) any { return ipledger.WithdrawAuthBody{ID: f.uint("id")} },
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			id := body.(ipledger.WithdrawAuthBody).ID
			a, err := proveOwned(pv, id, ledger.RouteAuthByID, func(a *ipledger.RouteAuth) string { return a.Holder }, as, "a route authorisation")
			if err != nil {
				return "", nil, err
			}
			return "none", []string{fmt.Sprintf("route authorisation %d lets AS%d originate %s up to /%d", a.ID, a.ASN, a.Prefix, a.MaxLength)}, nil
		}},
	{name: "set-geo", label: "Publish the geolocation", kind: ipledger.KindSetGeo,
		fields: []web.Field{fResource, {Name: "country", Label: "Country (ISO 3166 code; empty removes)", Type: "text"},
			{Name: "region", Label: "Region (ISO 3166-2, optional)", Type: "text"}, {Name: "city", Label: "City (optional)", Type: "text"}},
		parse: func(f *form) any {
			return ipledger.SetGeoBody{Resource: f.resource("resource"), Country: strings.ToUpper(f.str("country")), Region: f.str("region"), City: f.str("city")}
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.SetGeoBody)
			h, err := pv.heldBy(b.Resource, as)
			if err != nil {
				return "", nil, err
			}
			return "none", []string{heldFact(b.Resource, h)}, nil
		}},
	{name: "transfer", label: "Transfer the block (the recipient co-signs)", kind: ipledger.KindTransfer,
		fields: []web.Field{fResource, {Name: "to", Label: "To (organisation handle)", Type: "text"}},
		parse: func(f *form) any {
			return ipledger.TransferBody{Resource: f.resource("resource"), To: strings.ToUpper(f.str("to"))}
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			return transferFacts(pv, as, body.(ipledger.TransferBody))
		}},
}

// heldFact says which holding of whom a block lies in.
func heldFact(r ipledger.Resource, h *ipledger.Holding) string {
	return fmt.Sprintf("%s lies in %s, %s %s held by %s", r, h.Handle(), h.Resource, h.Status, h.Holder)
}

// proveOwned proves object id (an offer, a route authorisation) and that as owns it.
func proveOwned[T any](pv *prover, id uint64, read func(ipledger.KV, uint64) (*T, error), owner func(*T) string, as, what string) (*T, error) {
	v, err := read(pv, id)
	if err != nil {
		return nil, err
	}
	if v == nil || owner(v) != as {
		return nil, fmt.Errorf("%d is not %s of %s (proved at height %d)", id, what, as, pv.height)
	}
	return v, nil
}

// transferFacts proves what a transfer touches: the block held by the sender, the
// recipient on the chain.
func transferFacts(pv *prover, from string, b ipledger.TransferBody) (string, []string, error) {
	h, err := pv.heldBy(b.Resource, from)
	if err != nil {
		return "", nil, err
	}
	to, err := pv.org(b.To)
	if err != nil {
		return "", nil, err
	}
	return "none", []string{heldFact(b.Resource, h), fmt.Sprintf("the recipient %s is %s", to.Handle, to.Name)}, nil
}

// perPeriod is what one period of a block costs at price: per address for IPv4, per block
// otherwise (the ledger's rule).
func perPeriod(r ipledger.Resource, price uint64) (uint64, error) {
	if r.Family() != ipledger.IPv4 {
		return price, nil
	}
	n, _ := r.Size()
	hi, lo := bits.Mul64(price, n)
	if hi != 0 {
		return 0, fmt.Errorf("%d per address for %d addresses overflows", price, n)
	}
	return lo, nil
}

// pending is a transaction on a confirm page, waiting for the user's word.
type pending struct {
	id      string
	as      string // the home's organisation that signs
	kind    ipledger.Kind
	payload []byte
	sigs    []ipledger.Signature // signatures it carries already (an imported one)
	made    time.Time
}

// confirmData is the model of wallet-confirm.html.
type confirmData struct {
	Kind      string
	ChainID   string
	Body      string // the exact JSON that is signed, indented for reading
	Price     string
	Fee       string
	Signers   []signerRow
	Sequence  uint64
	Expiry    string
	Facts     []string
	Proof     proofSummary
	Hash      string // the payload's SHA-256, which every signer signs
	Multi     bool   // another signature is needed after this one
	NodeURL   string
	Signature string
}

type signerRow struct {
	Org, Key, State string
}

// prepare answers an action's form: it proves what the action touches, builds the
// transaction, keeps it pending and shows the confirm page. Nothing is signed yet.
func (s *Server) prepare(a *action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		as := strings.ToUpper(r.PostFormValue("as"))
		key, err := s.signingKey(as)
		if err != nil {
			s.message(w, r, http.StatusBadRequest, "Cannot sign", err.Error())
			return
		}
		pv, now := s.prover(w, r)
		if pv == nil {
			return
		}
		signer, err := pv.signer(as, key.Public())
		var body any
		var price string
		var facts []string
		if err == nil {
			body, price, facts, err = a.build(pv, as, r.PostForm, now)
		}
		if err != nil {
			s.refuse(w, r, a.kind, err)
			return
		}
		js, err := json.Marshal(body)
		if err != nil {
			s.message(w, r, http.StatusInternalServerError, "Cannot build the transaction", err.Error())
			return
		}
		exp := now.Add(expiresIn(a.kind)).Unix()
		payload := ipledger.EncodePayload(ipledger.Payload{ChainID: s.o.Trust.ChainID, Kind: a.kind, Sequence: signer.Sequence + 1, ExpiryTime: exp, Body: js})
		p := s.keep(&pending{as: as, kind: a.kind, payload: payload})
		facts = append([]string{fmt.Sprintf("%s is %s; its key %s… is bound; its last sequence is %d", signer.Handle, signer.Name, key.Public().String()[:16], signer.Sequence)}, facts...)
		s.confirmPage(w, r, p, price, facts, pv.summary())
	}
}

// expiresIn is how long a transaction the wallet builds stays valid: a transfer or swap
// waits for its co-signer for up to a week, anything else commits within the hour or
// never.
func expiresIn(k ipledger.Kind) time.Duration {
	if missingSigner(k, 1) != "" || k == ipledger.KindRegistryTransfer {
		return 7 * 24 * time.Hour
	}
	return time.Hour
}

// refuse answers an action stopped before signing: a proof that failed, or a fact that
// rules it out.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, kind ipledger.Kind, err error) {
	status, title := http.StatusConflict, "Not signed: "+kind.String()
	if errors.Is(err, ErrProof) {
		status, title = http.StatusBadGateway, "Not signed: the node's answer does not verify"
		s.log.Warn("wallet: a state proof did not verify; nothing signed", "kind", kind, "node", s.o.Node.Base, "err", err)
	}
	var le *ipledger.Error
	if errors.As(err, &le) && le.Code == ipledger.CodeNotFound {
		status = http.StatusNotFound
	}
	s.message(w, r, status, title, err.Error()+". Nothing was signed.")
}

// signingKey is the home's key of organisation as.
func (s *Server) signingKey(as string) (ipledger.PrivateKey, error) {
	if !ipledger.ValidHandle(as) {
		return ipledger.PrivateKey{}, fmt.Errorf("%q is not an organisation handle", as)
	}
	k, err := s.o.Keys.Key(as)
	if err != nil {
		return k, fmt.Errorf("the home has no key for %s: %w", as, err)
	}
	return k, nil
}

// keep stores p for its confirm page under a fresh id.
func (s *Server) keep(p *pending) *pending {
	p.id, p.made = randomHex()[:32], s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, q := range s.pending {
		if s.o.Now().Sub(q.made) > pendingTTL {
			delete(s.pending, id)
		}
	}
	s.pending[p.id] = p
	return p
}

// take removes and returns the pending transaction of the posted id: a confirm page is
// signed once.
func (s *Server) take(r *http.Request) (*pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[r.PostFormValue("id")]
	if ok {
		delete(s.pending, p.id)
	}
	if ok && s.o.Now().Sub(p.made) > pendingTTL {
		return nil, false
	}
	return p, ok
}

// confirmPage shows p as it will be signed.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request, p *pending, price string, facts []string, sum proofSummary) {
	pl, err := ipledger.DecodePayload(p.payload)
	if err != nil {
		s.message(w, r, http.StatusInternalServerError, "Cannot show the transaction", err.Error())
		return
	}
	var ind strings.Builder
	var v any
	if json.Unmarshal(pl.Body, &v) == nil {
		b, _ := json.MarshalIndent(v, "", "  ")
		ind.Write(b)
	} else {
		ind.Write(pl.Body)
	}
	d := confirmData{Kind: pl.Kind.String(), ChainID: pl.ChainID, Body: ind.String(), Price: price, Fee: "none: this chain charges no transaction fee",
		Sequence: pl.Sequence, Expiry: time.Unix(pl.ExpiryTime, 0).UTC().Format("2006-01-02 15:04:05 UTC"), Facts: facts, Proof: sum,
		Hash: fmt.Sprintf("%x", ipledger.HashTx(p.payload)), NodeURL: s.o.Node.Base}
	if d.Price == "" {
		d.Price = "none"
	}
	for _, sg := range p.sigs {
		d.Signers = append(d.Signers, signerRow{Org: sg.Org, Key: sg.Key.String(), State: "signed"})
	}
	k, _ := s.o.Keys.Key(p.as)
	d.Signers = append(d.Signers, signerRow{Org: p.as, Key: k.Public().String(), State: "signs when you confirm (the home's key)"})
	missing := missingSigner(pl.Kind, len(d.Signers))
	d.Multi = missing != ""
	if d.Multi {
		d.Signers = append(d.Signers, signerRow{Org: missing, State: "still to sign: export the file for them"})
	}
	ids := []web.Field{{Name: "id", Type: "hidden", Value: p.id}, s.hidden()}
	page := &web.Page{Title: "Confirm: " + d.Kind, Height: sum.Height, Data: d}
	if !d.Multi {
		page.Actions = append(page.Actions, web.Action{Label: "Sign and submit", Method: "post", Path: "/wallet/confirm", Fields: ids})
	}
	page.Actions = append(page.Actions, web.Action{Label: "Sign and export for a co-signer", Method: "post", Path: "/wallet/export", Fields: ids})
	s.render(w, http.StatusOK, "wallet-confirm", page)
}

// missingSigner names who must still sign a transaction of kind that will carry n
// signatures, or "" when n is enough.
func missingSigner(kind ipledger.Kind, n int) string {
	if who, ok := cosigned[kind]; ok && n < 2 {
		return who
	}
	return ""
}

// cosigned names the second signer of the kinds the wallet builds for two signers: the
// first signs and exports the file, the second imports it on /wallet/cosign (cosignFacts
// proves what it touches for them) and signs.
var cosigned = map[ipledger.Kind]string{
	ipledger.KindTransfer: "the recipient",
	ipledger.KindSwap:     "the buyer",
}

// resultData is the model of wallet-result.html.
type resultData struct {
	Hash    string
	Height  int64
	Code    string
	Log     string
	OK      bool
	Links   []resultLink
	TxURL   string
	Pending bool
}

type resultLink struct{ Label, URL string }

// confirm signs the pending transaction, submits it and waits for its commit.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	if p, tx := s.sign(w, r); tx != nil {
		s.submit(w, r, p, tx)
	}
}

// sign takes the posted pending transaction and adds the home's signature; without one
// to sign it answers the page that says why and returns a nil tx.
func (s *Server) sign(w http.ResponseWriter, r *http.Request) (*pending, []byte) {
	p, ok := s.take(r)
	if !ok {
		s.message(w, r, http.StatusGone, "Nothing to sign", "This confirm page was signed already or is too old. Start the action again.")
		return nil, nil
	}
	k, err := s.signingKey(p.as)
	if err != nil {
		s.message(w, r, http.StatusInternalServerError, "Cannot sign", err.Error())
		return nil, nil
	}
	return p, ipledger.EncodeTx(p.payload, append(append([]ipledger.Signature{}, p.sigs...), k.Sign(p.as, p.payload)))
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, p *pending, tx []byte) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	res, err := s.o.Node.Submit(ctx, tx, true)
	hash := ipledger.HashTx(tx)
	d := resultData{Hash: hash.String(), TxURL: s.nodeURL("/tx/" + hash.String())}
	if err != nil {
		s.log.Warn("wallet: submission failed", "kind", p.kind, "as", p.as, "tx", hash, "err", err)
		s.message(w, r, http.StatusBadGateway, "Not committed", fmt.Sprintf("The node did not take transaction %s: %v. It may still commit until it expires; see %s", hash, err, d.TxURL))
		return
	}
	if !res.Committed() {
		d.Pending = true
	} else {
		d.Height, d.Code, d.Log, d.OK = res.Height, res.Code.String(), res.Log, res.Code == ipledger.CodeOK
		for _, t := range res.Touched {
			if u := web.ObjectPath(t); u != "" {
				d.Links = append(d.Links, resultLink{Label: t, URL: s.nodeURL(u)})
			}
		}
	}
	s.log.Info("wallet: signed and submitted", "kind", p.kind, "as", p.as, "tx", hash, "height", d.Height, "code", d.Code)
	title := "Committed: " + p.kind.String()
	if !d.OK {
		title = "Not applied: " + p.kind.String()
	}
	s.render(w, http.StatusOK, "wallet-result", &web.Page{Title: title, Height: d.Height, Data: d})
}

// export signs the pending transaction and hands it over as a file for the next signer.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	p, tx := s.sign(w, r)
	if tx == nil {
		return
	}
	s.log.Info("wallet: signed and exported", "kind", p.kind, "as", p.as, "tx", ipledger.HashTx(tx))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", p.kind.String()+"-"+p.as+".tx"))
	w.Write(tx)
}
