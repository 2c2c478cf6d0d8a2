package wallet

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/web"
)

// homeData is the model of wallet-home.html: the organisation the wallet acts as, what
// the node says it has, and the offers of others it can take.
type homeData struct {
	As          string
	Identities  []identity
	Org         *apitypes.OrgInfo
	Balance     uint64
	Offers      []*ipledger.Offer // the organisation's own
	Others      []*ipledger.Offer // offers it can take
	Leases      []*ipledger.Lease
	Routes      []apitypes.RouteInfo
	NodeURL     string
	OrgURL      string
	CSRF        string
	ReadError   string
	ChainID     string
	TrustedFrom string
}

// identity is a key of the home named like an organisation.
type identity struct {
	Handle  string
	OnChain bool
	Current bool
}

// home is the wallet's front page for the organisation ?as= (default: DEMO on a dev
// home, else the first key whose organisation is on the chain).
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &homeData{NodeURL: s.o.Node.Base, CSRF: s.csrf, ChainID: s.o.Trust.ChainID}
	names, err := s.o.Keys.Names()
	if err != nil {
		s.message(w, r, http.StatusInternalServerError, "Cannot read the home's keys", err.Error())
		return
	}
	as := strings.ToUpper(r.URL.Query().Get("as"))
	for _, n := range names {
		if !ipledger.ValidHandle(n) {
			continue
		}
		_, err := s.o.Node.Org(ctx, n)
		id := identity{Handle: n, OnChain: err == nil}
		d.Identities = append(d.Identities, id)
	}
	if as == "" {
		for _, id := range d.Identities {
			if id.OnChain && (as == "" || id.Handle == "DEMO") {
				as = id.Handle
			}
		}
	}
	for i := range d.Identities {
		d.Identities[i].Current = d.Identities[i].Handle == as
	}
	d.As = as
	if as != "" {
		s.mu.Lock()
		s.as = as
		s.mu.Unlock()
	}
	page := &web.Page{Title: "Wallet", Data: d}
	if as != "" {
		page.Title = "Wallet: " + as
		page.JSON = "/v1/orgs/" + as
		d.OrgURL = s.nodeURL("/org/" + as)
		if err := s.readOrg(r, d); err != nil {
			d.ReadError = err.Error()
		} else {
			page.Height = d.Org.Height
		}
		for _, a := range actions {
			fields := append([]web.Field{{Name: "as", Type: "hidden", Value: as}, s.hidden()}, a.fields...)
			page.Actions = append(page.Actions, web.Action{Label: a.label, Method: "post", Path: "/wallet/" + a.name, Fields: fields})
		}
	}
	s.render(w, http.StatusOK, "wallet-home", page)
}

// readOrg reads what the node says of d.As. These are the node's words, not proven: an
// action proves what it touches before it is signed.
func (s *Server) readOrg(r *http.Request, d *homeData) error {
	ctx := r.Context()
	o, err := s.o.Node.Org(ctx, d.As)
	if err != nil {
		return fmt.Errorf("organisation %s: %w", d.As, err)
	}
	d.Org = o
	if b, err := s.o.Node.Balance(ctx, d.As); err == nil {
		d.Balance = b.Balance
	}
	offers, err := s.o.Node.Offers(ctx, "")
	if err != nil {
		return fmt.Errorf("offers: %w", err)
	}
	for _, of := range offers.Offers {
		if of.Lessor == d.As {
			d.Offers = append(d.Offers, of)
		} else {
			d.Others = append(d.Others, of)
		}
	}
	leases, err := s.o.Node.Leases(ctx, d.As, false)
	if err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	d.Leases = leases.Leases
	routes, err := s.o.Node.Routes(ctx, d.As)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	d.Routes = routes.Routes
	return nil
}

// keysData is the model of wallet-keys.html.
type keysData struct {
	Keys []keyRow
	CSRF string
}

type keyRow struct {
	Name, Public string
	Handle       bool
}

// keysPage lists the home's keys (public halves) with the onboarding forms: create a
// key, export a registration request.
func (s *Server) keysPage(w http.ResponseWriter, r *http.Request) {
	names, err := s.o.Keys.Names()
	if err != nil {
		s.message(w, r, http.StatusInternalServerError, "Cannot read the home's keys", err.Error())
		return
	}
	d := keysData{CSRF: s.csrf}
	for _, n := range names {
		k, err := s.o.Keys.Key(n)
		if err != nil {
			continue
		}
		d.Keys = append(d.Keys, keyRow{Name: n, Public: k.Public().String(), Handle: ipledger.ValidHandle(n)})
	}
	page := &web.Page{Title: "Keys and registration", Data: d, Actions: []web.Action{{Label: "Create the key", Method: "post", Path: "/wallet/keys",
		Fields: []web.Field{s.hidden(), {Name: "name", Label: "Name of the new key (your organisation's handle, e.g. ORG-EXAMPLE)", Type: "text"}}}}}
	s.render(w, http.StatusOK, "wallet-keys", page)
}

// createKey makes a key in the home.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	pub, err := s.o.Keys.Create(name)
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No key created", err.Error())
		return
	}
	s.log.Info("wallet: created a key", "name", name, "public", pub)
	http.Redirect(w, r, "/wallet/keys", http.StatusSeeOther)
}

// request exports a signed registration request for the key the form names.
func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	f := form{v: r.PostForm}
	req := RegistrationRequest{ChainID: s.o.Trust.ChainID, Org: ipledger.NewOrg{Handle: strings.ToUpper(f.str("handle")), Name: f.str("org_name"),
		Country: strings.ToUpper(f.str("country")), AbuseMailbox: f.str("abuse_mailbox")}}
	k, err := s.o.Keys.Key(f.str("key"))
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No request", err.Error())
		return
	}
	b, err := SignRequest(req, k)
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No request", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "registration-"+req.Org.Handle+".json"))
	w.Write(b)
}

// cosignData is the model of wallet-cosign.html.
type cosignData struct {
	CSRF       string
	Identities []string
}

// cosignPage asks for a transaction file to co-sign.
func (s *Server) cosignPage(w http.ResponseWriter, r *http.Request) {
	names, _ := s.o.Keys.Names()
	d := cosignData{CSRF: s.csrf}
	for _, n := range names {
		if ipledger.ValidHandle(n) {
			d.Identities = append(d.Identities, n)
		}
	}
	s.render(w, http.StatusOK, "wallet-cosign", &web.Page{Title: "Co-sign a transaction", Data: d})
}

// cosign reads an exported transaction, checks it and what it touches, and shows it on a
// confirm page for the home's organisation to add its signature.
func (s *Server) cosign(w http.ResponseWriter, r *http.Request) {
	file, _, err := r.FormFile("tx")
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No transaction", "Choose the transaction file to co-sign: "+err.Error())
		return
	}
	raw, err := io.ReadAll(io.LimitReader(file, ipledger.MaxTxBytes+1))
	file.Close()
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No transaction", err.Error())
		return
	}
	tx, err := ipledger.DecodeTx(raw)
	if err == nil {
		err = tx.VerifySignatures()
	}
	if err == nil && tx.ChainID != s.o.Trust.ChainID {
		err = fmt.Errorf("it is a transaction of chain %q, the wallet's is %q", tx.ChainID, s.o.Trust.ChainID)
	}
	if err == nil && len(tx.Signatures) == 0 {
		err = fmt.Errorf("it carries no signature")
	}
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "Not a transaction to co-sign", err.Error())
		return
	}
	as := strings.ToUpper(r.PostFormValue("as"))
	key, err := s.signingKey(as)
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "Cannot sign", err.Error())
		return
	}
	if slices.ContainsFunc(tx.Signatures, func(sg ipledger.Signature) bool { return sg.Org == as }) {
		s.message(w, r, http.StatusBadRequest, "Signed already", as+" has signed this transaction already.")
		return
	}
	pv, _ := s.prover(w, r)
	if pv == nil {
		return
	}
	_, err = pv.signer(as, key.Public())
	var price string
	facts := []string{fmt.Sprintf("signed first by %s, sequence %d", tx.Signatures[0].Org, tx.Sequence)}
	if err == nil {
		var more []string
		price, more, err = s.cosignFacts(pv, tx, as)
		facts = append(facts, more...)
	}
	if err != nil {
		s.refuse(w, r, tx.Kind, err)
		return
	}
	p := s.keep(&pending{as: as, kind: tx.Kind, payload: tx.PayloadBytes, sigs: tx.Signatures})
	s.confirmPage(w, r, p, price, facts, pv.summary())
}

// cosignFacts proves what an imported transaction touches, for the kinds that need a
// second signature (cosigned).
func (s *Server) cosignFacts(pv *prover, tx *ipledger.Tx, as string) (string, []string, error) {
	switch tx.Kind {
	case ipledger.KindSwap:
		var b ipledger.SwapBody
		if err := ipledger.DecodeBody(tx.Body, &b); err != nil {
			return "", nil, err
		}
		if b.Buyer != as {
			return "", nil, fmt.Errorf("the swap sells to %s, not %s", b.Buyer, as)
		}
		return swapFacts(pv, tx.Signatures[0].Org, b, true)
	case ipledger.KindTransfer:
		var b ipledger.TransferBody
		if err := ipledger.DecodeBody(tx.Body, &b); err != nil {
			return "", nil, err
		}
		if b.To != as {
			return "", nil, fmt.Errorf("the transfer goes to %s, not %s", b.To, as)
		}
		return transferFacts(pv, tx.Signatures[0].Org, b)
	}
	return "", nil, fmt.Errorf("the wallet co-signs transfers and swaps only, not %s", tx.Kind)
}
