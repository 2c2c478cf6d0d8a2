package ledger

import (
	"strings"

	"github.com/ipledger/ipledger"
)

// requireRegistry rejects o unless it is a registry; it is the signer rule of
// register-org and allocate.
func requireRegistry(o *ipledger.Organisation) error {
	if !o.IsRegistry {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "%s is not a registry", o.Handle)
	}
	return nil
}

func validMailbox(m string) bool {
	if m == "" {
		return true
	}
	// A plain addr-spec: local@domain, no spaces or angle brackets, a dot in the domain.
	local, domain, ok := strings.Cut(m, "@")
	return ok && len(m) <= 254 && local != "" && strings.Contains(domain, ".") &&
		!strings.ContainsAny(m, " \t<>\"(),;:[]\\") && !strings.Contains(domain, "@") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func checkOrgFields(handle, name, country, abuse string) error {
	switch {
	case !ipledger.ValidHandle(handle):
		return ipledger.Errorf(ipledger.CodeInvalid, "bad handle %q: 1 to 64 of A-Z, 0-9 and inner hyphens", handle)
	case len(name) > ipledger.MaxNameBytes:
		return ipledger.Errorf(ipledger.CodeInvalid, "name of %s is over %d bytes", handle, ipledger.MaxNameBytes)
	case !ipledger.ValidCountry(country):
		return ipledger.Errorf(ipledger.CodeInvalid, "country %q of %s is not an ISO 3166 two-letter code", country, handle)
	case !validMailbox(abuse):
		return ipledger.Errorf(ipledger.CodeInvalid, "abuse mailbox %q of %s is not an e-mail address", abuse, handle)
	}
	return nil
}

// registerOrg registers organisations under the signing registry (requireRegistry).
func (a *apply) registerOrg(body *ipledger.RegisterOrgBody) error {
	reg := a.signers[0]
	if len(body.Orgs) == 0 || len(body.Orgs) > ipledger.MaxBatchItems {
		return ipledger.Errorf(ipledger.CodeInvalid, "register-org carries %d organisations; 1 to %d allowed", len(body.Orgs), ipledger.MaxBatchItems)
	}
	for _, n := range body.Orgs {
		if err := checkOrgFields(n.Handle, n.Name, n.Country, n.AbuseMailbox); err != nil {
			return err
		}
		if n.Name == "" {
			return ipledger.Errorf(ipledger.CodeInvalid, "organisation %s has no name", n.Handle)
		}
		if len(n.Keys) > ipledger.MaxOrgKeys || len(n.OpaqueID) > ipledger.MaxOpaqueID {
			return ipledger.Errorf(ipledger.CodeInvalid, "organisation %s: at most %d keys and a %d-byte opaque id", n.Handle, ipledger.MaxOrgKeys, ipledger.MaxOpaqueID)
		}
		old, err := a.org(n.Handle)
		if err != nil {
			return err
		}
		if old != nil {
			return ipledger.Errorf(ipledger.CodeExists, "organisation %s already exists", n.Handle)
		}
		o := &ipledger.Organisation{
			Handle: n.Handle, Name: n.Name, Country: n.Country, AbuseMailbox: n.AbuseMailbox,
			Registry: reg.Handle, Keys: dedupKeys(n.Keys), Created: a.block.Time, Updated: a.block.Time,
			OpaqueID: n.OpaqueID,
		}
		if err := a.putOrg(o); err != nil {
			return err
		}
		a.touch("org", o.Handle)
	}
	return nil
}

func dedupKeys(keys []ipledger.PublicKey) []ipledger.PublicKey {
	var out []ipledger.PublicKey
	for _, k := range keys {
		dup := false
		for _, x := range out {
			dup = dup || x == k
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}

// bindKey adds a key to an organisation; only the registry that registered it may.
func (a *apply) bindKey(body *ipledger.BindKeyBody) error {
	o, err := a.mustOrg(body.Org)
	if err != nil {
		return err
	}
	if o.Registry == "" || a.signers[0].Handle != o.Registry {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "only %s's registry may bind a key to it", o.Handle)
	}
	if o.HasKey(body.Key) {
		return ipledger.Errorf(ipledger.CodeExists, "key %s is already bound to %s", body.Key, o.Handle)
	}
	if len(o.Keys) >= ipledger.MaxOrgKeys {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s already has %d keys", o.Handle, ipledger.MaxOrgKeys)
	}
	o.Keys = append(o.Keys, body.Key)
	o.Updated = a.block.Time
	a.touch("org", o.Handle)
	return a.putOrg(o)
}

// rotateKeys adds and removes keys of the signing organisation.
func (a *apply) rotateKeys(body *ipledger.RotateKeysBody) error {
	if body.Org != a.signers[0].Handle {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "only %s may rotate its own keys", body.Org)
	}
	o, err := a.mustOrg(body.Org)
	if err != nil {
		return err
	}
	keys := o.Keys
	for _, r := range body.Remove {
		if !o.HasKey(r) {
			return ipledger.Errorf(ipledger.CodeNotFound, "key %s is not a key of %s", r, o.Handle)
		}
		var kept []ipledger.PublicKey
		for _, k := range keys {
			if k != r {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	keys = dedupKeys(append(keys, body.Add...))
	if len(keys) == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "rotation would leave %s without a key", o.Handle)
	}
	if len(keys) > ipledger.MaxOrgKeys {
		return ipledger.Errorf(ipledger.CodeInvalid, "rotation would give %s more than %d keys", o.Handle, ipledger.MaxOrgKeys)
	}
	o.Keys = keys
	o.Updated = a.block.Time
	a.touch("org", o.Handle)
	return a.putOrg(o)
}

// updateOrg changes contact data; the organisation itself or its registry signs.
func (a *apply) updateOrg(body *ipledger.UpdateOrgBody) error {
	o, err := a.mustOrg(body.Org)
	if err != nil {
		return err
	}
	by := a.signers[0].Handle
	if by != o.Handle && by != o.Registry {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "only %s or its registry may update it", o.Handle)
	}
	if err := checkOrgFields(o.Handle, body.Name, body.Country, body.AbuseMailbox); err != nil {
		return err
	}
	if body.Name == "" && body.Country == "" && body.AbuseMailbox == "" {
		return ipledger.Errorf(ipledger.CodeInvalid, "update of %s changes nothing", o.Handle)
	}
	if body.Name != "" {
		o.Name = body.Name
	}
	if body.Country != "" {
		o.Country = body.Country
	}
	if body.AbuseMailbox != "" {
		o.AbuseMailbox = body.AbuseMailbox
	}
	o.Updated = a.block.Time
	a.touch("org", o.Handle)
	return a.putOrg(o)
}
