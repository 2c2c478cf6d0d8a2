package rdap

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// kind is the type of an RDAP query.
type kind int

const (
	kindNone           kind = iota
	kindHelp                // help (RFC 9082 §3.1.6)
	kindIP                  // ip/<address> or ip/<prefix>/<length> (§3.1.1)
	kindAutnum              // autnum/<asplain> (§3.1.2)
	kindEntity              // entity/<handle> (§3.1.5)
	kindIPSearch            // ips?handle=|name= (RFC 9910 §2)
	kindAutnumSearch        // autnums?handle=|name= (RFC 9910 §2)
	kindEntitySearch        // entities?fn=|handle= (RFC 9082 §3.2.3)
	kindIPRelation          // ips/rirSearch1/<relation>/<address or prefix> (RFC 9910 §3)
	kindAutnumRelation      // autnums/rirSearch1/<relation>/<asplain> (RFC 9910 §3)
	kindBootstrap           // bootstrap/{ipv4,ipv6,asn}.json (RFC 9224 files)
	kindUnsupported         // a query type this server does not serve
)

var routeNames = map[kind]string{
	kindNone: "other", kindHelp: "help", kindIP: "ip", kindAutnum: "autnum", kindEntity: "entity",
	kindIPSearch: "ips", kindAutnumSearch: "autnums", kindEntitySearch: "entities",
	kindIPRelation: "ips_relation", kindAutnumRelation: "autnums_relation",
	kindBootstrap: "bootstrap", kindUnsupported: "unsupported",
}

// query is a parsed RDAP request path and query string.
type query struct {
	kind     kind
	res      ipledger.Resource // lookups and relation searches
	handle   string            // entity lookups (upper case)
	field    string            // searches: "handle", "name" or "fn"
	pat      pattern           // searches
	relation string            // relation searches: "up", "down", "top" or "bottom"
	family   ipledger.Family   // bootstrap files
}

// route is the metrics label of the query type.
func (q query) route() string { return routeNames[q.kind] }

// Limits of a query.
const (
	maxPathBytes    = 512
	maxPatternBytes = 128
)

// relations maps the path segment of a relation search to the relation. RFC 9910 names them
// rdap-up, rdap-down, rdap-top and rdap-bottom; the bare words are accepted too.
var relations = map[string]string{
	"rdap-up": "up", "rdap-down": "down", "rdap-top": "top", "rdap-bottom": "bottom",
	"up": "up", "down": "down", "top": "top", "bottom": "bottom",
}

// unsupported are the query types of RFC 9082 this server knows of and does not serve: it
// keeps no domains (reverse DNS delegation comes later) and no nameservers.
var unsupported = map[string]bool{"domain": true, "domains": true, "nameserver": true, "nameservers": true}

// fixedTypes are the query types of a fixed number of path segments (the type's own
// included): their kind, that number, and what a query of another number is told.
var fixedTypes = map[string]struct {
	kind     kind
	segments int
	usage    string
}{
	"help":     {kindHelp, 1, "help takes no arguments"},
	"autnum":   {kindAutnum, 2, "want autnum/<AS number>, e.g. autnum/64496"},
	"entity":   {kindEntity, 2, "want entity/<handle>"},
	"entities": {kindEntitySearch, 1, "want entities?fn=<name> or entities?handle=<handle>"},
}

// parseQuery parses the path below Prefix (already percent-decoded) and the raw query
// string. Errors are CodeInvalid (400) for a malformed query and a 501 *statusError for a
// query type not served; q.kind is set as far as it was recognised, for the metrics.
func parseQuery(path, rawQuery string) (query, error) {
	var q query
	if len(path) > maxPathBytes || len(rawQuery) > maxPathBytes {
		return q, invalid("query is over %d bytes", maxPathBytes)
	}
	if path == "" {
		return q, invalid("no query; try %shelp", Prefix)
	}
	seg := strings.Split(path, "/")
	if f, ok := fixedTypes[seg[0]]; ok {
		q.kind = f.kind
		if len(seg) != f.segments {
			return q, invalid("%s", f.usage)
		}
	}
	switch seg[0] {
	case "help":
		return q, nil
	case "ip":
		q.kind = kindIP
		r, err := parseIPArg(seg[1:])
		q.res = r
		return q, err
	case "autnum":
		r, err := parseASArg(seg[1])
		q.res = r
		return q, err
	case "entity":
		h := strings.ToUpper(seg[1])
		if !ipledger.ValidHandle(h) {
			return q, invalid("%.70q is not an entity handle (letters, digits and inner hyphens)", seg[1])
		}
		q.handle = h
		return q, nil
	case "ips", "autnums":
		ip := seg[0] == "ips"
		if len(seg) == 1 {
			q.kind = kindAutnumSearch
			if ip {
				q.kind = kindIPSearch
			}
			return q, q.parseSearch(rawQuery, "handle", "name")
		}
		q.kind = kindAutnumRelation
		if ip {
			q.kind = kindIPRelation
		}
		if seg[1] != "rirSearch1" || len(seg) < 4 {
			return q, invalid("want %s/rirSearch1/<relation>/<%s>", seg[0], map[bool]string{true: "address or prefix", false: "AS number"}[ip])
		}
		rel, ok := relations[seg[2]]
		if !ok {
			return q, invalid("relation %.30q: want rdap-up, rdap-down, rdap-top or rdap-bottom", seg[2])
		}
		q.relation = rel
		var err error
		if ip {
			q.res, err = parseIPArg(seg[3:])
		} else if len(seg) != 4 {
			err = invalid("want autnums/rirSearch1/<relation>/<AS number or range>")
		} else if a, b, isRange := strings.Cut(seg[3], "-"); isRange {
			q.res, err = parseASRange(a, b)
		} else {
			q.res, err = parseASArg(seg[3])
		}
		return q, err
	case "entities":
		return q, q.parseSearch(rawQuery, "fn", "handle")
	case "bootstrap":
		q.kind = kindBootstrap
		if len(seg) == 2 {
			switch seg[1] {
			case "ipv4.json":
				q.family = ipledger.IPv4
			case "ipv6.json":
				q.family = ipledger.IPv6
			case "asn.json":
				q.family = ipledger.ASN
			}
		}
		if q.family == 0 {
			return q, notFound("bootstrap files are %sbootstrap/ipv4.json, ipv6.json and asn.json", Prefix)
		}
		return q, nil
	}
	q.kind = kindUnsupported
	if unsupported[seg[0]] {
		return q, statusErrorf(http.StatusNotImplemented, "%s queries are not supported: this registry keeps Internet number resources only", seg[0])
	}
	return q, statusErrorf(http.StatusNotImplemented, "query type %.40q is not supported; see %shelp", seg[0], Prefix)
}

// parseIPArg reads "address" or "address/length" from path segments. A prefix with host
// bits set is taken as its network (192.0.2.1/24 is 192.0.2.0/24).
func parseIPArg(seg []string) (ipledger.Resource, error) {
	if len(seg) == 0 || len(seg) > 2 || seg[0] == "" {
		return ipledger.Resource{}, invalid("want an IP address or prefix, e.g. 192.0.2.0/24 or 2001:db8::/32")
	}
	a, err := netip.ParseAddr(seg[0])
	if err != nil || a.Zone() != "" {
		return ipledger.Resource{}, invalid("%.60q is not an IP address", seg[0])
	}
	if len(seg) == 1 {
		r, err := ipledger.AddrRange(a, a)
		if err != nil {
			return ipledger.Resource{}, invalid("%.60q: %v", seg[0], err)
		}
		return r, nil
	}
	n, ok := parseDigits(seg[1], 3)
	if !ok || n > uint64(a.BitLen()) {
		return ipledger.Resource{}, invalid("prefix length %.10q: want 0 to %d", seg[1], a.BitLen())
	}
	p := netip.PrefixFrom(a, int(n)).Masked()
	r, err := ipledger.PrefixResource(p)
	if err != nil {
		return ipledger.Resource{}, invalid("%s: %v", p, err)
	}
	return r, nil
}

// parseASArg reads an AS number in asplain form (RFC 9082 §3.1.2).
func parseASArg(s string) (ipledger.Resource, error) {
	n, ok := parseDigits(s, 10)
	if !ok || n > 0xFFFFFFFF {
		return ipledger.Resource{}, invalid("%.20q is not an AS number (asplain, 0 to 4294967295)", s)
	}
	return ipledger.ASRange(uint32(n), uint32(n))
}

// parseASRange reads the AS range first-last of a relation search.
func parseASRange(a, b string) (ipledger.Resource, error) {
	first, ok1 := parseDigits(a, 10)
	last, ok2 := parseDigits(b, 10)
	if !ok1 || !ok2 || first > last || last > 0xFFFFFFFF {
		return ipledger.Resource{}, invalid("%.20q-%.20q is not an AS range (asplain first-last)", a, b)
	}
	return ipledger.ASRange(uint32(first), uint32(last))
}

// parseDigits reads an unsigned decimal of at most max digits without sign or leading zeros.
func parseDigits(s string, max int) (uint64, bool) {
	if s == "" || len(s) > max || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// parseSearch reads the one search parameter of a search, among the two allowed names.
// Other parameters are ignored (RFC 9082 §4 lets a server ignore what it does not know).
func (q *query) parseSearch(rawQuery string, names ...string) error {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return invalid("query string: %v", err)
	}
	for _, n := range names {
		v, ok := vals[n]
		if !ok {
			continue
		}
		if q.field != "" {
			return invalid("give one of %s=, not both", strings.Join(names, "= or "))
		}
		if len(v) != 1 {
			return invalid("%s= given %d times", n, len(v))
		}
		if q.pat, err = parsePattern(v[0]); err != nil {
			return err
		}
		q.field = n
	}
	if q.field == "" {
		return invalid("a search needs %s=", strings.Join(names, "= or "))
	}
	return nil
}

// pattern is a search string with at most one "*" wildcard standing for zero or more
// characters (RFC 9082 §4.1). Matching is case-insensitive: both sides are upper-cased.
type pattern struct {
	prefix, suffix string // upper case
	wildcard       bool
}

// parsePattern checks a search string: valid UTF-8, at most maxPatternBytes, at most one
// "*", and something besides it.
func parsePattern(s string) (pattern, error) {
	if s == "" || len(s) > maxPatternBytes || !utf8.ValidString(s) {
		return pattern{}, invalid("search string: want 1 to %d bytes of UTF-8", maxPatternBytes)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return pattern{}, invalid("search string has control characters")
	}
	switch strings.Count(s, "*") {
	case 0:
		return pattern{prefix: strings.ToUpper(s)}, nil
	case 1:
		if s == "*" {
			return pattern{}, invalid("search string %q matches everything; give at least one character besides *", s)
		}
		a, b, _ := strings.Cut(s, "*")
		return pattern{prefix: strings.ToUpper(a), suffix: strings.ToUpper(b), wildcard: true}, nil
	}
	return pattern{}, invalid("search string %.40q: at most one * wildcard", s)
}

// match reports whether s (upper case) matches.
func (p pattern) match(s string) bool {
	if !p.wildcard {
		return s == p.prefix
	}
	return len(s) >= len(p.prefix)+len(p.suffix) && strings.HasPrefix(s, p.prefix) && strings.HasSuffix(s, p.suffix)
}

// String returns the pattern as given (upper case).
func (p pattern) String() string {
	if p.wildcard {
		return p.prefix + "*" + p.suffix
	}
	return p.prefix
}
