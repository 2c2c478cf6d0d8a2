package ipledgertest

import (
	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// Agent is the handle of the settlement agent of every test genesis (keyed Key(Agent)).
const Agent = "AGENT"

// Pool is one row of a test genesis's pool table: Range (any form
// ipledger.ParseResource reads) is Registry's. The zero Status is StatusIANAPool for IANA
// and StatusRIRPool for a regional registry.
type Pool struct {
	Range    string
	Registry string
	Status   ipledger.Status
}

// Pools returns Genesis's pool table, which covers every number space: RIPE NCC holds
// 193.0.0.0/8, 2001:600::/23 and AS3072-AS4095; ARIN 194.0.0.0/8 and AS4096-AS5119;
// IANA 10.0.0.0/8 as special-purpose space and the rest as its pool.
func Pools() []Pool {
	return []Pool{
		{"0.0.0.0-9.255.255.255", ipledger.IANA, ""},
		{"10.0.0.0/8", ipledger.IANA, ipledger.StatusReserved},
		{"11.0.0.0-192.255.255.255", ipledger.IANA, ""},
		{"193.0.0.0/8", ipledger.RIPENCC, ""},
		{"194.0.0.0/8", ipledger.ARIN, ""},
		{"195.0.0.0-255.255.255.255", ipledger.IANA, ""},
		{"::-2001:5ff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA, ""},
		{"2001:600::/23", ipledger.RIPENCC, ""},
		{"2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA, ""},
		{"AS0-AS3071", ipledger.IANA, ""},
		{"AS3072-AS4095", ipledger.RIPENCC, ""},
		{"AS4096-AS5119", ipledger.ARIN, ""},
		{"AS5120-AS4294967295", ipledger.IANA, ""},
	}
}

// Genesis returns a fresh genesis of Pools (see GenesisWith).
func Genesis() *ledger.Genesis { return GenesisWith(Pools()...) }

// GenesisWith returns a fresh genesis of pools: every registry of ipledger.Registries,
// named "<handle> registry" and keyed with Key(handle), each pool registered on
// 1993-09-01, and the settlement agent Agent. Space no pool covers is held by no one. It
// panics on a Range that does not parse.
func GenesisWith(pools ...Pool) *ledger.Genesis {
	g := &ledger.Genesis{}
	for _, r := range ipledger.Registries {
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: r, Name: r + " registry", Keys: []ipledger.PublicKey{Key(r).Public()}})
	}
	for _, p := range pools {
		st := p.Status
		if st == "" {
			st = ipledger.StatusRIRPool
			if p.Registry == ipledger.IANA {
				st = ipledger.StatusIANAPool
			}
		}
		g.Pools = append(g.Pools, ipledger.Pool{Resource: ipledger.MustParseResource(p.Range), Registry: p.Registry, Status: st, Registered: "1993-09-01"})
	}
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: Agent, Name: "Settlement agent", Keys: []ipledger.PublicKey{Key(Agent).Public()}}}
	return g
}

// RegistryName returns the full name of the registry handle ("RIPE Network Coordination
// Centre": ipledger.RegistryOf's Name), or "" for another handle.
func RegistryName(handle string) string {
	r, _ := ipledger.RegistryOf(handle)
	return r.Name
}

// GenesisOf returns a genesis of pools as given (IANA's real ones, for an import of real
// data): every registry of ipledger.Registries under its full name (RegistryName) and
// keyed with Key(handle); no settlement agent.
func GenesisOf(pools []ipledger.Pool) *ledger.Genesis {
	g := &ledger.Genesis{Pools: pools}
	for _, r := range ipledger.Registries {
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: r, Name: RegistryName(r), Keys: []ipledger.PublicKey{Key(r).Public()}})
	}
	return g
}
