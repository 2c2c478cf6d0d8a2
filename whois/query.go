package whois

import (
	"fmt"
	"strings"
)

// SourceName is the one database source this server answers for (-s, "source:").
const SourceName = "IPLEDGER"

// MaxQueryBytes is the longest query line ParseQuery accepts; Options.MaxLineBytes may lower
// it for a server.
const MaxQueryBytes = 1024

// Level selects which holdings of the hierarchy an address or AS query returns.
type Level uint8

// Levels, as the RIPE Database query flags name them. The zero Level is the default lookup:
// the most specific holding containing the key.
const (
	LevelDefault Level = iota
	LevelExact         // -x: exactly the key's range
	LevelOneLess       // -l: the smallest holding strictly containing the key
	LevelAllLess       // -L: every holding containing the key, from the pool down
	LevelOneMore       // -m: the largest holdings inside the key
	LevelAllMore       // -M: every holding inside the key
)

// Query is one parsed WHOIS query line. The zero Query is a default lookup with no key.
type Query struct {
	Key        string   // the search key, upper-cased; "" for meta queries and a bare -k
	Level      Level    // -x, -l, -L, -m, -M
	NoRecurse  bool     // -r: do not add referenced organisation and role objects
	NoFilter   bool     // -B: show e-mail attributes (abuse-mailbox)
	Brief      bool     // -b: only the resource's key and abuse contact
	KeysOnly   bool     // -K: primary key attributes only
	NoGrouping bool     // -G: no "% Information related to" headers
	Types      []string // -T (and --resource): primary object types to return; nil means all
	Inverse    []string // -i: inverse lookup on these attributes
	Persistent bool     // -k: keep the connection open (RFC 3912 closes after one answer)
	Info       string   // -q: "version", "types" or "sources"
	Help       bool     // the key "help" on its own
	Warnings   []string // %WARNING lines to print before the answer
}

// Bare reports whether q is a bare -k: in a persistent connection, the request to close it.
func (q *Query) Bare() bool {
	return q.Persistent && q.Key == "" && q.Info == "" && !q.Help && q.Level == LevelDefault &&
		!q.NoRecurse && !q.NoFilter && !q.Brief && !q.KeysOnly && !q.NoGrouping && q.Types == nil && q.Inverse == nil
}

// QueryError is a query the server refuses, answered as "%ERROR:<Code>: <Text>" followed by
// "% <Detail>" lines (RIPE Database query reference, appendix C).
type QueryError struct {
	Code   int
	Text   string
	Detail []string
}

func (e *QueryError) Error() string { return fmt.Sprintf("%%ERROR:%d: %s", e.Code, e.Text) }

func qerr(code int, text string, detail ...string) *QueryError {
	return &QueryError{Code: code, Text: text, Detail: detail}
}

// The RIPE Database's query error codes this server uses.
const (
	errInternal     = 100
	errNotFound     = 101
	errSource       = 102
	errType         = 103
	errAttribute    = 104
	errNotInverse   = 105
	errNoKey        = 106
	errTooLong      = 107
	errBadChar      = 108
	errCombination  = 109
	errMultipleFlag = 110
	errOption       = 111
	errTooLarge     = 112
	errDenied       = 201
	errIdle         = 305
	errConnections  = 306
)

// Object types. Resource types come from holdings; organisation and role from organisations;
// route and route6 from the ledger's route authorisations in force (see routeObjects).
const (
	typeInetnum  = "inetnum"
	typeInet6num = "inet6num"
	typeAutNum   = "aut-num"
	typeASBlock  = "as-block"
	typeOrg      = "organisation"
	typeRole     = "role"
	typeRoute    = "route"
	typeRoute6   = "route6"
)

// servedTypes lists the types -q types reports, in that order.
var servedTypes = []string{typeInetnum, typeInet6num, typeAutNum, typeASBlock, typeOrg, typeRole, typeRoute, typeRoute6}

var knownTypes = map[string]bool{
	typeInetnum: true, typeInet6num: true, typeAutNum: true, typeASBlock: true,
	typeOrg: true, typeRole: true, typeRoute: true, typeRoute6: true,
}

// resourceTypes are what --resource restricts a query to.
var resourceTypes = []string{typeInetnum, typeInet6num, typeAutNum, typeASBlock, typeRoute, typeRoute6}

// attributes lists every attribute name the served types use; inverse marks those -i
// searches.
var attributes = map[string]bool{
	"inetnum": false, "inet6num": false, "aut-num": false, "as-block": false, "organisation": false,
	"role": false, "netname": false, "as-name": false, "descr": false, "country": false,
	"org": true, "status": false, "abuse-c": true, "mnt-by": true, "created": false,
	"last-modified": false, "source": false, "remarks": false, "org-name": false, "org-type": false,
	"nic-hdl": false, "abuse-mailbox": false,
}

// allowedPunct are the characters besides letters, digits and blanks a query may hold
// (RIPE, %ERROR:108).
const allowedPunct = "-_:+=.,@/?'"

// shortFlags lists the short flags this server knows and whether each takes an argument.
var shortFlags = map[byte]bool{
	'a': false, 'b': false, 'B': false, 'd': false, 'G': false, 'k': false, 'K': false,
	'l': false, 'L': false, 'm': false, 'M': false, 'r': false, 'R': false, 'x': false,
	'i': true, 'q': true, 's': true, 'T': true, 'V': true,
}

// longFlags maps the RIPE long options this server knows to their short form; "resource"
// has none.
var longFlags = map[string]string{
	"exact": "x", "one-less": "l", "all-less": "L", "one-more": "m", "all-more": "M",
	"no-referenced": "r", "no-filtering": "B", "abuse-contact": "b", "primary-keys": "K",
	"no-grouping": "G", "select-types": "T", "inverse": "i", "sources": "s", "all-sources": "a",
	"persistent-connection": "k", "client": "V", "no-tag-info": "", "resource": "",
	"types": "", "list-sources": "", "reverse-domain": "d", "no-referral": "R",
}

// ParseQuery parses one query line (without its line end) as RFC 3912 leaves it to the
// server: RIPE Database flags, then a search key. Keys are matched case-insensitively, so
// Key comes back upper-cased. Errors are *QueryError.
func ParseQuery(line string) (*Query, error) {
	if len(line) > MaxQueryBytes {
		return nil, qerr(errTooLong, "input line too long", "Input exceeds the maximum line length.")
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '\t' ||
			strings.IndexByte(allowedPunct, c) >= 0) {
			return nil, qerr(errBadChar, "bad character in input",
				"An invalid character was passed in the query. Allowed characters are letters,",
				"numbers and these: "+allowedPunct)
		}
	}
	p := parser{q: &Query{}, seen: map[string]bool{}}
	toks := strings.Fields(line)
	var key []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "--":
			key = append(key, toks[i+1:]...)
			i = len(toks)
		case strings.HasPrefix(t, "--"):
			name, val, hasVal := strings.Cut(t[2:], "=")
			short, ok := longFlags[name]
			if !ok {
				return nil, qerr(errOption, "invalid option supplied", fmt.Sprintf("%q is not an option of this server; query \"help\" for the list.", "--"+name))
			}
			takesArg := short != "" && shortFlags[short[0]]
			if !takesArg && hasVal {
				return nil, qerr(errOption, "invalid option supplied", "--"+name+" takes no argument.")
			}
			if takesArg && !hasVal {
				if i+1 >= len(toks) {
					return nil, qerr(errOption, "invalid option supplied", "--"+name+" needs an argument.")
				}
				i++
				val = toks[i]
			}
			var err error
			switch name {
			case "resource":
				err = p.flag("resource", "")
			case "types":
				err = p.flag("q", "types")
			case "list-sources":
				err = p.flag("q", "sources")
			case "no-tag-info":
				// tags do not exist here; accepted for compatibility
			default:
				err = p.flag(short, val)
			}
			if err != nil {
				return nil, err
			}
		case len(t) > 1 && t[0] == '-':
			for j := 1; j < len(t); j++ {
				c := t[j]
				takesArg, ok := shortFlags[c]
				if !ok {
					return nil, qerr(errOption, "invalid option supplied", fmt.Sprintf("-%c is not an option of this server; query \"help\" for the list.", c))
				}
				if !takesArg {
					if err := p.flag(string(c), ""); err != nil {
						return nil, err
					}
					continue
				}
				val := t[j+1:]
				if val == "" {
					if i+1 >= len(toks) {
						return nil, qerr(errOption, "invalid option supplied", fmt.Sprintf("-%c needs an argument.", c))
					}
					i++
					val = toks[i]
				}
				if err := p.flag(string(c), val); err != nil {
					return nil, err
				}
				break
			}
		default:
			key = append(key, t)
		}
	}
	q := p.q
	q.Key = strings.ToUpper(strings.Join(key, " "))
	if q.Info != "" {
		if q.Key != "" || q.Inverse != nil || q.Types != nil || q.Level != LevelDefault || q.Brief {
			return nil, qerr(errCombination, "invalid combination of flags passed", "-q takes no search key and no other query flags.")
		}
		return q, nil
	}
	if q.Inverse != nil && (q.Level != LevelDefault || q.Brief) {
		return nil, qerr(errCombination, "invalid combination of flags passed", "An inverse query (-i) cannot be combined with -x, -l, -L, -m, -M or -b.")
	}
	if q.Brief && q.KeysOnly {
		return nil, qerr(errCombination, "invalid combination of flags passed", "-b and -K cannot be combined.")
	}
	if q.Key == "HELP" && len(toks) == 1 {
		q.Key, q.Help = "", true
		return q, nil
	}
	if q.Key == "" && !q.Bare() {
		return nil, qerr(errNoKey, "no search key specified", "No search key specified.")
	}
	return q, nil
}

type parser struct {
	q      *Query
	seen   map[string]bool
	levels []string
}

// switchFlags are the flags that only turn a field of Query on: the field of each.
var switchFlags = map[string]func(*Query) *bool{
	"r": func(q *Query) *bool { return &q.NoRecurse },
	"B": func(q *Query) *bool { return &q.NoFilter },
	"b": func(q *Query) *bool { return &q.Brief },
	"K": func(q *Query) *bool { return &q.KeysOnly },
	"G": func(q *Query) *bool { return &q.NoGrouping },
	"k": func(q *Query) *bool { return &q.Persistent },
}

// flag applies one flag; name is its short form (or "resource").
func (p *parser) flag(name, val string) error {
	q := p.q
	if shortFlags[name[0]] && len(name) == 1 {
		if p.seen[name] {
			return qerr(errMultipleFlag, "multiple use of flag", fmt.Sprintf("The flag -%s is given more than once.", name))
		}
	}
	p.seen[name] = true
	switch name {
	case "x", "l", "L", "m", "M":
		lv := map[string]Level{"x": LevelExact, "l": LevelOneLess, "L": LevelAllLess, "m": LevelOneMore, "M": LevelAllMore}[name]
		if q.Level != LevelDefault && q.Level != lv {
			q.Warnings = append(q.Warnings, fmt.Sprintf("%%WARNING:901: duplicate IP flags passed\n%%\n%% More than one IP flag was given; %s is used.", "-"+name))
		}
		q.Level = lv
	case "r", "B", "b", "K", "G", "k":
		*switchFlags[name](q) = true
	case "a", "d", "R", "V":
		// -a: every source is searched anyway (there is one); -d: there are no domain
		// objects; -R: there are no referral objects to skip; -V: a proxy's client tag.
	case "resource":
		q.Types = intersect(q.Types, resourceTypes)
	case "T":
		var ts []string
		for _, t := range strings.Split(strings.ToLower(val), ",") {
			if !knownTypes[t] {
				return qerr(errType, "unknown object type", fmt.Sprintf("%q is not a known object type.", t), "Use \"-q types\" to list known object types.")
			}
			ts = append(ts, t)
		}
		q.Types = intersect(q.Types, ts)
	case "i":
		for _, a := range strings.Split(strings.ToLower(val), ",") {
			inv, known := attributes[a]
			switch {
			case !known:
				return qerr(errAttribute, "unknown attribute", fmt.Sprintf("%q is not a known attribute.", a))
			case !inv:
				return qerr(errNotInverse, "attribute is not searchable", fmt.Sprintf("%q is not an inverse searchable attribute.", a))
			}
			q.Inverse = append(q.Inverse, a)
		}
	case "s":
		for _, s := range strings.Split(val, ",") {
			if !strings.EqualFold(s, SourceName) {
				return qerr(errSource, "unknown source", fmt.Sprintf("%q is not a known source.", s), "Use \"-q sources\" to list known sources.")
			}
		}
	case "q":
		v := strings.ToLower(val)
		if v != "version" && v != "types" && v != "sources" {
			return qerr(errOption, "invalid option supplied", fmt.Sprintf("-q %q: the keywords are version, types and sources.", val))
		}
		if q.Info != "" {
			return qerr(errMultipleFlag, "multiple use of flag", "The flag -q is given more than once.")
		}
		q.Info = v
	}
	return nil
}

// intersect narrows a type selection: nil means every type.
func intersect(cur, add []string) []string {
	if cur == nil {
		return add
	}
	out := []string{}
	for _, t := range cur {
		for _, a := range add {
			if t == a {
				out = append(out, t)
				break
			}
		}
	}
	return out
}
