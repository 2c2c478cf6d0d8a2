package vrp

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// JSONFile is what ReadJSON found in an rpki-client JSON file.
type JSONFile struct {
	// BuildTime is metadata.buildtime (or Routinator's metadata.generatedTime); zero when
	// the file has neither.
	BuildTime time.Time
	// Set holds the unexpired VRPs, router keys and ASPAs, deduplicated.
	Set *Set
	// ROAs, Keys and ASPAs count the entries of roas, bgpsec_keys and aspas, expired ones
	// included; Expired counts those dropped as expired.
	ROAs, Keys, ASPAs, Expired int
}

// ReadJSON reads the JSON that rpki-client writes (and tools compatible with it: StayRTR's
// rtrdump, Routinator's json and jsonext formats): metadata.buildtime, roas (prefix,
// maxLength, asn as a number or "AS64496", ta, expires in Unix seconds), bgpsec_keys
// (asn, ski in hex, pubkey in base64, ta, expires) and aspas (customer_asid, providers, ta,
// expires), or the ASPAs as StayRTR and rtrdump write them, provider_authorizations with a
// list per address family (merged: a Set's ASPAs hold for both). Other members are
// skipped. Entries
// expired at now (expires at or before it) are dropped; the zero now keeps them all.
//
// Input is read as a stream, so memory stays near the size of the result. Malformed input
// — bad JSON, a missing or duplicated field, an invalid prefix or maxLength, an unmasked
// prefix — is an error, a *PosError giving the place.
func ReadJSON(r io.Reader, now time.Time) (*JSONFile, error) {
	sc := newScanner(r)
	f := &JSONFile{}
	var b Builder
	var haveROAs bool
	err := sc.object(func(key []byte, _ mark) error {
		switch string(key) {
		case "metadata":
			return readMetadata(sc, f)
		case "roas":
			haveROAs = true
			return sc.array(func(i int, at mark) error {
				f.ROAs++
				if !noFastPath {
					if r, ok := sc.fastROA(&b); ok {
						if r.hasExp && !now.IsZero() && int64(r.exp) <= now.Unix() {
							f.Expired++
							return nil
						}
						if r.hasExp {
							r.v.Expires = time.Unix(max(1, min(int64(r.exp), 1<<32-1)), 0)
						}
						b.add(r.v, r.src)
						return nil
					}
				}
				return readROA(sc, &b, f, i, at, now)
			})
		case "bgpsec_keys":
			return sc.array(func(i int, at mark) error {
				f.Keys++
				return readKey(sc, &b, f, i, at, now)
			})
		case "aspas":
			return sc.array(func(i int, at mark) error {
				f.ASPAs++
				return readASPA(sc, &b, f, "aspas", i, at, now)
			})
		case "provider_authorizations":
			// StayRTR's and rtrdump's form: a list per address family. ASPAs here hold for
			// both families, so a customer's lists merge (the union of its providers).
			if null, err := sc.isNull(); null || err != nil {
				return err
			}
			return sc.object(func(fam []byte, _ mark) error {
				where := "provider_authorizations." + string(fam)
				return sc.array(func(i int, at mark) error {
					f.ASPAs++
					return readASPA(sc, &b, f, where, i, at, now)
				})
			})
		}
		return sc.skip()
	})
	if err != nil {
		return nil, err
	}
	if err := sc.finish(); err != nil {
		return nil, err
	}
	if !haveROAs {
		return nil, &PosError{Line: 1, Col: 1, Msg: "no roas member: not an rpki-client JSON file"}
	}
	f.Set = b.Set()
	return f, nil
}

func readMetadata(sc *scanner, f *JSONFile) error {
	if null, err := sc.isNull(); null || err != nil {
		return err
	}
	var generated time.Time
	err := sc.object(func(key []byte, _ mark) error {
		switch k := string(key); k {
		case "buildtime", "generatedTime":
			at := sc.mark()
			s, err := sc.str()
			if err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339, string(s))
			if err != nil {
				return sc.errAt(at, err, "metadata.%s: want an RFC 3339 time, found %q", k, truncate(s))
			}
			if k == "buildtime" {
				f.BuildTime = t
			} else {
				generated = t
			}
			return nil
		}
		return sc.skip()
	})
	if f.BuildTime.IsZero() {
		f.BuildTime = generated
	}
	return err
}

// asn reads an AS number given as a number or as a string "AS64496" (or "64496").
func readASN(sc *scanner, what string) (uint32, error) {
	c, err := sc.peek()
	if err != nil {
		return 0, err
	}
	if c != '"' {
		v, err := sc.uint(what, 1<<32-1)
		return uint32(v), err
	}
	at := sc.mark()
	s, err := sc.str()
	if err != nil {
		return 0, err
	}
	digits := s
	if len(s) > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		digits = s[2:]
	}
	v, ok := ipledger.ParseDigits(digits, 1<<32-1)
	if !ok || len(digits) > 1 && digits[0] == '0' {
		return 0, sc.errAt(at, nil, "%s: want an AS number like 64496 or \"AS64496\", found %q", what, truncate(s))
	}
	return uint32(v), nil
}

// field bits, to catch a missing or repeated member.
const (
	hasPrefix = 1 << iota
	hasMaxLen
	hasASN
	hasTA
	hasExpires
	hasSKI
	hasPubkey
	hasCustomer
	hasProviders
)

func dupCheck(sc *scanner, seen *int, bit int, at mark, where, name string) error {
	if *seen&bit != 0 {
		return sc.errAt(at, nil, "%s: %s given twice", where, name)
	}
	*seen |= bit
	return nil
}

// readExpires reads an entry's "expires" member (Unix seconds), once.
func readExpires(sc *scanner, seen *int, at mark, where string) (uint64, error) {
	if err := dupCheck(sc, seen, hasExpires, at, where, "expires"); err != nil {
		return 0, err
	}
	n, err := sc.uint("expires", 1<<63-1)
	if err != nil {
		return 0, inEntry(err, where)
	}
	return n, nil
}

// readOnceASN reads an entry's AS number member name into *asn, once (its bit in *seen).
func readOnceASN(sc *scanner, seen *int, bit int, at mark, where, name string, asn *uint32) error {
	if err := dupCheck(sc, seen, bit, at, where, name); err != nil {
		return err
	}
	a, err := readASN(sc, name)
	if err != nil {
		return inEntry(err, where)
	}
	*asn = a
	return nil
}

// readOnceStr reads an entry's string member name, once (its bit in *seen), and where its
// value starts.
func readOnceStr(sc *scanner, seen *int, bit int, at mark, where, name string) ([]byte, mark, error) {
	if err := dupCheck(sc, seen, bit, at, where, name); err != nil {
		return nil, mark{}, err
	}
	vm := sc.mark()
	s, err := sc.str()
	return s, vm, err
}

// requireFields fails unless every one of names (a field bit and its member name, in pairs)
// was seen in the entry that starts at at.
func requireFields(sc *scanner, seen int, at mark, where string, bits []int, names []string) error {
	for i, bit := range bits {
		if seen&bit == 0 {
			return sc.errAt(at, nil, "%s: no %s", where, names[i])
		}
	}
	return nil
}

// expiry is an entry's expiry time: zero without an "expires" member; ok is false when the
// entry has expired by now (and is counted in f.Expired, to be dropped).
func expiry(f *JSONFile, seen int, exp uint64, now time.Time) (t time.Time, ok bool) {
	if seen&hasExpires == 0 {
		return time.Time{}, true
	}
	if !now.IsZero() && int64(exp) <= now.Unix() {
		f.Expired++
		return time.Time{}, false
	}
	return time.Unix(max(1, min(int64(exp), 1<<32-1)), 0), true
}

func readROA(sc *scanner, b *Builder, f *JSONFile, i int, at mark, now time.Time) error {
	where := func() string { return "roas[" + strconv.Itoa(i) + "]" }
	var (
		v       VRP
		src     uint16
		exp     uint64
		seen    int
		tal     []byte // Routinator's source[].tal, used when ta is absent
		prefixM mark
	)
	if err := sc.beginObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, kat, ok, err := sc.nextMember(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var bit int
		switch string(key) {
		case "prefix":
			bit = hasPrefix
		case "maxLength":
			bit = hasMaxLen
		case "asn":
			bit = hasASN
		case "ta":
			bit = hasTA
		case "expires":
			bit = hasExpires
		case "source":
			if err := readSourceTAL(sc, &tal); err != nil {
				return err
			}
			continue
		default:
			if err := sc.skip(); err != nil {
				return err
			}
			continue
		}
		if seen&bit != 0 {
			return sc.errAt(kat, nil, "%s: %s given twice", where(), key)
		}
		seen |= bit
		switch bit {
		case hasPrefix:
			prefixM = sc.mark()
			s, err := sc.str()
			if err != nil {
				return err
			}
			p, err := parsePrefix(s)
			if err != nil {
				return sc.errAt(prefixM, err, "%s: prefix %q: %v", where(), truncate(s), err)
			}
			v.Prefix = p
		case hasMaxLen:
			n, err := sc.uint("maxLength", 128)
			if err != nil {
				return inEntry(err, where())
			}
			v.MaxLength = uint8(n)
		case hasASN:
			a, err := readASN(sc, "asn")
			if err != nil {
				return inEntry(err, where())
			}
			v.ASN = a
		case hasTA:
			s, err := sc.str()
			if err != nil {
				return err
			}
			if src, err = b.sourceIndex(s); err != nil {
				return sc.errAt(kat, err, "%s: %v", where(), err)
			}
		case hasExpires:
			n, err := sc.uint("expires", 1<<63-1)
			if err != nil {
				return inEntry(err, where())
			}
			exp = n
		}
	}
	switch {
	case seen&hasPrefix == 0:
		return sc.errAt(at, nil, "%s: no prefix", where())
	case seen&hasMaxLen == 0:
		return sc.errAt(at, nil, "%s: no maxLength", where())
	case seen&hasASN == 0:
		return sc.errAt(at, nil, "%s: no asn", where())
	}
	if seen&hasTA == 0 && tal != nil {
		var err error
		if src, err = b.sourceIndex(tal); err != nil {
			return sc.errAt(at, err, "%s: %v", where(), err)
		}
	}
	if err := v.Validate(); err != nil {
		return sc.errAt(prefixM, err, "%s: %v", where(), err)
	}
	var ok bool
	if v.Expires, ok = expiry(f, seen, exp, now); !ok {
		return nil
	}
	b.add(v, src)
	return nil
}

// inEntry prefixes the message of a *PosError with the entry it is in.
func inEntry(err error, where string) error {
	var pe *PosError
	if errors.As(err, &pe) {
		pe.Msg = where + ": " + pe.Msg
	}
	return err
}

// parsePrefix parses a prefix as netip.ParsePrefix does, with a fast path for the common
// IPv4 form that does not allocate.
func parsePrefix(s []byte) (netip.Prefix, error) {
	var a [4]byte
	i, part := 0, 0
	for ; part < 4; part++ {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				goto slow
			}
			i++
		}
		start, n := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 3 {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == start || n > 255 || (i-start > 1 && s[start] == '0') {
			goto slow
		}
		a[part] = byte(n)
	}
	if i < len(s) && s[i] == '/' {
		i++
		start, n := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 2 {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == len(s) && i > start && n <= 32 && !(i-start > 1 && s[start] == '0') {
			return netip.PrefixFrom(netip.AddrFrom4(a), n), nil
		}
	}
slow:
	return netip.ParsePrefix(string(s))
}

// noFastPath turns fastROA off, so tests can compare it with the general parser.
var noFastPath = false

// fastROA is what fastROA read.
type fastResult struct {
	v      VRP
	src    uint16
	exp    uint64
	hasExp bool
}

// fastROA reads the roa object at the scanner's position if it is in the plain form that
// producers write — within the buffer, on one line, members among asn (a number), prefix,
// maxLength, ta and expires with asn, prefix and maxLength present and none twice, strings
// of plain ASCII, numbers of plain digits — and valid. Otherwise it consumes nothing and
// returns false, and the general parser reads the object (and reports what is wrong).
func (s *scanner) fastROA(b *Builder) (r fastResult, ok bool) {
	buf := s.buf[s.pos:s.end]
	if len(buf) == 0 || buf[0] != '{' {
		return r, false
	}
	sp := func(i int) int {
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
		return i
	}
	str := func(i int) ([]byte, int, bool) { // a plain string at i
		if i >= len(buf) || buf[i] != '"' {
			return nil, 0, false
		}
		for j := i + 1; j < len(buf); j++ {
			switch c := buf[j]; {
			case c == '"':
				return buf[i+1 : j], j + 1, true
			case c == '\\' || c < 0x20 || c >= 0x80:
				return nil, 0, false
			}
		}
		return nil, 0, false
	}
	num := func(i int, most uint64) (uint64, int, bool) { // a plain number at i, up to most
		j, v := i, uint64(0)
		for j < len(buf) && j-i < 19 && buf[j] >= '0' && buf[j] <= '9' {
			v = v*10 + uint64(buf[j]-'0')
			j++
		}
		if j == i || j-i > 1 && buf[i] == '0' || j >= len(buf) || isNumByte(buf[j]) || v > most {
			return 0, 0, false
		}
		return v, j, true
	}
	seen := 0
	i := 1
	for {
		key, j, ok := str(sp(i))
		if !ok {
			return r, false
		}
		i = sp(j)
		if i >= len(buf) || buf[i] != ':' {
			return r, false
		}
		i = sp(i + 1)
		if i >= len(buf) {
			return r, false
		}
		var (
			bit int
			n   uint64
			t   []byte
			err error
		)
		switch string(key) {
		case "asn":
			bit = hasASN
			n, j, ok = num(i, 1<<32-1)
			r.v.ASN = uint32(n)
		case "prefix":
			bit = hasPrefix
			if t, j, ok = str(i); ok {
				r.v.Prefix, err = parsePrefix(t)
			}
		case "maxLength":
			bit = hasMaxLen
			n, j, ok = num(i, 128)
			r.v.MaxLength = uint8(n)
		case "ta":
			bit = hasTA
			if t, j, ok = str(i); ok {
				r.src, err = b.sourceIndex(t)
			}
		case "expires":
			bit = hasExpires
			n, j, ok = num(i, 1<<63-1)
			r.exp, r.hasExp = n, true
		default:
			return r, false
		}
		if !ok || err != nil || seen&bit != 0 {
			return r, false
		}
		seen |= bit
		i = sp(j)
		if i >= len(buf) {
			return r, false
		}
		if buf[i] == '}' {
			i++
			break
		}
		if buf[i] != ',' {
			return r, false
		}
		i++
	}
	if seen&(hasASN|hasPrefix|hasMaxLen) != hasASN|hasPrefix|hasMaxLen || r.v.Validate() != nil {
		return r, false
	}
	s.pos += i
	return r, true
}

// readSourceTAL takes the tal of the first element of Routinator's jsonext source array.
func readSourceTAL(sc *scanner, tal *[]byte) error {
	if null, err := sc.isNull(); null || err != nil {
		return err
	}
	return sc.array(func(i int, _ mark) error {
		c, err := sc.peek()
		if err != nil {
			return err
		}
		if c != '{' {
			return sc.skip()
		}
		return sc.object(func(key []byte, _ mark) error {
			if string(key) != "tal" || *tal != nil {
				return sc.skip()
			}
			s, err := sc.str()
			if err != nil {
				return err
			}
			*tal = append([]byte{}, s...)
			return nil
		})
	})
}

// readEntry reads one entry of bgpsec_keys or of an ASPA list, the object that starts at
// at: member reads the members particular to the kind (marking each in *seen, skipping
// unknown ones), readEntry the "expires" they share, then checks that the members bits
// (named by names) were all there. ok is false, with a nil error, when the entry has
// expired by now (it is counted in f.Expired, to be dropped).
func readEntry(sc *scanner, f *JSONFile, at mark, where string, now time.Time, bits []int, names []string,
	member func(key []byte, kat mark, seen *int) error) (expires time.Time, ok bool, err error) {
	var (
		exp  uint64
		seen int
	)
	err = sc.object(func(key []byte, kat mark) error {
		if string(key) != "expires" {
			return member(key, kat, &seen)
		}
		n, err := readExpires(sc, &seen, kat, where)
		exp = n
		return err
	})
	if err == nil {
		err = requireFields(sc, seen, at, where, bits, names)
	}
	if err != nil {
		return time.Time{}, false, err
	}
	expires, ok = expiry(f, seen, exp, now)
	return expires, ok, nil
}

func readKey(sc *scanner, b *Builder, f *JSONFile, i int, at mark, now time.Time) error {
	where := "bgpsec_keys[" + strconv.Itoa(i) + "]"
	var (
		k   RouterKey
		src uint16
	)
	exp, ok, err := readEntry(sc, f, at, where, now, []int{hasASN, hasSKI, hasPubkey}, []string{"asn", "ski", "pubkey"}, func(key []byte, kat mark, seen *int) error {
		switch string(key) {
		case "asn":
			return readOnceASN(sc, seen, hasASN, kat, where, "asn", &k.ASN)
		case "ski":
			s, vm, err := readOnceStr(sc, seen, hasSKI, kat, where, "ski")
			if err != nil {
				return err
			}
			if len(s) != 2*len(k.SKI) { // checked first: hex.Decode would write past SKI
				return sc.errAt(vm, nil, "%s: ski: want 40 hex digits, found %q", where, truncate(s))
			}
			if _, err := hex.Decode(k.SKI[:], s); err != nil {
				return sc.errAt(vm, err, "%s: ski: want 40 hex digits, found %q", where, truncate(s))
			}
		case "pubkey":
			s, vm, err := readOnceStr(sc, seen, hasPubkey, kat, where, "pubkey")
			if err != nil {
				return err
			}
			der, err := base64.StdEncoding.DecodeString(string(s))
			if err != nil || len(der) == 0 || len(der) > maxSPKI {
				return sc.errAt(vm, err, "%s: pubkey: want base64 of a SubjectPublicKeyInfo, found %q", where, truncate(s))
			}
			k.SPKI = string(der)
		case "ta":
			s, _, err := readOnceStr(sc, seen, hasTA, kat, where, "ta")
			if err != nil {
				return err
			}
			if src, err = b.sourceIndex(s); err != nil {
				return sc.errAt(kat, err, "%s: %v", where, err)
			}
		default:
			return sc.skip()
		}
		return nil
	})
	if err != nil || !ok {
		return err
	}
	b.keys = append(b.keys, keyRec{asn: k.ASN, exp: unixExpiry(exp), src: src, ski: k.SKI, spki: k.SPKI})
	return nil
}

func readASPA(sc *scanner, b *Builder, f *JSONFile, list string, i int, at mark, now time.Time) error {
	where := list + "[" + strconv.Itoa(i) + "]"
	var a ASPA
	exp, ok, err := readEntry(sc, f, at, where, now, []int{hasCustomer, hasProviders}, []string{"customer_asid", "providers"}, func(key []byte, kat mark, seen *int) error {
		switch string(key) {
		case "customer_asid":
			return readOnceASN(sc, seen, hasCustomer, kat, where, "customer_asid", &a.Customer)
		case "providers":
			if err := dupCheck(sc, seen, hasProviders, kat, where, "providers"); err != nil {
				return err
			}
			return sc.array(func(j int, pat mark) error {
				if len(a.Providers) == MaxProviders {
					return sc.errAt(pat, nil, "%s: more than %d providers", where, MaxProviders)
				}
				p, err := readASN(sc, "providers")
				if err != nil {
					return inEntry(err, where)
				}
				a.Providers = append(a.Providers, p)
				return nil
			})
		case "ta":
			s, _, err := readOnceStr(sc, seen, hasTA, kat, where, "ta")
			a.Source = string(s)
			return err
		default:
			return sc.skip()
		}
	})
	if err != nil || !ok {
		return err
	}
	a.Expires = exp
	if err := b.AddASPA(a); err != nil {
		return sc.errAt(at, err, "%s: %v", where, err)
	}
	return nil
}

// WriteJSON writes s in rpki-client's JSON format: metadata (buildtime, counts), roas
// (asn, prefix, maxLength, ta, and expires when known), bgpsec_keys and aspas. ReadJSON
// reads it back to an equal set.
func WriteJSON(w io.Writer, s *Set, buildTime time.Time) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 512)
	b = append(b, "{\n\t\"metadata\": {\n\t\t\"buildtime\": \""...)
	b = buildTime.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, "\",\n\t\t\"vrps\": "...)
	b = strconv.AppendInt(b, int64(s.Len()), 10)
	b = append(b, ",\n\t\t\"uniquevrps\": "...)
	b = strconv.AppendInt(b, int64(s.Len()), 10)
	b = append(b, ",\n\t\t\"bgpsec_pubkeys\": "...)
	b = strconv.AppendInt(b, int64(s.KeyLen()), 10)
	b = append(b, "\n\t},\n\t\"roas\": ["...)
	first := true
	for v := range s.All() {
		b = appendEntryStart(b, &first, "asn", v.ASN)
		b = append(b, ", \"prefix\": \""...)
		b = v.Prefix.AppendTo(b)
		b = append(b, "\", \"maxLength\": "...)
		b = strconv.AppendUint(b, uint64(v.MaxLength), 10)
		b = appendEntryEnd(b, v.Source, v.Expires)
		if len(b) >= 32<<10 {
			if _, err := bw.Write(b); err != nil {
				return fmt.Errorf("write vrps json: %w", err)
			}
			b = b[:0]
		}
	}
	b = append(b, "\n\t],\n\t\"bgpsec_keys\": ["...)
	first = true
	for k := range s.Keys() {
		b = appendEntryStart(b, &first, "asn", k.ASN)
		b = append(b, ", \"ski\": \""...)
		b = append(b, hexUpper(k.SKI[:])...)
		b = append(b, "\", \"pubkey\": \""...)
		b = base64.StdEncoding.AppendEncode(b, []byte(k.SPKI))
		b = append(b, '"')
		b = appendEntryEnd(b, k.Source, k.Expires)
	}
	b = append(b, "\n\t],\n\t\"aspas\": ["...)
	first = true
	for a := range s.ASPAs() {
		b = appendEntryStart(b, &first, "customer_asid", a.Customer)
		b = append(b, ", \"providers\": ["...)
		for i, p := range a.Providers {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = strconv.AppendUint(b, uint64(p), 10)
		}
		b = append(b, ']')
		b = appendEntryEnd(b, a.Source, a.Expires)
	}
	b = append(b, "\n\t]\n}\n"...)
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("write vrps json: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write vrps json: %w", err)
	}
	return nil
}

// appendEntryStart starts an entry of a WriteJSON list: a comma unless *first (which it
// clears), the brace and the entry's first member, an AS number.
func appendEntryStart(b []byte, first *bool, member string, asn uint32) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = append(b, "\n\t\t{ \""...)
	b = append(b, member...)
	b = append(b, "\": "...)
	return strconv.AppendUint(b, uint64(asn), 10)
}

// appendEntryEnd ends an entry of a WriteJSON list: its ta, its expires when there is one,
// the closing brace.
func appendEntryEnd(b []byte, ta string, expires time.Time) []byte {
	b = append(b, ", \"ta\": "...)
	b = appendJSONString(b, ta)
	if !expires.IsZero() {
		b = append(b, ", \"expires\": "...)
		b = strconv.AppendInt(b, expires.Unix(), 10)
	}
	return append(b, " }"...)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
