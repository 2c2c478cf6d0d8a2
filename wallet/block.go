package wallet

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/web"
)

// blockData is the model of wallet-block.html: who holds a block, proven, and what the
// organisation acting may do with it.
type blockData struct {
	Resource ipledger.Resource
	As       string
	Chain    []*ipledger.Holding
	Holder   *ipledger.Organisation
	Mine     bool
	Proof    proofSummary
	NodePage string
}

// blockActions are the actions the block page offers its holder, their block field
// filled in.
var blockActions = map[string]string{"offer": "resource", "authorise": "prefix", "set-geo": "resource", "transfer": "resource"}

// block shows who holds ?r= at the latest provable height, from its state proof, with
// the holder's actions on it when the organisation acting (?as=) holds it.
func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res, err := ipledger.ParseResource(strings.TrimSpace(q.Get("r")))
	if err != nil || res.Family() == ipledger.ASN {
		s.message(w, r, http.StatusBadRequest, "Not a block", "Give an address, prefix or range, e.g. 192.0.2.0/24.")
		return
	}
	pv, _ := s.prover(w, r)
	if pv == nil {
		return
	}
	ans, err := pv.resource(res)
	if err != nil {
		status := http.StatusBadGateway
		if !errors.Is(err, ErrProof) && ipledger.ErrorCode(err) == ipledger.CodeNotFound {
			status = http.StatusNotFound
		}
		s.message(w, r, status, "Not proven", err.Error())
		return
	}
	as := strings.ToUpper(q.Get("as"))
	d := blockData{Resource: res, As: as, Chain: ans.Chain, Holder: ans.Holder, Proof: pv.summary(), NodePage: s.nodeURL("/ip/" + res.String())}
	h := ans.Holding()
	d.Mine = h != nil && as != "" && h.Holder == as
	page := &web.Page{Title: res.String(), JSON: "/v1/proof/resources/" + res.String(), Height: d.Proof.Height, Data: d}
	if d.Mine {
		prefix := ""
		if p, ok := res.Prefix(); ok {
			prefix = p.String()
		}
		for _, a := range actions {
			field, ok := blockActions[a.name]
			if !ok || field == "prefix" && prefix == "" {
				continue
			}
			fields := []web.Field{{Name: "as", Type: "hidden", Value: as}, s.hidden()}
			for _, f := range a.fields {
				switch f.Name {
				case "resource":
					f.Value = res.String()
				case "prefix":
					f.Value = prefix
				}
				fields = append(fields, f)
			}
			page.Actions = append(page.Actions, web.Action{Label: a.label, Method: "post", Path: "/wallet/" + a.name, Fields: fields})
		}
	}
	s.render(w, http.StatusOK, "wallet-block", page)
}
