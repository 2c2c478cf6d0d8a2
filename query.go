package ipledger

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// QueryKind is what a search query names: the explorer's search box and GET /v1/search
// send each kind to its page or answer.
type QueryKind int

// The kinds of query ClassifyQuery tells apart.
const (
	QueryEmpty    QueryKind = iota
	QueryResource           // an address, prefix or range: value is the resource as it parses
	QueryAS                 // an AS number or range: value is "ASn" or "ASn-ASm"
	QueryHash               // a transaction hash: value is its 64 hexadecimal digits (Hash.String)
	QueryHolding            // a holding handle IPL-Hn: value is n
	QueryHandle             // an organisation handle, or a name: value is the upper-cased handle
	QueryName               // words to find in organisations' names: value is upper-cased
)

// MaxQuery is the longest query classified; longer ones are names cut to it.
const MaxQuery = 200

// ClassifyQuery tells what a search box query names. It never fails: what is no number
// resource, hash or handle is a name to search for.
func ClassifyQuery(s string) (QueryKind, string) {
	s = cutQuery(strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")))
	if s == "" {
		return QueryEmpty, ""
	}
	up := strings.ToUpper(s)
	if len(s) == 64 {
		if h, err := ParseHash(strings.ToLower(s)); err == nil {
			return QueryHash, h.String()
		}
	}
	if n, ok := strings.CutPrefix(up, "IPL-H"); ok {
		if id, err := strconv.ParseUint(n, 10, 64); err == nil && id > 0 {
			return QueryHolding, strconv.FormatUint(id, 10)
		}
	}
	if as, ok := asQuery(up); ok {
		return QueryAS, as
	}
	if r, err := ParseResource(s); err == nil && r.Family() != ASN {
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return QueryResource, a.Unmap().String() // an address stays one, not a /32
		}
		return QueryResource, r.String()
	}
	if ValidHandle(up) {
		return QueryHandle, up
	}
	return QueryName, cutQuery(strings.Join(strings.Fields(up), " "))
}

// cutQuery cuts s to at most MaxQuery bytes, at a character boundary.
func cutQuery(s string) string {
	if len(s) <= MaxQuery {
		return s
	}
	n := MaxQuery
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// asQuery reads "AS64496", "64496", "AS64496-AS64511" or "as 64496" as an AS query. A
// bare number is an AS number (addresses have dots or colons).
func asQuery(up string) (string, bool) {
	s := strings.ReplaceAll(up, " ", "")
	a, b, rng := strings.Cut(s, "-")
	a, b = strings.TrimPrefix(a, "AS"), strings.TrimPrefix(b, "AS")
	if !asDigits(a) || rng && !asDigits(b) {
		return "", false
	}
	out := "AS" + a
	if rng {
		out += "-AS" + b
	}
	r, err := ParseResource(out)
	if err != nil || r.Family() != ASN {
		return "", false
	}
	return out, true
}

func asDigits(x string) bool {
	return x != "" && len(x) <= 10 && (len(x) == 1 || x[0] != '0') && strings.Trim(x, "0123456789") == ""
}
