package ledger

import (
	"fmt"
	"slices"

	"github.com/ipledger/ipledger"
)

// Genesis is the initial registry state: IANA and the five RIRs with their keys, and the
// pools (depth-0 holdings) covering every number space.
type Genesis struct {
	Registries []GenesisRegistry `json:"registries"`
	Pools      []ipledger.Pool   `json:"pools"`
}

// GenesisRegistry is a registry organisation present from the start.
type GenesisRegistry struct {
	Handle       string               `json:"handle"`
	Name         string               `json:"name"`
	Country      string               `json:"country,omitempty"`
	AbuseMailbox string               `json:"abuse_mailbox,omitempty"`
	Keys         []ipledger.PublicKey `json:"keys"`
}

// InitGenesis writes g into an empty state as of block (height 0, genesis time). It fails
// on overlapping pools, unknown registries or bad fields.
func (l *Ledger) InitGenesis(kv ipledger.KV, g *Genesis, block ipledger.Block) error {
	a := &apply{store: store{kv}, block: block}
	for _, r := range g.Registries {
		if err := checkOrgFields(r.Handle, r.Name, r.Country, r.AbuseMailbox); err != nil {
			return fmt.Errorf("genesis registry: %w", err)
		}
		if old, err := a.org(r.Handle); err != nil {
			return err
		} else if old != nil {
			return fmt.Errorf("genesis: registry %s twice", r.Handle)
		}
		o := &ipledger.Organisation{
			Handle: r.Handle, Name: r.Name, Country: r.Country, AbuseMailbox: r.AbuseMailbox,
			IsRegistry: true, Keys: dedupKeys(r.Keys), Created: block.Time, Updated: block.Time,
		}
		if err := a.putOrg(o); err != nil {
			return err
		}
	}
	pools := slices.Clone(g.Pools)
	slices.SortFunc(pools, func(x, y ipledger.Pool) int { return x.Resource.Compare(y.Resource) })
	for i, p := range pools {
		if !p.Resource.IsValid() {
			return fmt.Errorf("genesis pool %d: no resource", i)
		}
		if i > 0 && pools[i-1].Resource.Overlaps(p.Resource) {
			return fmt.Errorf("genesis pools %s and %s overlap", pools[i-1].Resource, p.Resource)
		}
		o, err := a.org(p.Registry)
		if err != nil {
			return err
		}
		if o == nil || !o.IsRegistry {
			return fmt.Errorf("genesis pool %s: %s is not a genesis registry", p.Resource, p.Registry)
		}
		if _, err := a.newHolding(ipledger.Holding{
			Resource: p.Resource, Depth: 0, Holder: p.Registry, Status: p.Status, Registered: p.Registered,
		}); err != nil {
			return err
		}
	}
	return nil
}

// Event is something the state machine did on its own at the end of a block because block
// time passed a boundary (lease periods, expiries). The log records a block's events in its
// end-of-block leaf.
type Event struct {
	Kind    string   `json:"kind"`
	Ref     string   `json:"ref"`
	Touched []string `json:"touched,omitempty"`
}

// EndBlock applies the time-driven events due at or before block.Time, in (due time, id)
// order. No kind of transaction yet creates timed obligations, so it returns none; leases
// (a later capability) plug in here.
func (l *Ledger) EndBlock(kv ipledger.KV, block ipledger.Block) ([]Event, error) {
	return nil, nil
}
