package whois

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// object is one RPSL object (RFC 2622 §2): its class and primary key, and its attributes in
// order, the first being the class with the key.
type object struct {
	typ   string
	key   string
	attrs []attr
	// filtered marks an object from which the default output removed attributes; its
	// source line says so, as the RIPE Database does.
	filtered bool
	// ident names the object within one answer when its key does not: holdings at two
	// depths may cover the same range.
	ident string
}

type attr struct{ name, value string }

func newObject(typ, key string) *object {
	return &object{typ: typ, key: key, attrs: []attr{{typ, key}}}
}

// add appends an attribute; an empty value is left out.
func (o *object) add(name, value string) {
	if value != "" {
		o.attrs = append(o.attrs, attr{name, value})
	}
}

// id names the object within one answer, to print each once.
func (o *object) id() string {
	if o.ident != "" {
		return o.ident
	}
	return o.typ + "/" + o.key
}

// holdingIdent is the id of a holding's object.
func holdingIdent(h *ipledger.Holding) string { return "holding/" + strconv.FormatUint(h.ID, 10) }

// valueColumn is where values start: RIPE pads "name:" to 16 columns.
const valueColumn = 16

// writeTo appends the object's text: one "name: value" line per attribute, the value
// escaped by appendValue, so that no value can end its line or the object.
func (o *object) writeTo(b *strings.Builder) {
	for _, a := range o.attrs {
		b.WriteString(a.name)
		b.WriteByte(':')
		pad := valueColumn - len(a.name) - 1
		if pad < 1 {
			pad = 1
		}
		b.WriteString(strings.Repeat(" ", pad))
		appendValue(b, a.value)
		b.WriteByte('\n')
	}
}

// appendValue writes s as text that stays on its line, which every attribute value and
// every value from the state quoted in a comment goes through: whatever the state holds
// (records from before the ledger refused such text, imported files, future kinds), a value
// cannot end its line, so it cannot start an attribute, a "%" comment, a continuation line
// (RFC 2622 §2: a line starting with space, tab or '+') or the empty line that ends an
// object. The escapes keep the mapping one to one, readable by people and by RPSL readers,
// which take the value as plain text:
//
//   - a backslash is written \\;
//   - an ASCII control character (C0 and DEL, categories Cc) is \xHH, "\r" being \x0d;
//   - a byte that is not part of valid UTF-8 is \xHH too, HH being 80 to ff, which no ASCII
//     control has, so the two stay apart;
//   - any other character of categories Cc (C1), Cf (bidi controls such as U+202E, zero-width
//     characters, the byte order mark), Zl or Zp (U+2028, U+2029, which some readers take as
//     line breaks) is \uHHHH, or \UHHHHHHHH above U+FFFF;
//   - a space character at the start or end, which readers trim, is \x20 or \uHHHH.
//
// Every other character is written as it is.
func appendValue(b *strings.Builder, s string) {
	if !needsEscape(s) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		edge := i == 0 || i+n == len(s)
		switch {
		case r == utf8.RuneError && n == 1:
			appendHex(b, `\x`, uint32(s[i]), 2)
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf && (unicode.IsControl(r) || edge && r == ' '):
			appendHex(b, `\x`, uint32(r), 2)
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) || edge && unicode.IsSpace(r):
			if r > 0xffff {
				appendHex(b, `\U`, uint32(r), 8)
			} else {
				appendHex(b, `\u`, uint32(r), 4)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// needsEscape reports whether appendValue changes s: the common case, plain text, is copied.
func needsEscape(s string) bool {
	for i, r := range s {
		switch {
		case r == utf8.RuneError, r == '\\', r < ' ', r == 0x7f:
			return true
		case r >= 0x80 && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return true
		case unicode.IsSpace(r) && (i == 0 || i+utf8.RuneLen(r) == len(s)):
			return true
		}
	}
	return false
}

func appendHex(b *strings.Builder, prefix string, v uint32, digits int) {
	b.WriteString(prefix)
	const hex = "0123456789abcdef"
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>shift&0xf])
	}
}

// escapeValue returns s as appendValue writes it, for values quoted in comment lines.
func escapeValue(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	appendValue(&b, s)
	return b.String()
}

// keysOnly returns the object reduced to its primary key attribute (-K).
func (o *object) keysOnly() *object {
	return &object{typ: o.typ, key: o.key, attrs: o.attrs[:1], ident: o.ident}
}

// objectType names the RPSL class of a holding: inetnum for IPv4, inet6num for IPv6; for
// AS numbers, as the RIPE Database does, as-block for a registry's pool (whatever its
// size: RIPE writes "AS7 - AS7") and aut-num for one number a holder holds, as-block for a
// range of them.
func objectType(h *ipledger.Holding) string {
	switch h.Resource.Family() {
	case ipledger.IPv4:
		return typeInetnum
	case ipledger.IPv6:
		return typeInet6num
	}
	if h.Depth > 0 && h.Resource.FirstAS() == h.Resource.LastAS() {
		return typeAutNum
	}
	return typeASBlock
}

// primaryKey formats a holding's resource as the primary key of its object: "192.0.2.0 -
// 192.0.2.255" for inetnum, the prefix for inet6num (a range where the space is not one
// prefix: pools, which merge), "AS64496" for aut-num and "AS64496 - AS64511" for as-block,
// "AS64496 - AS64496" for one.
func primaryKey(h *ipledger.Holding) string {
	r := h.Resource
	switch r.Family() {
	case ipledger.IPv4:
		return r.FirstAddr().String() + " - " + r.LastAddr().String()
	case ipledger.IPv6:
		if p, ok := r.Prefix(); ok {
			return p.String()
		}
		return r.FirstAddr().String() + " - " + r.LastAddr().String()
	}
	if objectType(h) == typeAutNum {
		return "AS" + strconv.FormatUint(uint64(r.FirstAS()), 10)
	}
	return "AS" + strconv.FormatUint(uint64(r.FirstAS()), 10) + " - AS" + strconv.FormatUint(uint64(r.LastAS()), 10)
}

// autNumStatus is the status of an aut-num object in RIPE's words (ASSIGNED, LEGACY,
// OTHER): a number a registry allocated or assigned is ASSIGNED; LEGACY stays; any other
// status (a lease) is OTHER.
func autNumStatus(s ipledger.Status) string {
	switch s {
	case ipledger.StatusAllocated, ipledger.StatusAssigned:
		return "ASSIGNED"
	case ipledger.StatusLegacy:
		return "LEGACY"
	}
	return "OTHER"
}

// timestamp formats a block time as the RIPE Database does (ISO 8601, UTC, seconds).
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// roleHandle is the nic-hdl of an organisation's abuse contact, a role object derived from
// its abuse mailbox.
func roleHandle(org string) string { return org + roleSuffix }

const roleSuffix = "-ABUSE"

// orgType is the organisation's org-type in RIPE's words.
func orgType(o *ipledger.Organisation) string {
	switch {
	case o.Handle == ipledger.IANA:
		return "IANA"
	case o.IsRegistry:
		return "RIR"
	}
	return "OTHER"
}

// maintainers lists who signs changes to what an organisation holds: the organisation
// itself once it has a key; until then the registry that registered it, which binds the
// first key (bind-key).
func maintainers(o *ipledger.Organisation) []string {
	if len(o.Keys) > 0 || o.Registry == "" {
		return []string{o.Handle}
	}
	return []string{o.Registry}
}

// orgMaintainers lists who may change an organisation record (update-org): itself once it
// has a key, and its registry.
func orgMaintainers(o *ipledger.Organisation) []string {
	var out []string
	if len(o.Keys) > 0 || o.Registry == "" {
		out = append(out, o.Handle)
	}
	if o.Registry != "" {
		out = append(out, o.Registry)
	}
	return out
}

// whoisHosts are the RIRs' own WHOIS services (ipledger.Registry's WHOIS), where space
// they do not yet manage on the ledger is registered, by handle.
var whoisHosts = func() map[string]string {
	m := map[string]string{}
	for _, h := range ipledger.RIRs {
		r, _ := ipledger.RegistryOf(h)
		m[h] = r.WHOIS
	}
	return m
}()

// holdingObject renders a holding. holder is its organisation (nil if missing, which the
// ledger does not allow).
func holdingObject(h *ipledger.Holding, holder *ipledger.Organisation) *object {
	typ := objectType(h)
	o := newObject(typ, primaryKey(h))
	o.ident = holdingIdent(h)
	// The ledger has no network names yet: the holder's handle stands in (RIPE's netname
	// and as-name are free-form labels).
	switch typ {
	case typeInetnum, typeInet6num:
		o.add("netname", h.Holder)
	case typeAutNum:
		o.add("as-name", h.Holder)
	}
	if holder != nil {
		o.add("descr", holder.Name)
	}
	o.add("org", h.Holder)
	// RIPE's aut-num and as-block have no country; RDAP's autnum carries it.
	if h.Resource.Family() != ipledger.ASN {
		o.add("country", h.Country)
	}
	if holder != nil && holder.AbuseMailbox != "" {
		o.add("abuse-c", roleHandle(holder.Handle))
	}
	switch typ {
	case typeInetnum, typeInet6num:
		o.add("status", string(h.Status))
	case typeAutNum:
		o.add("status", autNumStatus(h.Status))
		if autNumStatus(h.Status) != string(h.Status) {
			o.add("remarks", "ledger status "+string(h.Status))
		}
	default:
		// as-block has no status attribute in RIPE's schema.
		o.add("remarks", "ledger status "+string(h.Status))
	}
	o.add("remarks", "ledger handle "+h.Handle()+" at depth "+strconv.Itoa(h.Depth)+depthWord(h.Depth))
	if h.Origin != 0 {
		o.add("remarks", "split from "+ipledger.HoldingHandle(h.Origin))
	}
	o.add("remarks", "history: /v1/holdings/"+strconv.FormatUint(h.ID, 10)+" on the JSON API of any ipledger node")
	if typ == typeInetnum || typ == typeInet6num {
		o.add("remarks", "passport (history, blocklist observations, grade): /v1/passport/"+h.Resource.String())
	}
	if holder != nil {
		for _, m := range maintainers(holder) {
			o.add("mnt-by", m)
		}
	}
	o.add("created", h.Registered)
	o.add("last-modified", timestamp(h.Changed))
	o.add("source", SourceName)
	return o
}

func depthWord(d int) string {
	switch d {
	case 0:
		return " (registry pool)"
	case 1:
		return " (from the registry)"
	}
	return ""
}

// orgObject renders an organisation. Keyless holders imported from delegated statistics
// show what the registry supplied: name, country, opaque id and the registry itself.
func orgObject(o *ipledger.Organisation) *object {
	obj := newObject(typeOrg, o.Handle)
	obj.add("org-name", o.Name)
	obj.add("org-type", orgType(o))
	obj.add("country", o.Country)
	if o.AbuseMailbox != "" {
		obj.add("abuse-c", roleHandle(o.Handle))
	}
	if o.Registry != "" {
		obj.add("remarks", "registered by "+o.Registry)
	}
	if o.OpaqueID != "" {
		obj.add("remarks", "opaque-id "+o.OpaqueID+" in "+o.Registry+"'s delegated statistics")
	}
	switch {
	case o.IsRegistry && o.Handle != ipledger.IANA && o.Authoritative:
		obj.add("remarks", "this registry's records are kept on the ledger")
	case o.IsRegistry && whoisHosts[o.Handle] != "":
		obj.add("remarks", "this registry's records are not on the ledger yet: see "+whoisHosts[o.Handle])
	case !o.IsRegistry && len(o.Keys) == 0:
		obj.add("remarks", "no key bound yet: "+o.Registry+" signs for this holder until it claims the record")
	}
	obj.add("remarks", "history: /v1/orgs/"+o.Handle+" on the JSON API of any ipledger node")
	for _, m := range orgMaintainers(o) {
		obj.add("mnt-by", m)
	}
	obj.add("created", timestamp(o.Created))
	obj.add("last-modified", timestamp(o.Updated))
	obj.add("source", SourceName)
	return obj
}

// roleObject renders the abuse contact of o (which must have an abuse mailbox). Without -B
// the mailbox is filtered out, as the RIPE Database filters e-mail attributes.
func roleObject(o *ipledger.Organisation, unfiltered bool) *object {
	obj := newObject(typeRole, "Abuse contact of "+o.Handle)
	obj.key = roleHandle(o.Handle)
	obj.add("org", o.Handle)
	if unfiltered {
		obj.add("abuse-mailbox", o.AbuseMailbox)
	} else {
		obj.filtered = true
	}
	obj.add("nic-hdl", roleHandle(o.Handle))
	for _, m := range orgMaintainers(o) {
		obj.add("mnt-by", m)
	}
	obj.add("created", timestamp(o.Created))
	obj.add("last-modified", timestamp(o.Updated))
	src := SourceName
	if obj.filtered {
		src += " # Filtered"
	}
	obj.add("source", src)
	return obj
}
