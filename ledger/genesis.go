package ledger

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/ipledger/ipledger"
)

// Genesis is the initial registry state: IANA and the five RIRs with their keys, and the
// pools (depth-0 holdings) covering every number space.
type Genesis struct {
	Registries []GenesisOrg    `json:"registries"`
	Pools      []ipledger.Pool `json:"pools"`
	// SettlementAgents may mint and burn settlement credits. An agent that is also a
	// registry is marked as such; any other is created as an organisation of its own.
	SettlementAgents []GenesisOrg `json:"settlement_agents,omitempty"`
	// Observers may post blocklist observations (KindObserve) until governance admits
	// them; like an agent, one that is not a registry is created as an organisation.
	Observers []GenesisOrg `json:"observers,omitempty"`
	// Params are the chain's parameters; zero fields take DefaultParams.
	Params Params `json:"params,omitzero"`
	// Validators is the consensus validator set with each validator's operator; it must
	// equal the set of the consensus genesis.
	Validators []Validator `json:"validators,omitempty"`
}

// Params are chain parameters fixed at genesis (governance may change them later).
type Params struct {
	// LeaseGrace is how long, in seconds, a lease whose payment failed keeps running before
	// it ends unpaid (never past the end of its term).
	LeaseGrace int64 `json:"lease_grace,omitempty"`
	// AS0Grace is how long, in seconds, an AS0 authorisation covers a block after its lease
	// ended, so the old route turns Invalid rather than NotFound (RFC 6483 §4).
	AS0Grace int64 `json:"as0_grace,omitempty"`
	// MaxSettlements bounds the time-driven events (lease boundaries, expiries) one block
	// applies, at most 1000; the rest carry over to the next block.
	MaxSettlements int `json:"max_settlements,omitempty"`

	// FeeBasisPoints is the market's fee, in basis points of the price, that the seller
	// pays out of the proceeds at settlement (at most 10000; 0 takes the default, 50).
	FeeBasisPoints uint64 `json:"fee_bps,omitempty"`
	// FeeAccount is the organisation fees are paid to; genesis creates it, keyless, when
	// it is not a registry or agent (governance will control it). Default IANA.
	FeeAccount string `json:"fee_account,omitempty"`
	// SoftClose is the window, in seconds, before a listing's end in which a bid moves the
	// end to the bid's time plus the window.
	SoftClose int64 `json:"soft_close,omitempty"`
	// LargeSaleUnits is the size, in units (IPv4 addresses, IPv6 /48s, AS numbers), from
	// which a sale settles only after ChallengeWindow: 65,536 (an IPv4 /16, an IPv6 /32).
	LargeSaleUnits uint64 `json:"large_sale_units,omitempty"`
	// ChallengeWindow is how long, in seconds, a large sale waits before it settles; any
	// key of the seller may cancel it meanwhile, so a stolen key cannot sell a /16 in one
	// block.
	ChallengeWindow int64 `json:"challenge_window,omitempty"`
	// MaxListing is the longest a listing may run, in seconds.
	MaxListing int64 `json:"max_listing,omitempty"`
	// Transfer is the transfer policy: checked for every sale and every plain transfer.
	Transfer TransferPolicy `json:"transfer_policy,omitzero"`

	// MaxObservations is the most changes one observe transaction carries (default 400).
	MaxObservations int `json:"max_observations,omitempty"`
	// GradeWindow is how long, in seconds, a listing of a block keeps its grade at B after
	// it was delisted (default 365 days).
	GradeWindow int64 `json:"grade_window,omitempty"`

	// Class auctions.
	// AuctionInterval is the batch interval of class auctions, in seconds: every book with
	// an open bid clears at each multiple of it (default 3600).
	AuctionInterval int64 `json:"auction_interval,omitempty"`
	// Abuse process.
	// AbuseCategories are the categories a case may have, with the reporter's bond and the
	// cure window of each (default: drop, 0 credits, 24 h; spam, malware, phishing, botnet,
	// hijack and other, 10,000 credits, 72 h).
	AbuseCategories []AbuseCategory `json:"abuse_categories,omitempty"`
	// DropLists are the observed lists whose listings open cases of category drop by
	// themselves (default: drop, spamhaus-drop (the name ipledger observe drop posts under),
	// spamhaus-drop-v4, spamhaus-drop-v6).
	DropLists []string `json:"drop_lists,omitempty"`
	// MaxOpenReports is how many open cases one reporter may have (default 10).
	MaxOpenReports int `json:"max_open_reports,omitempty"`
	// AppealWindow is how long, in seconds, an upheld decision may be appealed (default 14 days).
	AppealWindow int64 `json:"appeal_window,omitempty"`
	// ReporterShareBps is the reporter's share, in basis points, of a forfeited lessee bond;
	// the lessor gets the rest (default 5000, half).
	ReporterShareBps uint64 `json:"reporter_share_bps,omitempty"`
	// AbusePanel are the organisations that decide cases; while it is empty, the block's
	// registry decides.
	AbusePanel []string `json:"abuse_panel,omitempty"`
	// CaseGradeWindow is how long, in seconds, an upheld decision keeps a block at grade C,
	// and a reversed one at B (default 365 days).
	CaseGradeWindow int64 `json:"case_grade_window,omitempty"`
}

// TransferPolicy is what may change holder, by a sale on any venue or a plain transfer.
// Its zero value is no minimum size, no holding period and every status but pool space and
// LEASED holdings: a registry's policy is the chain's to set (RIPE's would be a /24
// minimum for IPv4 and a 24-month holding period, 63,072,000 s).
type TransferPolicy struct {
	// MinIPv4 is the fewest IPv4 addresses that may move at once (256 for a /24).
	MinIPv4 uint64 `json:"min_ipv4,omitempty"`
	// MaxIPv6Bits is the longest IPv6 prefix that may move (48 for a /48); 0 for any.
	MaxIPv6Bits int `json:"max_ipv6_bits,omitempty"`
	// HoldingPeriod is how long, in seconds, a block received by a transfer or sale stays
	// with its receiver before it moves again.
	HoldingPeriod int64 `json:"holding_period,omitempty"`
	// Statuses are the holding statuses that may move; empty for every status but pool
	// space (depth 0) and LEASED.
	Statuses []ipledger.Status `json:"statuses,omitempty"`
}

// DefaultParams are the parameters of a genesis that sets none.
func DefaultParams() Params {
	return Params{
		LeaseGrace: 3 * 24 * 3600, AS0Grace: 7 * 24 * 3600, MaxSettlements: 1000,
		FeeBasisPoints: 50, FeeAccount: ipledger.IANA, SoftClose: 10 * 60,
		LargeSaleUnits: 1 << 16, ChallengeWindow: 72 * 3600, MaxListing: 90 * 24 * 3600,
		MaxObservations: DefaultMaxObservations, GradeWindow: 365 * 24 * 3600,
		AuctionInterval: 3600,
		AbuseCategories: defaultAbuseCategories(), DropLists: []string{"drop", "spamhaus-drop", "spamhaus-drop-v4", "spamhaus-drop-v6"}, MaxOpenReports: 10,
		AppealWindow: 14 * 24 * 3600, ReporterShareBps: 5000, CaseGradeWindow: 365 * 24 * 3600,
	}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.LeaseGrace <= 0 {
		p.LeaseGrace = d.LeaseGrace
	}
	if p.AS0Grace <= 0 {
		p.AS0Grace = d.AS0Grace
	}
	if p.MaxSettlements <= 0 {
		p.MaxSettlements = d.MaxSettlements
	}
	if p.FeeBasisPoints == 0 {
		p.FeeBasisPoints = d.FeeBasisPoints
	}
	p.FeeBasisPoints = min(p.FeeBasisPoints, 10000)
	if p.FeeAccount == "" {
		p.FeeAccount = d.FeeAccount
	}
	if p.SoftClose <= 0 {
		p.SoftClose = d.SoftClose
	}
	if p.LargeSaleUnits == 0 {
		p.LargeSaleUnits = d.LargeSaleUnits
	}
	if p.ChallengeWindow <= 0 {
		p.ChallengeWindow = d.ChallengeWindow
	}
	if p.MaxListing <= 0 {
		p.MaxListing = d.MaxListing
	}
	p.Transfer.HoldingPeriod = max(p.Transfer.HoldingPeriod, 0)
	if p.MaxObservations <= 0 {
		p.MaxObservations = d.MaxObservations
	}
	if p.GradeWindow <= 0 {
		p.GradeWindow = d.GradeWindow
	}
	if p.AuctionInterval <= 0 {
		p.AuctionInterval = d.AuctionInterval
	}
	if len(p.AbuseCategories) == 0 {
		p.AbuseCategories = d.AbuseCategories
	}
	if len(p.DropLists) == 0 {
		p.DropLists = d.DropLists
	}
	if p.MaxOpenReports <= 0 {
		p.MaxOpenReports = d.MaxOpenReports
	}
	if p.AppealWindow <= 0 {
		p.AppealWindow = d.AppealWindow
	}
	if p.ReporterShareBps == 0 {
		p.ReporterShareBps = d.ReporterShareBps
	}
	p.ReporterShareBps = min(p.ReporterShareBps, 10000)
	if p.CaseGradeWindow <= 0 {
		p.CaseGradeWindow = d.CaseGradeWindow
	}
	// A block's events are recorded in one log leaf, which must fit a log entry (64 KiB):
	// 1000 events of the longest kind and reference take 63 KB (TestEventLeafBound).
	p.MaxSettlements = min(p.MaxSettlements, 1000)
	return p
}

// GenesisOrg is an organisation present from the start: a registry or a settlement agent.
type GenesisOrg struct {
	Handle       string               `json:"handle"`
	Name         string               `json:"name"`
	Country      string               `json:"country,omitempty"`
	AbuseMailbox string               `json:"abuse_mailbox,omitempty"`
	Keys         []ipledger.PublicKey `json:"keys"`
}

// StateFormat is the version of the state machine's rules and state layout: InitGenesis
// records it in the state, and a node refuses state of another format (CheckStateFormat).
// Format 1, which recorded nothing, let a transaction rejected by its kind keep its
// sequence, so that its bytes could apply later, and had no expiry by time; format 2 had
// no market (listings, swaps, trade records, held credits, the transfer policy and its
// parameters); format 3 had no class auctions and no abuse process. Chains of older
// formats cannot be continued by this version and are started afresh.
const StateFormat = 4

var stateFormatKey = []byte{tagMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// CheckStateFormat returns an error unless the state in kv records StateFormat. State
// from before formats were recorded reads as format 1.
func CheckStateFormat(kv ipledger.KV) error {
	f, err := state{kv}.getU64(stateFormatKey)
	if err != nil {
		return fmt.Errorf("read state format: %w", err)
	}
	f = max(f, 1)
	switch {
	case f < StateFormat:
		return fmt.Errorf("state of format %d, from an older ipledger whose rules this version (format %d) does not follow", f, StateFormat)
	case f > StateFormat:
		return fmt.Errorf("state of format %d, from a newer ipledger (this one runs format %d)", f, StateFormat)
	}
	return nil
}

// InitGenesis writes g into an empty state as of block (height 0, genesis time), with the
// state format. It fails on overlapping pools, unknown registries or bad fields.
func (l *Ledger) InitGenesis(kv ipledger.KV, g *Genesis, block ipledger.Block) error {
	a := &apply{state: state{kv}, block: block}
	if err := ipledger.CheckText(g); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := a.setU64(stateFormatKey, StateFormat); err != nil {
		return err
	}
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
	if err := a.genesisRole(g.SettlementAgents, "settlement agent", func(o *ipledger.Organisation) { o.SettlementAgent = true }); err != nil {
		return err
	}
	if err := a.genesisRole(g.Observers, "observer", func(o *ipledger.Organisation) { o.Observer = true }); err != nil {
		return err
	}
	params := g.Params.withDefaults()
	if !ipledger.ValidHandle(params.FeeAccount) {
		return fmt.Errorf("genesis: fee account %q is not a handle", params.FeeAccount)
	}
	if err := params.checkAbuse(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := a.putParams(params); err != nil {
		return err
	}
	if o, err := a.org(params.FeeAccount); err != nil {
		return err
	} else if o == nil {
		if err := a.putOrg(&ipledger.Organisation{Handle: params.FeeAccount, Name: "Market fees", Created: block.Time, Updated: block.Time}); err != nil {
			return err
		}
	}
	if err := a.initValidators(g.Validators); err != nil {
		return err
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

// EndBlock applies the time-driven events due at or before block.Time, in (due time, kind,
// id) order, at most Params.MaxSettlements of them; the rest carry over to the next block.
// An event that falls due again before the block time (a lease after a long gap between
// blocks) is applied again in the same block while the bound allows. Errors are faults of
// kv, never of the events.
func (l *Ledger) EndBlock(kv ipledger.KV, block ipledger.Block) ([]ipledger.Event, error) {
	s := state{kv}
	now := block.Time.Unix()
	end := dueKey(now+1, 0, 0) // every key due at or before now sorts below it
	var events []ipledger.Event
	var p *Params
	for {
		var key []byte
		if err := kv.Iterate([]byte{tagDue}, end, false, func(k, _ []byte) bool { key = append([]byte{}, k...); return false }); err != nil {
			return nil, fmt.Errorf("end block: scan due events: %w", err)
		}
		if key == nil {
			return events, nil
		}
		if p == nil {
			ps, err := s.params()
			if err != nil {
				return nil, err
			}
			p = &ps
		}
		if len(events) >= p.MaxSettlements {
			return events, nil
		}
		if len(key) != 18 {
			return nil, fmt.Errorf("end block: bad due key %x", key)
		}
		at, kind, id := int64(binary.BigEndian.Uint64(key[1:9])), key[9], binary.BigEndian.Uint64(key[10:])
		if err := kv.Delete(key); err != nil {
			return nil, err
		}
		a := &apply{state: s, block: block}
		ev := ipledger.Event{}
		switch kind {
		case dueLease:
			ls, err := s.lease(id)
			if err != nil {
				return nil, err
			}
			if ls == nil || ls.Due != at {
				return nil, fmt.Errorf("end block: queued lease %d at %d does not match its record", id, at)
			}
			ls.Due = 0 // its key is gone
			before := ls.Paid
			if err := a.settle(ls, at, *p); err != nil {
				return nil, fmt.Errorf("end block: settle lease %d: %w", id, err)
			}
			ev.Ref = leaseRef(id)
			switch {
			case ls.State == ipledger.LeaseEnded:
				ev.Kind = "lease-ended"
			case ls.Paid > before:
				ev.Kind = "lease-paid"
			default:
				ev.Kind = "lease-grace"
			}
		case dueAuth:
			if err := a.expireAuth(id); err != nil {
				return nil, fmt.Errorf("end block: expire route authorisation %d: %w", id, err)
			}
			ev.Kind, ev.Ref = "route-expired", "route/"+strconv.FormatUint(id, 10)
		case dueListing, dueSale:
			var err error
			if ev.Kind, ev.Ref, err = a.marketEvent(kind, id, at, *p); err != nil {
				return nil, fmt.Errorf("end block: %w", err)
			}
		case dueClear, dueFill:
			var err error
			if ev.Kind, ev.Ref, err = a.auctionEvent(kind, id, at, *p); err != nil {
				return nil, fmt.Errorf("end block: %w", err)
			}
		case dueCure, dueAppeal:
			var err error
			if ev.Kind, ev.Ref, err = a.abuseEvent(kind, id, *p); err != nil {
				return nil, fmt.Errorf("end block: %w", err)
			}
		case duePeriod:
			if err := a.endPeriod(id); err != nil {
				return nil, fmt.Errorf("end block: end holding period %d: %w", id, err)
			}
			ev.Kind, ev.Ref = "period-ended", periodRef(id)
		default:
			return nil, fmt.Errorf("end block: unknown due kind %q", kind)
		}
		ev.Touched = a.touched
		events = append(events, ev)
	}
}

// genesisRole gives each of orgs a role genesis names (mark sets it): an organisation
// that is not already one (a registry) is created with its keys; each must have a key.
func (a *apply) genesisRole(orgs []GenesisOrg, role string, mark func(*ipledger.Organisation)) error {
	for _, r := range orgs {
		o, err := a.org(r.Handle)
		if err != nil {
			return err
		}
		if o == nil {
			if err := checkOrgFields(r.Handle, r.Name, r.Country, r.AbuseMailbox); err != nil {
				return fmt.Errorf("genesis %s: %w", role, err)
			}
			o = &ipledger.Organisation{
				Handle: r.Handle, Name: r.Name, Country: r.Country, AbuseMailbox: r.AbuseMailbox,
				Keys: dedupKeys(r.Keys), Created: a.block.Time, Updated: a.block.Time,
			}
		}
		if len(o.Keys) == 0 {
			return fmt.Errorf("genesis %s %s has no key", role, r.Handle)
		}
		mark(o)
		if err := a.putOrg(o); err != nil {
			return err
		}
	}
	return nil
}
