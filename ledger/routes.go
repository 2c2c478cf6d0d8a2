package ledger

import (
	"net/netip"
	"strconv"

	"github.com/ipledger/ipledger"
)

// Route authorisations (the ledger's ROAs). The holder of a prefix creates and withdraws
// them; a lease places its lessee's and, when it ends, an AS0 one. Nobody may create one
// over leased space: while a lease runs the lessee's is the only one that covers the block.

// checkPrefix validates a prefix and maximum length (RFC 6482 §3.3: the prefix length is at
// most the maximum length, which is at most the family's bit length).
func checkPrefix(p netip.Prefix, maxLen int) (ipledger.Resource, error) {
	if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return ipledger.Resource{}, ipledger.Errorf(ipledger.CodeInvalid, "prefix %s is not a valid IPv4 or IPv6 prefix", p)
	}
	if p != p.Masked() {
		return ipledger.Resource{}, ipledger.Errorf(ipledger.CodeInvalid, "prefix %s has host bits set (%s)", p, p.Masked())
	}
	if maxLen < p.Bits() || maxLen > p.Addr().BitLen() {
		return ipledger.Resource{}, ipledger.Errorf(ipledger.CodeInvalid, "max length %d outside %d..%d for %s", maxLen, p.Bits(), p.Addr().BitLen(), p)
	}
	r, err := ipledger.PrefixResource(p)
	if err != nil {
		return ipledger.Resource{}, ipledger.Errorf(ipledger.CodeInvalid, "prefix %s: %v", p, err)
	}
	return r, nil
}

func (a *apply) authorise(body *ipledger.AuthoriseBody) error {
	r, err := checkPrefix(body.Prefix, body.MaxLength)
	if err != nil {
		return err
	}
	if body.Expires != 0 && body.Expires <= a.block.Time.Unix() {
		return ipledger.Errorf(ipledger.CodeInvalid, "expiry %d is not after the block time %d", body.Expires, a.block.Time.Unix())
	}
	by := a.signers[0].Handle
	chain, err := a.heldBy(r, by)
	if err != nil {
		return err
	}
	// A lease blocks it: only the lessee's authorisation covers a block while its lease runs.
	if err := a.checkFree(chain, r, "authorise"); err != nil {
		return err
	}
	_, err = a.newAuth(ipledger.RouteAuth{Prefix: body.Prefix, MaxLength: body.MaxLength, ASN: body.ASN, Holder: by, Expires: body.Expires})
	return err
}

// newAuth stores a new authorisation with a fresh id, queueing its expiry.
func (a *apply) newAuth(ra ipledger.RouteAuth) (*ipledger.RouteAuth, error) {
	id, err := a.next(counterAuth)
	if err != nil {
		return nil, err
	}
	ra.ID, ra.Created = id, a.block.Time
	if err := a.putAuth(&ra); err != nil {
		return nil, err
	}
	if authQueued(&ra) {
		if err := a.kv.Set(dueKey(ra.Expires, dueAuth, ra.ID), []byte{}); err != nil {
			return nil, err
		}
	}
	a.touch("route", strconv.FormatUint(id, 10))
	a.touch("org", ra.Holder)
	return &ra, nil
}

func (a *apply) dropAuth(ra *ipledger.RouteAuth) error {
	a.touch("route", strconv.FormatUint(ra.ID, 10))
	a.touch("org", ra.Holder)
	return a.deleteAuth(ra)
}

func (a *apply) withdrawAuth(body *ipledger.WithdrawAuthBody) error {
	ra, err := signersOwn(a, tagAuth, body.ID, "route authorisation", func(ra *ipledger.RouteAuth) string { return ra.Holder })
	if err != nil {
		return err
	}
	if ra.Lease != 0 {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "route authorisation %d belongs to lease %d and ends with it", ra.ID, ra.Lease)
	}
	if ra.Case != 0 {
		// An action's AS0 stays while its case is open (the holder's once it closes).
		if c, err := a.abuseCase(ra.Case); err != nil {
			return err
		} else if ipledger.CaseOpen(c.State) {
			return ipledger.Errorf(ipledger.CodeEncumbered, "route authorisation %d is case %d's action and stays while the case is open", ra.ID, ra.Case)
		}
	}
	return a.dropAuth(ra)
}

// expireAuth removes an authorisation whose expiry came (an event).
func (a *apply) expireAuth(id uint64) error {
	ra, err := a.auth(id)
	if err != nil || ra == nil {
		return err
	}
	return a.dropAuth(ra)
}
