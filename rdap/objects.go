package rdap

import (
	"net/url"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
)

// The JSON of RDAP answers (RFC 9083), in the member order the goldens pin.

// conformance lists the specifications every answer follows (RFC 9083 §4.1): RDAP itself,
// the NRO profile with its hierarchical ASN variant (autnum lookups answer the registered
// block containing the number), cidr0, and RFC 9910's relation and basic searches.
var conformance = []string{
	"rdap_level_0",
	"nro_rdap_profile_0",
	"nro_rdap_profile_asn_hierarchical_0",
	"cidr0",
	"rirSearch1",
	"ips",
	"autnums",
}

// top holds the members only the top-level object of an answer carries.
type top struct {
	Conformance []string `json:"rdapConformance,omitempty"`
	Notices     []notice `json:"notices,omitempty"`
}

type link struct {
	Value string `json:"value,omitempty"`
	Rel   string `json:"rel"`
	Href  string `json:"href"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// notice is a notice or remark (RFC 9083 §4.3).
type notice struct {
	Title       string   `json:"title,omitempty"`
	Type        string   `json:"type,omitempty"`
	Description []string `json:"description"`
	Links       []link   `json:"links,omitempty"`
}

type event struct {
	Action string `json:"eventAction"`
	Date   string `json:"eventDate"`
}

type publicID struct {
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
}

// cidr is a member of cidr0_cidrs (the NRO cidr0 extension).
type cidr struct {
	V4     string `json:"v4prefix,omitempty"`
	V6     string `json:"v6prefix,omitempty"`
	Length int    `json:"length"`
}

type entity struct {
	top
	ObjectClassName string     `json:"objectClassName"`
	Handle          string     `json:"handle"`
	VCard           []any      `json:"vcardArray,omitempty"`
	Roles           []string   `json:"roles,omitempty"`
	PublicIDs       []publicID `json:"publicIds,omitempty"`
	Status          []string   `json:"status,omitempty"`
	Remarks         []notice   `json:"remarks,omitempty"`
	related
}

type network struct {
	top
	ObjectClassName string `json:"objectClassName"`
	Handle          string `json:"handle"`
	StartAddress    string `json:"startAddress"`
	EndAddress      string `json:"endAddress"`
	IPVersion       string `json:"ipVersion"`
	registration
	CIDRs []cidr `json:"cidr0_cidrs"`
	related
}

type autnum struct {
	top
	ObjectClassName string `json:"objectClassName"`
	Handle          string `json:"handle"`
	StartAutnum     uint32 `json:"startAutnum"`
	EndAutnum       uint32 `json:"endAutnum"`
	registration
	related
}

// registration holds the members a network and an autnum have after their numbers (RFC
// 9083 §5.4, §5.5): the holding's holder, status and parent. Embedded, they are encoded
// where they stand in the struct.
type registration struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Country      string   `json:"country,omitempty"`
	ParentHandle string   `json:"parentHandle,omitempty"`
	Status       []string `json:"status"`
}

// related holds the members every object ends with: its entities, events, links (never
// empty: every object links to itself) and WHOIS server.
type related struct {
	Entities []*entity `json:"entities,omitempty"`
	Events   []event   `json:"events,omitempty"`
	Links    []link    `json:"links"`
	Port43   string    `json:"port43,omitempty"`
}

type ipSearch struct {
	top
	Results []*network `json:"ipSearchResults"`
}

type autnumSearch struct {
	top
	Results []*autnum `json:"autnumSearchResults"`
}

type entitySearch struct {
	top
	Results []*entity `json:"entitySearchResults"`
}

type helpBody struct {
	top
}

type errorBody struct {
	top
	ErrorCode   int      `json:"errorCode"`
	Title       string   `json:"title"`
	Description []string `json:"description"`
}

// rdapStatus maps a holding to registered RDAP status values (RFC 9083 §10.2.2 and the
// IANA "RDAP JSON Values" registry): IANA's special-purpose space and an RIR's reserved
// pool space are "reserved"; IANA's unallocated pool and an RIR's available pool space
// "inactive" (not in use, free to be given out); a registry's other pool space "active"
// and "administrative" (it is held for allocation, not used in the registry's network);
// everything below "active". The holding's own status word is the object's type.
func rdapStatus(h *ipledger.Holding) []string {
	switch {
	case h.Depth == 0 && h.Status == ipledger.StatusReserved:
		return []string{"reserved"}
	case h.Depth == 0 && (h.Status == ipledger.StatusIANAPool || h.Status == ipledger.StatusAvailable):
		return []string{"inactive"}
	case h.Depth == 0:
		return []string{"active", "administrative"}
	}
	return []string{"active"}
}

// rfc3339 formats a time as RDAP event dates are written.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// registeredDate turns a YYYY-MM-DD registration date into an event date; ok is false for
// an empty or malformed one.
func registeredDate(s string) (string, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", false
	}
	return rfc3339(t), true
}

// cidrs is the exact CIDR decomposition of an address range (cidr0).
func cidrs(r ipledger.Resource) []cidr {
	ps := r.Prefixes()
	out := make([]cidr, 0, len(ps))
	for _, p := range ps {
		c := cidr{Length: p.Bits()}
		if p.Addr().Is4() {
			c.V4 = p.Addr().String()
		} else {
			c.V6 = p.Addr().String()
		}
		out = append(out, c)
	}
	return out
}

// vcard is an organisation's jCard (RFC 7095): its name, kind and country; the country as
// the ISO 3166 code in the cc parameter of adr (RFC 8605 §3.1).
func vcard(o *ipledger.Organisation) []any {
	props := []any{
		[]any{"version", map[string]any{}, "text", "4.0"},
		[]any{"fn", map[string]any{}, "text", o.Name},
		[]any{"kind", map[string]any{}, "text", "org"},
	}
	if o.Country != "" {
		props = append(props, []any{"adr", map[string]any{"cc": o.Country}, "text", []string{"", "", "", "", "", "", ""}})
	}
	return []any{"vcard", props}
}

// abuseVCard is the jCard of an organisation's abuse mailbox.
func abuseVCard(o *ipledger.Organisation) []any {
	return []any{"vcard", []any{
		[]any{"version", map[string]any{}, "text", "4.0"},
		[]any{"fn", map[string]any{}, "text", "Abuse contact of " + o.Name},
		[]any{"kind", map[string]any{}, "text", "group"},
		[]any{"email", map[string]any{}, "text", o.AbuseMailbox},
	}}
}

// Path pieces of links.

func ipPath(r ipledger.Resource) string {
	// The first prefix of the range: a lookup of it answers this holding (or one of its
	// descendants covering all of it), where the start address could answer a child.
	return "ip/" + r.Prefixes()[0].String()
}

func autnumPath(r ipledger.Resource) string {
	return "autnum/" + strconv.FormatUint(uint64(r.FirstAS()), 10)
}

func entityPath(handle string) string { return "entity/" + url.PathEscape(handle) }

func holdingAPIPath(id uint64) string { return "v1/holdings/" + strconv.FormatUint(id, 10) }

func orgAPIPath(handle string) string { return "v1/orgs/" + url.PathEscape(handle) }

func holdingProofPath(id uint64) string { return "v1/proof/holdings/" + strconv.FormatUint(id, 10) }

// passportPath is the JSON API path of an address block's passport.
func passportPath(r ipledger.Resource) string { return "v1/passport/" + r.String() }

func orgProofPath(handle string) string { return "v1/proof/orgs/" + url.PathEscape(handle) }
