package vrp

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ASPA is a validated Autonomous System Provider Authorization
// (draft-ietf-sidrops-aspa-profile) as rpki-client writes it: AS Customer names Providers
// as its upstream providers, for both address families. The zero ASPA is not valid (it
// names no provider).
//
// A Set holds one ASPA per customer AS: ASPAs of one customer merge into one whose
// providers are the union of theirs (the verification draft's rule for several ASPA
// objects of one customer). Their identity, for Diff, is the customer with its providers,
// so that a change of providers withdraws the old ASPA and announces the new one.
type ASPA struct {
	Customer uint32
	// Providers are the provider ASes, ascending and without repeats once in a Set.
	Providers []uint32
	Expires   time.Time // zero: not known
	Source    string
}

// MaxProviders bounds an ASPA's providers so that its RTR PDU (16 bytes and 4 per
// provider) stays within 64 KiB.
const MaxProviders = (1<<16 - 16) / 4

// Validate reports why a cannot be served, or nil: no providers, too many, or the customer
// among them (draft-ietf-sidrops-aspa-profile: the customer AS must not be its own
// provider).
func (a ASPA) Validate() error {
	switch {
	case len(a.Providers) == 0:
		return fmt.Errorf("aspa of AS%d has no providers", a.Customer)
	case len(a.Providers) > MaxProviders:
		return fmt.Errorf("aspa of AS%d has %d providers (at most %d)", a.Customer, len(a.Providers), MaxProviders)
	case slices.Contains(a.Providers, a.Customer):
		return fmt.Errorf("aspa of AS%d names the customer as its own provider", a.Customer)
	}
	return nil
}

// String formats a as "AS64496 → AS64497,AS64498".
func (a ASPA) String() string {
	var b strings.Builder
	b.WriteString("AS" + strconv.FormatUint(uint64(a.Customer), 10) + " →")
	for i, p := range a.Providers {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(",")
		}
		b.WriteString("AS" + strconv.FormatUint(uint64(p), 10))
	}
	return b.String()
}

// aspaRec is a stored ASPA: the providers packed big-endian, 4 bytes each, ascending and
// without repeats (a string keeps the record comparable and its ordering bytewise).
type aspaRec struct {
	customer uint32
	exp      uint32
	src      uint16
	prov     string
}

func (a aspaRec) cmpID(b aspaRec) int {
	if c := cmp.Compare(a.customer, b.customer); c != 0 {
		return c
	}
	return cmp.Compare(a.prov, b.prov)
}
func (a aspaRec) expiry() uint32              { return a.exp }
func (a aspaRec) source() uint16              { return a.src }
func (a aspaRec) withSource(s uint16) aspaRec { a.src = s; return a }

// record is a in wire form; it needs no sources, but takes them to serve each.
func (a aspaRec) record([]string) ASPARecord {
	return ASPARecord{Customer: a.customer, Providers: a.prov}
}

func (a aspaRec) aspa(sources []string) ASPA {
	return ASPA{Customer: a.customer, Providers: a.providers(), Expires: expiryTime(a.exp), Source: sourceName(sources, a.src)}
}

func (a aspaRec) providers() []uint32 {
	ps := make([]uint32, len(a.prov)/4)
	for i := range ps {
		ps[i] = binary.BigEndian.Uint32([]byte(a.prov[4*i : 4*i+4]))
	}
	return ps
}

// packProviders sorts and deduplicates ps into the stored form.
func packProviders(ps []uint32) string {
	ps = slices.Clone(ps)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	b := make([]byte, 0, 4*len(ps))
	for _, p := range ps {
		b = binary.BigEndian.AppendUint32(b, p)
	}
	return string(b)
}

// mergeCustomers folds the adjacent records of one customer (rs is in identity order)
// into one with the union of their providers, the later expiry and the first's source;
// the result is capped at MaxProviders providers. rs itself when every customer is once.
func mergeCustomers(rs []aspaRec) []aspaRec {
	dup := false
	for i := 1; i < len(rs); i++ {
		if rs[i].customer == rs[i-1].customer {
			dup = true
			break
		}
	}
	if !dup {
		return rs
	}
	out := make([]aspaRec, 0, len(rs))
	for _, r := range rs {
		n := len(out)
		if n == 0 || out[n-1].customer != r.customer {
			out = append(out, r)
			continue
		}
		last := &out[n-1]
		ps := append(last.providers(), r.providers()...)
		if len(ps) > MaxProviders {
			ps = ps[:MaxProviders]
		}
		last.prov = packProviders(ps)
		if laterExpiry(r.exp, last.exp) {
			last.exp = r.exp
		}
	}
	return slices.Clip(out)
}

// ASPALen returns the number of ASPAs (customer ASes) in s.
func (s *Set) ASPALen() int {
	if s == nil {
		return 0
	}
	return len(s.aspas)
}

// ASPAs yields the ASPAs of s by customer AS.
func (s *Set) ASPAs() iter.Seq[ASPA] {
	return func(yield func(ASPA) bool) {
		if s != nil {
			each(s.aspas, s.sources, aspaRec.aspa, yield)
		}
	}
}

// ASPARecord is an ASPA in wire form, as ASPARecords yields it: Providers holds the
// provider ASes big-endian, 4 bytes each, ascending.
type ASPARecord struct {
	Customer  uint32
	Providers string
}

// ASPARecords yields the ASPAs of s by customer AS without decoding their providers: the
// fast path for encoding.
func (s *Set) ASPARecords() iter.Seq[ASPARecord] {
	return func(yield func(ASPARecord) bool) {
		if s != nil {
			each(s.aspas, nil, aspaRec.record, yield)
		}
	}
}

// AddASPA adds a, or returns why a is not valid (see ASPA.Validate).
func (b *Builder) AddASPA(a ASPA) error {
	src, err := b.validSource(a.Validate(), a.Source)
	if err != nil {
		return err
	}
	b.aspas = append(b.aspas, aspaRec{customer: a.Customer, exp: unixExpiry(a.Expires), src: src, prov: packProviders(a.Providers)})
	return nil
}
