package importer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// MaxBodyBytes is the largest JSON body PlanImport puts in one step: a transaction may be
// ipledger.MaxTxBytes (65,510 bytes), and 8 KiB is left for the payload header and signatures.
const MaxBodyBytes = ipledger.MaxTxBytes - 8<<10

// Pool is a registry's depth-0 holding at genesis. The pools given to PlanImport cover the
// IPv4, IPv6 and AS number spaces exactly. IANA holds unallocated space (StatusIANAPool) and
// special-purpose space (StatusReserved, which never moves); the RIRs hold StatusRIRPool.
type Pool = ipledger.Pool

// Step is one transaction to build: its kind, the registries that sign it in signing order
// (for a registry transfer: From, then To) and its body, one of *ipledger.RegistryTransferBody,
// *ipledger.RegisterOrgBody or *ipledger.AllocateBody.
type Step struct {
	Kind    ipledger.Kind
	Signers []string
	Body    any
}

// Items returns the number of items (or organisations) in the step's body.
func (s Step) Items() int {
	switch b := s.Body.(type) {
	case *ipledger.RegistryTransferBody:
		return len(b.Items)
	case *ipledger.RegisterOrgBody:
		return len(b.Orgs)
	case *ipledger.AllocateBody:
		return len(b.Items)
	}
	return 0
}

// Options tune PlanImport. The zero Options plans leniently with the ledger's limits.
type Options struct {
	// Strict makes the first flaw fatal: a flaw of an input file or a record the planner
	// has to skip.
	Strict bool
	// MaxBodyBytes bounds each step's JSON body; 0 means MaxBodyBytes.
	MaxBodyBytes int
	// MaxItems bounds each step's items; 0 means ipledger.MaxBatchItems.
	MaxItems int
}

// Plan is the ordered work of importing one date: Steps to sign and submit in order, the
// records the planner skipped (Flaws, by file and line) and the counts.
type Plan struct {
	Steps []Step
	Flaws []Flaw
	Stats Stats
}

// Stats counts what an import does. Records = Holdings + NotHoldings + Rejected.
type Stats struct {
	Records     int // good records read, of every status
	Holdings    int // allocations planned
	NotHoldings int // available and reserved records, and the IANA file's records
	PoolPieces  int // of NotHoldings, an RIR's available and reserved records planned as its pool space
	Rejected    int // records the planner skipped as flaws (overlaps, special-purpose space)
	Skipped     int // flaws of every kind: lines the parser skipped, bad counts, rejected records
	Orgs        int // organisations registered
	Transfers   int // registry-transfer items (parts of records that had to move, merged)
	Files       []FileStats
}

// FileStats are the counts of one file.
type FileStats struct {
	Path        string
	Registry    string
	Records     int
	Holdings    int
	NotHoldings int
	PoolPieces  int // available and reserved records planned as pool space
	Rejected    int
	Flaws       int // the parser's and the planner's
	Transfers   int // parts of its records that had to move (adjacent parts move as one item)
}

// PlanImport turns the parsed files of one date into the ordered steps that put them on a
// ledger whose genesis pools are pools. Each registry's records (IANA's included) must come
// from one file: the registry's own, or the NRO's combined file. The steps are:
//
//  1. registry transfers, so every record's space is in its registry's pool: first those
//     that make the pools match IANA's file, then those the RIRs' records need (space of
//     another registry, IANA's unallocated pool included). A transfer moves exactly the
//     parts not already in the record's registry, and comes in an earlier step than any
//     transfer that depends on it. Each step carries one (from, to) pair.
//  2. register-org steps, per registry: one keyless organisation per opaque id (extended
//     files), else one per record.
//  3. allocate steps, per registry: its allocated and assigned records as holdings
//     (ipledger.StatusAllocated, ipledger.StatusAssigned: the words of the file), and its
//     available and reserved records as items naming the registry itself, which mark
//     that space of its pool ipledger.StatusAvailable or ipledger.StatusReserved.
//
// Records are taken in order: IANA's file, then each RIR's allocated and assigned records
// that lie in its own pool, then the others, then the same for available and reserved
// records, so where two registries list the same space the one whose pool has it wins,
// and a holding wins over another registry's spare space. IANA's own available and
// reserved records change nothing: genesis has IANA's space from IANA's registries. A
// record touching special-purpose space, or overlapping a record taken before it, is a
// flaw: reported, skipped and counted. The result depends only on the
// input. It fails on pools that do not cover each space exactly, on records of one registry
// in two files, and with opt.Strict on the first flaw.
func PlanImport(files []*File, pools []Pool, opt Options) (*Plan, error) {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = MaxBodyBytes
	}
	if opt.MaxItems <= 0 {
		opt.MaxItems = ipledger.MaxBatchItems
	}
	p := &planner{
		opt:    opt,
		orgOf:  map[string]string{},
		used:   map[string]bool{},
		orgs:   map[string][]ipledger.NewOrg{},
		allocs: map[string][]ipledger.AllocateItem{},
	}
	for _, r := range ipledger.Registries {
		p.used[r] = true
	}
	if err := p.setPools(pools); err != nil {
		return nil, err
	}
	p.nextPool = len(pools)
	// Each registry's records come from one file: its own, or the NRO's combined file.
	type source struct {
		file  int
		recs  []*Record
		spare []*Record // available and reserved
	}
	byReg := map[string]*source{}
	p.stats = make([]FileStats, len(files))
	tags := make([]string, len(files))
	for i, f := range files {
		if f == nil {
			return nil, fmt.Errorf("plan import: file %d is nil", i)
		}
		if opt.Strict && len(f.Flaws) > 0 {
			return nil, f.Flaws[0]
		}
		p.stats[i] = FileStats{
			Path: f.Path, Registry: f.Registry,
			Records: len(f.Records) + f.NotHoldings, NotHoldings: f.NotHoldings, Flaws: len(f.Flaws),
		}
		p.skipped += len(f.Flaws)
		tags[i] = fileTag(f)
		add := func(rec *Record, spare bool) error {
			src := byReg[rec.Registry]
			switch {
			case src == nil && !slices.Contains(ipledger.Registries, rec.Registry):
				return fmt.Errorf("plan import: %s:%d: unknown registry %q", rec.File, rec.Line, rec.Registry)
			case src == nil:
				src = &source{file: i, recs: make([]*Record, 0, len(f.Records))}
				byReg[rec.Registry] = src
			case src.file != i:
				return fmt.Errorf("plan import: %s and %s both have records of %s; import one file per registry",
					files[src.file].Path, f.Path, rec.Registry)
			}
			if spare {
				src.spare = append(src.spare, rec)
			} else {
				src.recs = append(src.recs, rec)
			}
			return nil
		}
		for k := range f.Records {
			if err := add(&f.Records[k], false); err != nil {
				return nil, err
			}
		}
		for k := range f.Spare {
			// IANA's available and reserved space is genesis's, from IANA's registries.
			if f.Spare[k].Registry == ipledger.IANA {
				continue
			}
			if err := add(&f.Spare[k], true); err != nil {
				return nil, err
			}
		}
	}

	// Size the outputs at once: growing slices of 10^5 items is most of the work otherwise.
	for _, reg := range ipledger.Registries {
		if src := byReg[reg]; src != nil {
			n := len(src.recs) + len(src.spare)
			p.orgs[reg] = make([]ipledger.NewOrg, 0, n)
			p.allocs[reg] = make([]ipledger.AllocateItem, 0, n)
			p.refs = slices.Grow(p.refs, n)
			p.pieces = slices.Grow(p.pieces, n)
		}
	}
	if src := byReg[ipledger.IANA]; src != nil {
		for _, rec := range src.recs {
			p.ianaRecord(rec, &p.stats[src.file])
			if p.stop != nil {
				return nil, p.stop
			}
		}
	}
	type pending struct {
		rec  *Record
		file int
	}
	later := make([]pending, 0, cap(p.pieces))
	for _, reg := range ipledger.RIRs {
		src := byReg[reg]
		if src == nil {
			continue
		}
		for _, rec := range src.recs {
			switch {
			case !rec.Holding():
				p.stats[src.file].NotHoldings++
			case p.native(rec):
				p.holding(rec, &p.stats[src.file], tags[src.file])
			default:
				later = append(later, pending{rec, src.file})
			}
			if p.stop != nil {
				return nil, p.stop
			}
		}
	}
	for _, l := range later {
		p.holding(l.rec, &p.stats[l.file], tags[l.file])
		if p.stop != nil {
			return nil, p.stop
		}
	}
	later = later[:0]
	for _, reg := range ipledger.RIRs {
		src := byReg[reg]
		if src == nil {
			continue
		}
		for _, rec := range src.spare {
			if p.native(rec) {
				p.poolSpace(rec, &p.stats[src.file])
			} else {
				later = append(later, pending{rec, src.file})
			}
			if p.stop != nil {
				return nil, p.stop
			}
		}
	}
	for _, l := range later {
		p.poolSpace(l.rec, &p.stats[l.file])
		if p.stop != nil {
			return nil, p.stop
		}
	}
	return p.plan()
}

// fileTag is the part of an imported organisation's name that says where it came from.
func fileTag(f *File) string {
	var s []string
	if f.Header.EndDate != "" {
		s = append(s, "of "+f.Header.EndDate)
	}
	if f.Header.Serial != "" {
		s = append(s, "serial "+clip(f.Header.Serial, 32))
	}
	if len(s) == 0 {
		return ""
	}
	return " " + strings.Join(s, ", ")
}

type planner struct {
	opt       Options
	pools     [4]poolMap
	ianaClaim [4]spanSet // IANA's records
	claim     [4]spanSet // the RIRs' holdings
	refs      []*Record  // what claims point to
	pieces    []piece
	nextPool  int               // pool ids for space that moved
	orgOf     map[string]string // registry NUL opaque id → handle
	used      map[string]bool   // handles taken
	orgs      map[string][]ipledger.NewOrg
	allocs    map[string][]ipledger.AllocateItem
	flaws     []Flaw
	stats     []FileStats
	skipped   int
	stop      error
}

// piece is a part of a record's space that must move from one registry's pool to another's.
type piece struct {
	fam      ipledger.Family
	lo, hi   ipledger.Number
	from, to string
	lvl      int // batch level: after every transfer that moved any of this space before
	src      int // the segment's pool id: adjacent pieces of one pool may move as one item
}

// setPools loads the genesis pools, which must cover each family exactly.
func (p *planner) setPools(pools []Pool) error {
	sorted := slices.Clone(pools)
	slices.SortStableFunc(sorted, func(a, b Pool) int { return a.Resource.Compare(b.Resource) })
	for i, pl := range sorted {
		fam := famIndex(pl.Resource.Family())
		if fam == 0 {
			return fmt.Errorf("plan import: pool %d has no resource", i)
		}
		if !slices.Contains(ipledger.Registries, pl.Registry) {
			return fmt.Errorf("plan import: pool %s: unknown registry %q", pl.Resource, pl.Registry)
		}
		lo, hi := pl.Resource.Bounds()
		m := &p.pools[fam]
		if n := len(m.segs); n == 0 {
			if lo != (ipledger.Number{}) {
				return fmt.Errorf("plan import: pools of %s do not start at the beginning of the space (%s)", pl.Resource.Family(), pl.Resource)
			}
		} else if next, ok := m.segs[n-1].hi.Next(); !ok || next != lo {
			prev, _ := ipledger.RangeOf(pl.Resource.Family(), m.segs[n-1].lo, m.segs[n-1].hi)
			return fmt.Errorf("plan import: pools %s and %s are not adjacent", prev, pl.Resource)
		}
		m.segs = append(m.segs, seg{lo: lo, hi: hi, reg: pl.Registry, status: pl.Status, pool: i + 1})
	}
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6, ipledger.ASN} {
		m := p.pools[famIndex(f)]
		_, whole := ipledger.Whole(f).Bounds()
		if len(m.segs) == 0 || m.segs[len(m.segs)-1].hi != whole {
			return fmt.Errorf("plan import: pools do not cover the whole %s space", f)
		}
	}
	return nil
}

// reject records a flaw for rec, which the planner skips.
func (p *planner) reject(rec *Record, fs *FileStats, format string, args ...any) {
	fl := Flaw{File: rec.File, Line: rec.Line, Msg: fmt.Sprintf(format, args...)}
	p.flaws = append(p.flaws, fl)
	fs.Rejected++
	fs.Flaws++
	if p.opt.Strict && p.stop == nil {
		p.stop = fl
	}
}

// where names the record behind a claim, for messages.
func (p *planner) where(c claim) string {
	r := p.refs[c.ref]
	return fmt.Sprintf("%s of %s:%d", r.Resource, r.File, r.Line)
}

// ianaRecord applies one record of IANA's file: space it puts under an RIR moves there.
func (p *planner) ianaRecord(rec *Record, fs *FileStats) {
	fam := famIndex(rec.Resource.Family())
	if fam == 0 {
		p.reject(rec, fs, "record has no resource")
		return
	}
	lo, hi := rec.Resource.Bounds()
	if c, ok := p.ianaClaim[fam].overlap(lo, hi); ok {
		p.reject(rec, fs, "%s overlaps %s", rec.Resource, p.where(c))
		return
	}
	// Special-purpose blocks inside a block IANA gave an RIR stay IANA's: IANA's registries
	// carve them out (192.0.2.0/24 out of 192/8), so that is not a flaw.
	if to := rec.Under(); to != "" && to != ipledger.IANA {
		segs := slices.Clone(p.pools[fam].overlapping(lo, hi))
		for _, s := range segs {
			if s.reg == to || s.special() {
				continue
			}
			a, b := maxNum(s.lo, lo), minNum(s.hi, hi)
			p.transfer(ipledger.Family(fam), a, b, s, to, fs)
			p.nextPool++
			p.pools[fam].assign(a, b, seg{reg: to, status: ipledger.StatusRIRPool, lvl: s.lvl + 1, pool: p.nextPool})
		}
	}
	p.ianaClaim[fam].insert(claim{lo: lo, hi: hi, ref: len(p.refs)})
	p.refs = append(p.refs, rec)
	fs.NotHoldings++
}

// native reports whether rec lies in one pool of its own registry as it stands.
func (p *planner) native(rec *Record) bool {
	fam := famIndex(rec.Resource.Family())
	if fam == 0 {
		return false
	}
	lo, hi := rec.Resource.Bounds()
	segs := p.pools[fam].overlapping(lo, hi)
	return len(segs) == 1 && segs[0].reg == rec.Registry && !segs[0].special()
}

// holding plans one RIR allocated or assigned record: the transfers its space needs, its
// organisation and its allocation, with the record's own word as its status.
func (p *planner) holding(rec *Record, fs *FileStats, tag string) {
	if !p.take(rec, fs) {
		return
	}
	org := p.org(rec, tag)
	st := ipledger.StatusAllocated
	if rec.Status == StatusAssigned {
		st = ipledger.StatusAssigned
	}
	p.allocs[rec.Registry] = append(p.allocs[rec.Registry], ipledger.AllocateItem{
		Resource: rec.Resource, Org: org, Status: st, Country: rec.Country, Registered: rec.Date,
	})
	fs.Holdings++
}

// poolSpace plans one RIR available or reserved record: the transfers its space needs and
// the item that marks it in the registry's pool. A record the planner skips counts as
// rejected instead of not a holding.
func (p *planner) poolSpace(rec *Record, fs *FileStats) {
	if !p.take(rec, fs) {
		fs.NotHoldings--
		return
	}
	st := ipledger.StatusAvailable
	if rec.Status == StatusReserved {
		st = ipledger.StatusReserved
	}
	p.allocs[rec.Registry] = append(p.allocs[rec.Registry], ipledger.AllocateItem{
		Resource: rec.Resource, Org: rec.Registry, Status: st, Registered: rec.Date,
	})
	fs.PoolPieces++
}

// take checks an RIR record against the pools and the records taken before it and queues
// the transfers that bring its space into its registry's pool. It reports false when it
// rejected the record as a flaw.
func (p *planner) take(rec *Record, fs *FileStats) bool {
	fam := famIndex(rec.Resource.Family())
	if fam == 0 {
		p.reject(rec, fs, "record has no resource")
		return false
	}
	if len(rec.OpaqueID) > ipledger.MaxOpaqueID {
		p.reject(rec, fs, "opaque id is %d bytes; the ledger keeps at most %d", len(rec.OpaqueID), ipledger.MaxOpaqueID)
		return false
	}
	if !ipledger.ValidCountry(rec.Country) {
		p.reject(rec, fs, "country %q is not two letters A-Z", rec.Country)
		return false
	}
	lo, hi := rec.Resource.Bounds()
	segs := p.pools[fam].overlapping(lo, hi)
	for _, s := range segs {
		if s.special() {
			p.reject(rec, fs, "%s touches special-purpose space %s", rec.Resource, p.segResource(fam, s))
			return false
		}
	}
	if c, ok := p.claim[fam].overlap(lo, hi); ok {
		p.reject(rec, fs, "%s overlaps %s", rec.Resource, p.where(c))
		return false
	}
	// After the transfers, every part must be in one pool of the registry: parts that move
	// join their neighbours of the same status; two pools that were apart at genesis and
	// never moved stay apart.
	for i := 1; i < len(segs); i++ {
		a, b := segs[i-1], segs[i]
		sa, ma := finalStatus(a, rec.Registry)
		sb, mb := finalStatus(b, rec.Registry)
		if sa != sb || !(ma || mb || a.pool == b.pool) {
			p.reject(rec, fs, "%s needs %s (%s) and %s (%s) in one pool of %s; the ledger keeps them apart",
				rec.Resource, p.segResource(fam, a), sa, p.segResource(fam, b), sb, rec.Registry)
			return false
		}
	}
	p.claim[fam].insert(claim{lo: lo, hi: hi, ref: len(p.refs)})
	p.refs = append(p.refs, rec)
	for _, s := range segs {
		if s.reg != rec.Registry {
			p.transfer(ipledger.Family(fam), maxNum(s.lo, lo), minNum(s.hi, hi), s, rec.Registry, fs)
		}
	}
	return true
}

// special reports whether s is IANA's special-purpose space, which never moves. (An RIR's
// reserved space has the same status word, but the planner's segments never carry it:
// genesis gives RIRs ordinary pools, and marks come after every transfer.)
func (s seg) special() bool { return s.reg == ipledger.IANA && s.status == ipledger.StatusReserved }

// finalStatus is the status a segment's space has in reg's pools once the record's
// transfers are done, and whether it moved (a moved piece merges with its neighbours).
func finalStatus(s seg, reg string) (ipledger.Status, bool) {
	if s.reg != reg {
		return ipledger.StatusRIRPool, true
	}
	return s.status, s.lvl > 0
}

func (p *planner) segResource(fam int, s seg) ipledger.Resource {
	r, _ := ipledger.RangeOf(ipledger.Family(fam), s.lo, s.hi)
	return r
}

func maxNum(a, b ipledger.Number) ipledger.Number {
	if a.Less(b) {
		return b
	}
	return a
}

func minNum(a, b ipledger.Number) ipledger.Number {
	if a.Less(b) {
		return a
	}
	return b
}

// transfer queues moving lo..hi, part of segment s, to registry to.
func (p *planner) transfer(f ipledger.Family, lo, hi ipledger.Number, s seg, to string, fs *FileStats) {
	p.pieces = append(p.pieces, piece{fam: f, lo: lo, hi: hi, from: s.reg, to: to, lvl: s.lvl + 1, src: s.pool})
	fs.Transfers++
}

// org returns the handle of the organisation holding rec, registering it on first use.
func (p *planner) org(rec *Record, tag string) string {
	key := ""
	if rec.OpaqueID != "" {
		key = rec.Registry + "\x00" + rec.OpaqueID
		if h, ok := p.orgOf[key]; ok {
			return h
		}
	}
	var base, name string
	if s := sanitize(rec.OpaqueID); s != "" {
		base = rec.Registry + "-" + s
	} else {
		// Zero-padded, so handles sort in file order and each batch of organisations lands
		// in one contiguous stretch of the state tree.
		base = fmt.Sprintf("%s-R%07d", rec.Registry, rec.Line)
	}
	if rec.OpaqueID != "" {
		name = fmt.Sprintf("Holder of record %s (imported from %s delegated statistics%s)", rec.OpaqueID, rec.Registry, tag)
	} else {
		name = fmt.Sprintf("Holder of %s (imported from %s delegated statistics%s)", rec.Resource, rec.Registry, tag)
	}
	h := p.unique(base)
	p.orgs[rec.Registry] = append(p.orgs[rec.Registry], ipledger.NewOrg{
		Handle: h, Name: clip(name, ipledger.MaxNameBytes), Country: rec.Country, OpaqueID: rec.OpaqueID,
	})
	if key != "" {
		p.orgOf[key] = h
	}
	return h
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sanitize turns an opaque id into handle characters: upper-case letters and digits, every
// other run of characters one hyphen, none at the ends.
func sanitize(s string) string {
	var b strings.Builder
	hyphen := false
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unique returns base, or base with a numeric suffix, that no organisation has yet, at most
// 64 characters long. Over-long bases keep a hash of the whole so they stay distinct.
func (p *planner) unique(base string) string {
	const maxLen = 64
	if len(base) > maxLen {
		h := fnv.New32a()
		h.Write([]byte(base))
		base = strings.TrimRight(base[:maxLen-9], "-") + "-" + fmt.Sprintf("%08X", h.Sum32())
	}
	handle := base
	for n := 2; p.used[handle]; n++ {
		suf := "-" + strconv.Itoa(n)
		b := base
		if len(b)+len(suf) > maxLen {
			b = strings.TrimRight(b[:maxLen-len(suf)], "-")
		}
		handle = b + suf
	}
	p.used[handle] = true
	return handle
}

// plan orders and batches what the records asked for.
func (p *planner) plan() (*Plan, error) {
	out := &Plan{Flaws: p.flaws}
	sortFlaws(out.Flaws)

	// Transfers: by level (a transfer touching space an earlier one moved comes in a later
	// level; within a level none overlap, so their order does not matter), then by pair.
	ps := p.pieces
	slices.SortFunc(ps, func(a, b piece) int {
		return cmp.Or(cmp.Compare(a.lvl, b.lvl), strings.Compare(a.from, b.from), strings.Compare(a.to, b.to),
			cmp.Compare(a.fam, b.fam), a.lo.Compare(b.lo))
	})
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].lvl == ps[i].lvl && ps[j].from == ps[i].from && ps[j].to == ps[i].to {
			j++
		}
		items, err := transferItems(ps[i:j])
		if err != nil {
			return nil, err
		}
		batches, err := batch(items, p.opt, &ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{}})
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			out.Steps = append(out.Steps, Step{
				Kind: ipledger.KindRegistryTransfer, Signers: []string{ps[i].from, ps[i].to},
				Body: &ipledger.RegistryTransferBody{Items: b},
			})
		}
		out.Stats.Transfers += len(items)
		i = j
	}
	for _, reg := range ipledger.RIRs {
		// Registered in handle order: each batch then writes one contiguous key range of the
		// authenticated tree, which costs it a fraction of scattered writes.
		slices.SortFunc(p.orgs[reg], func(a, b ipledger.NewOrg) int { return strings.Compare(a.Handle, b.Handle) })
		batches, err := batch(p.orgs[reg], p.opt, &ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{}})
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			out.Steps = append(out.Steps, Step{Kind: ipledger.KindRegisterOrg, Signers: []string{reg}, Body: &ipledger.RegisterOrgBody{Orgs: b}})
		}
		out.Stats.Orgs += len(p.orgs[reg])
	}
	for _, reg := range ipledger.RIRs {
		batches, err := batch(p.allocs[reg], p.opt, &ipledger.AllocateBody{Items: []ipledger.AllocateItem{}})
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			out.Steps = append(out.Steps, Step{Kind: ipledger.KindAllocate, Signers: []string{reg}, Body: &ipledger.AllocateBody{Items: b}})
		}
	}
	out.Stats.Files = p.stats
	out.Stats.Skipped = p.skipped + len(p.flaws)
	for _, fs := range p.stats {
		out.Stats.Records += fs.Records
		out.Stats.Holdings += fs.Holdings
		out.Stats.NotHoldings += fs.NotHoldings
		out.Stats.PoolPieces += fs.PoolPieces
		out.Stats.Rejected += fs.Rejected
	}
	return out, nil
}

// transferItems turns the pieces of one level and (from, to) pair, sorted by family and
// start, into transfer items. Adjacent pieces cut from one pool move as one item: at this
// level that space is all in one pool of from, and a contiguous part of it stays inside one
// pool whatever else the level carves out of it. IPv6 space moves as prefixes: the ledger
// holds it so, and a prefix inside a pool's remainder lies inside one of its prefixes.
func transferItems(ps []piece) ([]ipledger.RegistryTransferItem, error) {
	var out []ipledger.RegistryTransferItem
	for i := 0; i < len(ps); {
		run := ps[i]
		j := i + 1
		for ; j < len(ps); j++ {
			next, ok := run.hi.Next()
			if !ok || ps[j].fam != run.fam || ps[j].src != run.src || ps[j].lo != next {
				break
			}
			run.hi = ps[j].hi
		}
		r, err := ipledger.RangeOf(run.fam, run.lo, run.hi)
		if err != nil {
			return nil, fmt.Errorf("plan import: transfer of %s space: %w", run.fam, err)
		}
		parts := []ipledger.Resource{r}
		if run.fam == ipledger.IPv6 {
			parts = parts[:0]
			for _, q := range r.Prefixes() {
				pr, err := ipledger.PrefixResource(q)
				if err != nil {
					return nil, fmt.Errorf("plan import: transfer of %s: %w", q, err)
				}
				parts = append(parts, pr)
			}
		}
		for _, r := range parts {
			out = append(out, ipledger.RegistryTransferItem{Resource: r, From: run.from, To: run.to})
		}
		i = j
	}
	return out, nil
}

// batch cuts items into runs that fit one body each: at most opt.MaxItems items and
// opt.MaxBodyBytes bytes of JSON. empty is the body with no items; each item adds its own
// JSON and a comma, so the size of a run is known without encoding it again.
func batch[T any](items []T, opt Options, empty any) ([][]T, error) {
	e, err := json.Marshal(empty)
	if err != nil {
		return nil, fmt.Errorf("plan import: encode body: %w", err)
	}
	overhead := len(e)
	var out [][]T
	start, size := 0, overhead
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("plan import: encode item: %w", err)
		}
		if overhead+len(b) > opt.MaxBodyBytes {
			return nil, fmt.Errorf("plan import: an item of %d bytes does not fit a body of %d", len(b), opt.MaxBodyBytes)
		}
		add := len(b)
		if i > start {
			add++ // the comma before it
		}
		if i-start == opt.MaxItems || size+add > opt.MaxBodyBytes {
			out = append(out, items[start:i:i])
			start, size, add = i, overhead, len(b)
		}
		size += add
	}
	if start < len(items) {
		out = append(out, items[start:])
	}
	return out, nil
}
