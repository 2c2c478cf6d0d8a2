// Package ipledger holds the domain of a decentralised Internet number registry: number
// resources (IPv4 ranges, IPv6 prefixes, AS number ranges), organisations and their keys,
// holdings with their status and registration date, and the signed transactions that change
// them. The state machine lives in package ledger, the CometBFT node in package chain, and
// each protocol or dependency in a package of its own that speaks in these types.
package ipledger

import (
	"time"
)

// Registry handles of genesis. IANA is the root; the five RIRs are registries of record.
const (
	IANA    = "IANA"
	AFRINIC = "AFRINIC"
	APNIC   = "APNIC"
	ARIN    = "ARIN"
	LACNIC  = "LACNIC"
	RIPENCC = "RIPE-NCC"
)

// RIRs lists the five Regional Internet Registries in alphabetical order.
var RIRs = []string{AFRINIC, APNIC, ARIN, LACNIC, RIPENCC}

// Registries lists IANA and the five RIRs.
var Registries = []string{IANA, AFRINIC, APNIC, ARIN, LACNIC, RIPENCC}

// ValidHandle reports whether s is a valid organisation handle: 1 to 64 upper-case letters,
// digits and inner hyphens, like "ORG-EXAMPLE1" or "RIPE-NCC". (Every signature of every
// transaction names one, so this is a loop rather than a regular expression.)
func ValidHandle(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Limits on organisation records, enforced by the ledger.
const (
	MaxNameBytes = 256 // name of an organisation
	MaxOpaqueID  = 128 // delegated-extended opaque-id kept on an imported organisation
	MaxOrgKeys   = 16  // keys bound to one organisation
)

// ValidCountry reports whether c is empty or an ISO 3166 alpha-2 code in upper case (the
// form the delegated statistics use, "EU" and "ZZ" included).
func ValidCountry(c string) bool {
	return c == "" || (len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z')
}

// Status is a holding's registration status, in the words the registries use. Imported
// holdings carry the delegated statistics' own words (ALLOCATED, ASSIGNED); RIPE's finer
// words are kept on holdings whose transactions set them. docs/ARCHITECTURE.md has the
// table of delegated words, stored statuses and their RDAP and WHOIS forms.
type Status string

// Holding statuses.
const (
	StatusIANAPool       Status = "IANA POOL"        // IANA's unallocated space
	StatusRIRPool        Status = "ALLOCATED"        // a /8, IPv6 block or AS block IANA gave to an RIR
	StatusReserved       Status = "RESERVED"         // IANA's special-purpose space, or an RIR's reserved pool space
	StatusAvailable      Status = "AVAILABLE"        // an RIR's pool space its statistics list as available
	StatusAllocated      Status = "ALLOCATED"        // registry → holder, the delegated word "allocated"
	StatusAssigned       Status = "ASSIGNED"         // registry → holder, the delegated word "assigned"
	StatusAllocatedPA    Status = "ALLOCATED PA"     // registry → LIR, for assignment onward (RIPE)
	StatusAssignedPA     Status = "ASSIGNED PA"      // LIR → end user (RIPE)
	StatusAssignedPI     Status = "ASSIGNED PI"      // registry → end user (RIPE)
	StatusLegacy         Status = "LEGACY"           // issued before the RIRs
	StatusSubAllocatedPA Status = "SUB-ALLOCATED PA" // LIR → downstream ISP (RIPE)
	StatusLeased         Status = "LEASED"           // held by a lessee for a lease's term (ledger's leases)
	StatusAllocatedAS    Status = StatusAllocated    // AS numbers allocated by a registry
	StatusAssignedAS     Status = StatusAssigned     // AS numbers assigned onward
)

// ValidAllocateStatus reports whether a registry may give s directly from its pool to a
// holder.
func ValidAllocateStatus(f Family, s Status) bool {
	if f == ASN {
		return s == StatusAllocated || s == StatusAssigned || s == StatusLegacy
	}
	switch s {
	case StatusAllocated, StatusAssigned, StatusAllocatedPA, StatusAssignedPI, StatusLegacy, StatusAssignedPA:
		return true
	}
	return false
}

// ValidPoolStatus reports whether an RIR may mark free space of its own pool with s (an
// allocate item naming the registry itself): StatusAvailable or StatusReserved. IANA's
// pools are not marked so: its reserved space is the special-purpose space of genesis.
func ValidPoolStatus(s Status) bool {
	return s == StatusAvailable || s == StatusReserved
}

// ValidAssignStatus reports whether a holder may assign s inside its holding.
func ValidAssignStatus(f Family, s Status) bool {
	if f == ASN {
		return s == StatusAssignedAS
	}
	return s == StatusAssignedPA || s == StatusSubAllocatedPA
}

// Organisation is a holder of number resources, or a registry. Imported holders start
// keyless; a registry binds a key when the real holder claims the record.
type Organisation struct {
	Handle       string `json:"handle"`
	Name         string `json:"name"`
	Country      string `json:"country,omitempty"`
	AbuseMailbox string `json:"abuse_mailbox,omitempty"`
	Registry     string `json:"registry,omitempty"` // who registered it; empty for IANA and RIRs
	IsRegistry   bool   `json:"is_registry,omitempty"`
	// Authoritative is set on a registry by its first allocation: from then on its records
	// are kept on the ledger, and lookups answer for its pools instead of redirecting to the
	// registry's own service.
	Authoritative bool `json:"authoritative,omitempty"`
	// SettlementAgent may mint and burn settlement credits (named in genesis).
	SettlementAgent bool        `json:"settlement_agent,omitempty"`
	Keys            []PublicKey `json:"keys,omitempty"`
	Sequence        uint64      `json:"sequence"` // last sequence used as first signer
	Created         time.Time   `json:"created"`
	Updated         time.Time   `json:"updated"`
	OpaqueID        string      `json:"opaque_id,omitempty"` // delegated-extended opaque-id it was imported from
	// Observer may post blocklist observations (KindObserve; named in genesis until
	// governance admits observers).
	Observer bool `json:"observer,omitempty"`
}

// HasKey reports whether k is one of o's keys.
func (o *Organisation) HasKey(k PublicKey) bool {
	for _, x := range o.Keys {
		if x == k {
			return true
		}
	}
	return false
}

// Holding is a resource held by an organisation at some depth of the holding tree: depth 0
// is a registry's pool, 1 an allocation, 2 an assignment or sub-allocation, and so on. A
// holding's parent is the holding one level up that contains it. Holdings at one depth never
// overlap.
type Holding struct {
	ID         uint64    `json:"id"`
	Resource   Resource  `json:"resource"`
	Depth      int       `json:"depth"`
	Holder     string    `json:"holder"`
	Status     Status    `json:"status"`
	Country    string    `json:"country,omitempty"`
	Registered string    `json:"registered,omitempty"` // original registration date, YYYY-MM-DD
	Changed    time.Time `json:"changed"`              // block time of the last change
	Origin     uint64    `json:"origin,omitempty"`     // holding this one was split from
}

// SpecialPurpose reports whether h is IANA's special-purpose space (a depth-0 holding of
// IANA with StatusReserved), which never moves and is never allocated. An RIR's reserved
// pool space has the same status word but is the RIR's to release.
func (h *Holding) SpecialPurpose() bool {
	return h.Depth == 0 && h.Holder == IANA && h.Status == StatusReserved
}

// Handle returns the holding's public handle, e.g. "IPL-H42".
func (h *Holding) Handle() string { return HoldingHandle(h.ID) }

// HoldingHandle formats a holding id as its public handle.
func HoldingHandle(id uint64) string { return "IPL-H" + itoa(id) }

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Pool is a block of number space a registry holds directly (a depth-0 holding): what
// genesis starts from and what an importer plans against. The zero Pool has an invalid
// Resource.
type Pool struct {
	Resource   Resource `json:"resource"`
	Registry   string   `json:"registry"`             // IANA or one of RIRs
	Status     Status   `json:"status"`               // StatusRIRPool, StatusIANAPool or StatusReserved
	Registered string   `json:"registered,omitempty"` // YYYY-MM-DD, or "" when not known
}

// SpecialPurpose reports whether p is IANA's special-purpose space, as Holding.SpecialPurpose.
func (p Pool) SpecialPurpose() bool { return p.Registry == IANA && p.Status == StatusReserved }

// Block is what the state machine knows of the block a transaction is in: its height and
// its time, as agreed by consensus. The state machine never reads a clock.
type Block struct {
	Height int64
	Time   time.Time
}
