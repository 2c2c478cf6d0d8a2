package vrp

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// SLURM is a set of local exceptions to RPKI data (RFC 8416): filters that remove VRPs and
// router keys, and assertions that add them. The zero SLURM changes nothing.
type SLURM struct {
	PrefixFilters    []PrefixFilter
	BGPsecFilters    []BGPsecFilter
	PrefixAssertions []PrefixAssertion
	BGPsecAssertions []BGPsecAssertion
}

// PrefixFilter removes the VRPs whose prefix lies within Prefix (when valid) and whose AS
// is ASN (when HasASN) — RFC 8416 §3.3.1. At least one of the two is set.
type PrefixFilter struct {
	Prefix  netip.Prefix // the zero Prefix matches every prefix
	ASN     uint32
	HasASN  bool
	Comment string
}

// Match reports whether f removes v.
func (f PrefixFilter) Match(v VRP) bool {
	if f.HasASN && v.ASN != f.ASN {
		return false
	}
	if f.Prefix.IsValid() {
		a := v.Prefix.Addr()
		if a.Is4() != f.Prefix.Addr().Is4() || v.Prefix.Bits() < f.Prefix.Bits() || !f.Prefix.Contains(a) {
			return false
		}
	}
	return true
}

// BGPsecFilter removes the router keys of AS ASN (when HasASN) with Subject Key Identifier
// SKI (when HasSKI) — RFC 8416 §3.3.2. At least one of the two is set.
type BGPsecFilter struct {
	ASN     uint32
	HasASN  bool
	SKI     [20]byte
	HasSKI  bool
	Comment string
}

// Match reports whether f removes k.
func (f BGPsecFilter) Match(k RouterKey) bool {
	return (!f.HasASN || k.ASN == f.ASN) && (!f.HasSKI || k.SKI == f.SKI)
}

// PrefixAssertion adds a VRP — RFC 8416 §3.4.1. MaxLength is the prefix length when the
// file gives no maxPrefixLength.
type PrefixAssertion struct {
	Prefix    netip.Prefix
	MaxLength uint8
	ASN       uint32
	Comment   string
}

// BGPsecAssertion adds a router key — RFC 8416 §3.4.2.
type BGPsecAssertion struct {
	ASN       uint32
	SKI       [20]byte
	PublicKey []byte // DER SubjectPublicKeyInfo
	Comment   string
}

// SourceSLURM is the Source of entries added by SLURM assertions.
const SourceSLURM = "slurm"

// Apply returns s with the filters applied, then the assertions added (RFC 8416 §4.2:
// assertions are not filtered). A nil sl returns s.
func (sl *SLURM) Apply(s *Set) *Set {
	if sl == nil {
		return s
	}
	s = s.Filter(noneMatch[VRP](sl.PrefixFilters), noneMatch[RouterKey](sl.BGPsecFilters))
	if len(sl.PrefixAssertions) == 0 && len(sl.BGPsecAssertions) == 0 {
		return s
	}
	return s.Union(sl.assertions())
}

// noneMatch is the Filter predicate that keeps what none of filters matches, or nil (keep
// all) when there are none.
func noneMatch[T any, F interface{ Match(T) bool }](filters []F) func(T) bool {
	if len(filters) == 0 {
		return nil
	}
	return func(x T) bool {
		for _, f := range filters {
			if f.Match(x) {
				return false
			}
		}
		return true
	}
}

// assertions returns the set the assertions add (validated when read).
func (sl *SLURM) assertions() *Set {
	var b Builder
	src, _ := b.sourceIndex([]byte(SourceSLURM))
	for _, a := range sl.PrefixAssertions {
		b.add(VRP{Prefix: a.Prefix, MaxLength: a.MaxLength, ASN: a.ASN}, src)
	}
	for _, a := range sl.BGPsecAssertions {
		b.keys = append(b.keys, keyRec{asn: a.ASN, src: src, ski: a.SKI, spki: string(a.PublicKey)})
	}
	return b.Set()
}

// ReadSLURM reads a SLURM file (RFC 8416) and checks it as the RFC requires: slurmVersion 1;
// all four lists present; members named exactly as in the RFC, none unknown or repeated;
// a filter names a prefix or an AS (prefix filters) or an AS or an SKI (BGPsec filters);
// prefixes masked; maxPrefixLength from the prefix length to the address length; SKIs of
// 20 bytes and public keys that parse as a SubjectPublicKeyInfo, both in base64url without
// padding (RFC 4648 §5). Errors are *PosError.
func ReadSLURM(r io.Reader) (*SLURM, error) {
	sc := newScanner(r)
	sl := &SLURM{}
	var version, filters, assertions bool
	top := sc.mark()
	err := sc.object(func(key []byte, at mark) error {
		switch string(key) {
		case "slurmVersion":
			if version {
				return sc.errAt(at, nil, "slurmVersion given twice")
			}
			version = true
			vm := sc.mark()
			v, err := sc.uint("slurmVersion", 1<<31)
			if err != nil {
				return err
			}
			if v != 1 {
				return sc.errAt(vm, nil, "slurmVersion %d: only version 1 is defined (RFC 8416 §3.2)", v)
			}
			return nil
		case "validationOutputFilters":
			if filters {
				return sc.errAt(at, nil, "validationOutputFilters given twice")
			}
			filters = true
			return readSLURMFilters(sc, sl)
		case "locallyAddedAssertions":
			if assertions {
				return sc.errAt(at, nil, "locallyAddedAssertions given twice")
			}
			assertions = true
			return readSLURMAssertions(sc, sl)
		}
		return sc.errAt(at, nil, "unknown member %q (RFC 8416 §3.2)", truncate(key))
	})
	if err != nil {
		return nil, err
	}
	if err := sc.finish(); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		ok   bool
		name string
	}{{version, "slurmVersion"}, {filters, "validationOutputFilters"}, {assertions, "locallyAddedAssertions"}} {
		if !m.ok {
			return nil, sc.errAt(top, nil, "no %s (RFC 8416 §3.2)", m.name)
		}
	}
	return sl, nil
}

// members reads an object whose members must all be among names, each at most once, and
// those flagged required present.
func slurmObject(sc *scanner, where string, names []string, required []bool, member func(name string) error) error {
	at := sc.mark()
	seen := make([]bool, len(names))
	err := sc.object(func(key []byte, kat mark) error {
		for i, n := range names {
			if string(key) == n {
				if seen[i] {
					return sc.errAt(kat, nil, "%s: %s given twice", where, n)
				}
				seen[i] = true
				return member(n)
			}
		}
		return sc.errAt(kat, nil, "%s: unknown member %q", where, truncate(key))
	})
	if err != nil {
		return err
	}
	for i, n := range names {
		if required[i] && !seen[i] {
			return sc.errAt(at, nil, "%s: no %s", where, n)
		}
	}
	return nil
}

// slurmList reads the array list of the object where, appending its elements to *dst: each
// an object of the members names (see slurmObject), read into a new T by member (given
// the element's place, w) and, when done is not nil, completed and checked by done (at is
// where the element starts).
func slurmList[T any](sc *scanner, where, list string, dst *[]T, names []string, required []bool,
	member func(e *T, w, name string) error, done func(e *T, w string, at mark) error) error {
	return sc.array(func(i int, at mark) error {
		w := where + "." + list + "[" + strconv.Itoa(i) + "]"
		var e T
		err := slurmObject(sc, w, names, required, func(n string) error { return member(&e, w, n) })
		if err == nil && done != nil {
			err = done(&e, w, at)
		}
		if err != nil {
			return err
		}
		*dst = append(*dst, e)
		return nil
	})
}

func readSLURMFilters(sc *scanner, sl *SLURM) error {
	const where = "validationOutputFilters"
	return slurmObject(sc, where, []string{"prefixFilters", "bgpsecFilters"}, []bool{true, true}, func(name string) error {
		if name == "prefixFilters" {
			return slurmList(sc, where, name, &sl.PrefixFilters, []string{"prefix", "asn", "comment"}, []bool{false, false, false},
				func(f *PrefixFilter, w, n string) (err error) {
					switch n {
					case "prefix":
						f.Prefix, err = slurmPrefix(sc, w)
					case "asn":
						f.HasASN = true
						f.ASN, err = slurmASN(sc, w)
					case "comment":
						f.Comment, err = slurmComment(sc, w)
					}
					return err
				},
				func(f *PrefixFilter, w string, at mark) error {
					if !f.Prefix.IsValid() && !f.HasASN {
						return sc.errAt(at, nil, "%s: a prefix filter needs a prefix or an asn (RFC 8416 §3.3.1)", w)
					}
					return nil
				})
		}
		return slurmList(sc, where, name, &sl.BGPsecFilters, []string{"asn", "SKI", "comment"}, []bool{false, false, false},
			func(f *BGPsecFilter, w, n string) (err error) {
				switch n {
				case "asn":
					f.HasASN = true
					f.ASN, err = slurmASN(sc, w)
				case "SKI":
					f.HasSKI = true
					f.SKI, err = slurmSKI(sc, w)
				case "comment":
					f.Comment, err = slurmComment(sc, w)
				}
				return err
			},
			func(f *BGPsecFilter, w string, at mark) error {
				if !f.HasASN && !f.HasSKI {
					return sc.errAt(at, nil, "%s: a BGPsec filter needs an asn or an SKI (RFC 8416 §3.3.2)", w)
				}
				return nil
			})
	})
}

func readSLURMAssertions(sc *scanner, sl *SLURM) error {
	const where = "locallyAddedAssertions"
	return slurmObject(sc, where, []string{"prefixAssertions", "bgpsecAssertions"}, []bool{true, true}, func(name string) error {
		if name == "prefixAssertions" {
			// maxPrefixLength is checked once the prefix is known, in done, which also
			// clears it for the next element.
			var (
				maxLen uint64
				maxM   *mark // where maxPrefixLength is; nil when not given
			)
			return slurmList(sc, where, name, &sl.PrefixAssertions, []string{"prefix", "asn", "maxPrefixLength", "comment"}, []bool{true, true, false, false},
				func(a *PrefixAssertion, w, n string) (err error) {
					switch n {
					case "prefix":
						a.Prefix, err = slurmPrefix(sc, w)
					case "asn":
						a.ASN, err = slurmASN(sc, w)
					case "maxPrefixLength":
						m := sc.mark()
						maxM = &m
						maxLen, err = sc.uint(w+": maxPrefixLength", 128)
					case "comment":
						a.Comment, err = slurmComment(sc, w)
					}
					return err
				},
				func(a *PrefixAssertion, w string, _ mark) error {
					at := maxM
					maxM = nil
					a.MaxLength = uint8(a.Prefix.Bits())
					if at == nil {
						return nil
					}
					if int(maxLen) < a.Prefix.Bits() || int(maxLen) > a.Prefix.Addr().BitLen() {
						return sc.errAt(*at, nil, "%s: maxPrefixLength %d outside %d..%d for %s (RFC 8416 §3.4.1)", w, maxLen, a.Prefix.Bits(), a.Prefix.Addr().BitLen(), a.Prefix)
					}
					a.MaxLength = uint8(maxLen)
					return nil
				})
		}
		return slurmList(sc, where, name, &sl.BGPsecAssertions, []string{"asn", "SKI", "routerPublicKey", "comment"}, []bool{true, true, true, false},
			func(a *BGPsecAssertion, w, n string) (err error) {
				switch n {
				case "asn":
					a.ASN, err = slurmASN(sc, w)
				case "SKI":
					a.SKI, err = slurmSKI(sc, w)
				case "routerPublicKey":
					a.PublicKey, err = slurmPublicKey(sc, w)
				case "comment":
					a.Comment, err = slurmComment(sc, w)
				}
				return err
			}, nil)
	})
}

func slurmPrefix(sc *scanner, where string) (netip.Prefix, error) {
	at := sc.mark()
	s, err := sc.str()
	if err != nil {
		return netip.Prefix{}, err
	}
	p, err := netip.ParsePrefix(string(s))
	if err != nil {
		return netip.Prefix{}, sc.errAt(at, err, "%s: prefix %q: %v", where, truncate(s), err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, sc.errAt(at, nil, "%s: prefix %s has bits set beyond its length (want %s)", where, p, p.Masked())
	}
	return p, nil
}

func slurmASN(sc *scanner, where string) (uint32, error) {
	v, err := sc.uint(where+": asn", 1<<32-1)
	return uint32(v), err
}

func slurmComment(sc *scanner, where string) (string, error) {
	at := sc.mark()
	c, err := sc.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", sc.errAt(at, nil, "%s: comment must be a string", where)
	}
	s, err := sc.str()
	return string(s), err
}

// slurmBase64 decodes base64url without padding (RFC 8416 §3.3.2 and §3.4.2).
func slurmBase64(sc *scanner, where, name string) ([]byte, mark, error) {
	at := sc.mark()
	s, err := sc.str()
	if err != nil {
		return nil, at, err
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(string(s))
	if err != nil {
		return nil, at, sc.errAt(at, err, "%s: %s: want base64url without padding (RFC 4648 §5): %v", where, name, err)
	}
	return b, at, nil
}

func slurmSKI(sc *scanner, where string) ([20]byte, error) {
	var ski [20]byte
	b, at, err := slurmBase64(sc, where, "SKI")
	if err != nil {
		return ski, err
	}
	if len(b) != len(ski) {
		return ski, sc.errAt(at, nil, "%s: SKI of %d bytes, want 20", where, len(b))
	}
	copy(ski[:], b)
	return ski, nil
}

func slurmPublicKey(sc *scanner, where string) ([]byte, error) {
	b, at, err := slurmBase64(sc, where, "routerPublicKey")
	if err != nil {
		return nil, err
	}
	if len(b) > maxSPKI {
		return nil, sc.errAt(at, nil, "%s: routerPublicKey of %d bytes (at most %d)", where, len(b), maxSPKI)
	}
	if _, err := x509.ParsePKIXPublicKey(b); err != nil {
		return nil, sc.errAt(at, err, "%s: routerPublicKey is not a SubjectPublicKeyInfo: %v", where, err)
	}
	return b, nil
}

// String summarises sl's size.
func (sl *SLURM) String() string {
	return fmt.Sprintf("SLURM(%d prefix filters, %d BGPsec filters, %d prefix assertions, %d BGPsec assertions)",
		len(sl.PrefixFilters), len(sl.BGPsecFilters), len(sl.PrefixAssertions), len(sl.BGPsecAssertions))
}
