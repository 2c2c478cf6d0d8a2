package rdap

import "github.com/ipledger/ipledger"

// entityLookup answers entity/: organisations, registries included.
func (rc *request) entityLookup(handle string) (any, error) {
	if err := rc.ready(); err != nil {
		return nil, err
	}
	o, err := rc.org(handle)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, notFound("no entity %s", handle)
	}
	e, err := rc.entity(o, nil, true)
	if err != nil {
		return nil, err
	}
	if o.AbuseMailbox != "" {
		e.Entities = append(e.Entities, rc.abuse(o))
	}
	e.top = rc.top()
	return e, nil
}

// entity renders an organisation. withRegistry nests the registry that registered it, in
// the role "registrar".
func (rc *request) entity(o *ipledger.Organisation, roles []string, withRegistry bool) (*entity, error) {
	self := rc.base + entityPath(o.Handle)
	e := &entity{
		ObjectClassName: "entity", Handle: o.Handle, VCard: vcard(o), Roles: roles,
		Status: []string{"active"}, Remarks: rc.orgRemarks(o),
		related: related{Port43: rc.h.port43, Links: []link{
			{Value: self, Rel: "self", Href: self, Type: contentType},
			{Value: self, Rel: "related", Href: rc.api + orgAPIPath(o.Handle), Type: "application/json",
				Title: "Ledger history of " + o.Handle},
			{Value: self, Rel: "related", Href: rc.api + orgProofPath(o.Handle), Type: "application/json",
				Title: "State proof of " + o.Handle},
		}},
	}
	if o.OpaqueID != "" {
		e.PublicIDs = []publicID{{Type: o.Registry + " delegated-extended opaque-id", Identifier: o.OpaqueID}}
	}
	if !o.Created.IsZero() {
		e.Events = append(e.Events, event{Action: "registration", Date: rfc3339(o.Created)})
	}
	if !o.Updated.IsZero() {
		e.Events = append(e.Events, event{Action: "last changed", Date: rfc3339(o.Updated)})
	}
	if withRegistry && o.Registry != "" {
		reg, err := rc.org(o.Registry)
		if err != nil {
			return nil, err
		}
		if reg != nil {
			re, err := rc.entity(reg, []string{"registrar"}, false)
			if err != nil {
				return nil, err
			}
			e.Entities = []*entity{re}
		}
	}
	return e, nil
}

// abuse is an organisation's abuse contact: its mailbox, in the role "abuse".
func (rc *request) abuse(o *ipledger.Organisation) *entity {
	self := rc.base + entityPath(o.Handle)
	return &entity{
		ObjectClassName: "entity", Handle: o.Handle, VCard: abuseVCard(o), Roles: []string{"abuse"},
		related: related{Links: []link{{Value: self, Rel: "self", Href: self, Type: contentType}}, Port43: rc.h.port43},
	}
}

// orgRemarks say what kind of record an organisation is: a registry and whether its
// records are on the ledger, or a holder nobody has claimed yet.
func (rc *request) orgRemarks(o *ipledger.Organisation) []notice {
	switch {
	case o.Handle == ipledger.IANA:
		return []notice{{Title: "Registry", Description: []string{
			"IANA, the root of the number registry: its unallocated and special-purpose space is answered from this ledger."}}}
	case o.IsRegistry && o.Authoritative:
		return []notice{{Title: "Registry", Description: []string{
			o.Handle + " keeps its records on this ledger: lookups of its space are answered here."}}}
	case o.IsRegistry:
		d := o.Handle + " does not keep its records on this ledger yet"
		if u, ok := rc.h.redirects[o.Handle]; ok {
			d += ": lookups of its space are redirected to " + u
		}
		return []notice{{Title: "Registry", Description: []string{d + "."}}}
	case len(o.Keys) == 0:
		d := "Registered by " + o.Registry + " from its own records"
		if o.OpaqueID != "" {
			d += " (delegated-extended opaque-id " + o.OpaqueID + ")"
		}
		return []notice{{Title: "Unclaimed", Description: []string{
			d + ". No key is bound to it yet: the holder has not claimed it on the ledger, so only " + o.Registry + " can change it."}}}
	}
	return nil
}
