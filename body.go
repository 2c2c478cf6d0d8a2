package ipledger

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Transaction bodies, one per Kind. They travel as JSON inside the signed payload; unknown
// fields are rejected. Batched kinds (RegisterOrg, RegistryTransfer, Allocate, Assign) apply
// all items or none.

// MaxBatchItems bounds the items of one batched transaction.
const MaxBatchItems = 20000

// NewOrg describes an organisation a registry registers.
type NewOrg struct {
	Handle       string      `json:"handle"`
	Name         string      `json:"name"`
	Country      string      `json:"country,omitempty"`
	AbuseMailbox string      `json:"abuse_mailbox,omitempty"`
	Keys         []PublicKey `json:"keys,omitempty"`
	OpaqueID     string      `json:"opaque_id,omitempty"`
}

// RegisterOrgBody registers organisations under the signing registry.
type RegisterOrgBody struct {
	Orgs []NewOrg `json:"orgs"`
}

// BindKeyBody adds Key to Org; the signer must be Org's registry. It is how a registry hands
// a keyless (imported) record to its real holder.
type BindKeyBody struct {
	Org string    `json:"org"`
	Key PublicKey `json:"key"`
}

// RotateKeysBody adds and removes keys of Org, signed by Org itself. At least one key must
// remain.
type RotateKeysBody struct {
	Org    string      `json:"org"`
	Add    []PublicKey `json:"add,omitempty"`
	Remove []PublicKey `json:"remove,omitempty"`
}

// UpdateOrgBody changes the contact data of Org; empty fields stay as they are.
type UpdateOrgBody struct {
	Org          string `json:"org"`
	Name         string `json:"name,omitempty"`
	Country      string `json:"country,omitempty"`
	AbuseMailbox string `json:"abuse_mailbox,omitempty"`
}

// RegistryTransferItem moves pool space from one registry to another.
type RegistryTransferItem struct {
	Resource Resource `json:"resource"`
	From     string   `json:"from"`
	To       string   `json:"to"`
}

// RegistryTransferBody carries inter-registry transfers; each item's From and To registries
// must both sign.
type RegistryTransferBody struct {
	Items []RegistryTransferItem `json:"items"`
}

// AllocateItem gives Resource from the signing registry's pool to Org.
type AllocateItem struct {
	Resource   Resource `json:"resource"`
	Org        string   `json:"org"`
	Status     Status   `json:"status"`
	Country    string   `json:"country,omitempty"`
	Registered string   `json:"registered,omitempty"` // original date YYYY-MM-DD; block date if empty
}

// AllocateBody carries allocations from the signer's pools.
type AllocateBody struct {
	Items []AllocateItem `json:"items"`
}

// AssignBody carries assignments or sub-allocations inside holdings of the signer.
type AssignBody struct {
	Items []AllocateItem `json:"items"`
}

// TransferBody moves Resource (a whole holding or part of one) from the first signer to To,
// who signs second.
type TransferBody struct {
	Resource Resource `json:"resource"`
	To       string   `json:"to"`
}

// ReturnBody gives Resource (a whole holding or part of one) back to the parent holding.
type ReturnBody struct {
	Resource Resource `json:"resource"`
}

// CheckText returns an *Error with CodeBadText if any text in v — a string or a value of a
// string type, in an exported struct field, slice or array element, map key or value, at
// any depth — is not valid UTF-8 or holds a rune of Unicode category Cc or Cf: the C0 and
// C1 controls and DEL, bidirectional controls such as U+202E, U+FEFF and the like. Names,
// mailboxes and other text of the registry are printed by WHOIS, RDAP and the web, where
// such runes could forge lines or hide what a reader sees. It returns nil for nil.
func CheckText(v any) error {
	if v == nil {
		return nil
	}
	bad := checkText(reflect.ValueOf(v))
	if bad == nil {
		return nil
	}
	what := "invalid UTF-8"
	if bad.r != utf8.RuneError {
		what = fmt.Sprintf("the control or format character U+%04X", bad.r)
	}
	path := "text"
	if len(bad.path) > 0 {
		slices.Reverse(bad.path)
		path = strings.Join(bad.path, ".")
	}
	return Errorf(CodeBadText, "%s holds %s", path, what)
}

// badText is where checkText found a refused rune: the path from the value checked, last
// step first (it is built on the way back up, so the walk allocates nothing on success).
type badText struct {
	r    rune
	path []string
}

func checkText(v reflect.Value) *badText {
	switch v.Kind() {
	case reflect.String:
		if r, ok := badRune(v.String()); ok {
			return &badText{r: r}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkText(v.Elem())
		}
	case reflect.Struct:
		for _, f := range planOf(v.Type()).fields {
			if bad := checkText(v.Field(f.index)); bad != nil {
				bad.path = append(bad.path, f.name)
				return bad
			}
		}
	case reflect.Slice, reflect.Array:
		if !planOf(v.Type()).text {
			return nil
		}
		for i := range v.Len() {
			if bad := checkText(v.Index(i)); bad != nil {
				bad.path = append(bad.path, strconv.Itoa(i))
				return bad
			}
		}
	case reflect.Map:
		if !planOf(v.Type()).text {
			return nil
		}
		// In key order, not map order: the message names the first refusal, the same on
		// every node.
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			if bad := checkText(k); bad != nil {
				bad.path = append(bad.path, "(key)")
				return bad
			}
			if bad := checkText(v.MapIndex(k)); bad != nil {
				bad.path = append(bad.path, fmt.Sprint(k))
				return bad
			}
		}
	}
	return nil
}

// badRune returns the first rune of s that CheckText refuses (utf8.RuneError for invalid
// UTF-8) and true, or false if there is none.
func badRune(s string) (rune, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7F {
				return rune(c), true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return r, true
		}
		if unicode.In(r, unicode.Cc, unicode.Cf) {
			return r, true
		}
		i += n
	}
	return 0, false
}

// textPlan is what checkText needs to know of a type: whether a value of it can hold text,
// and for a struct, the exported fields that can, with their JSON names for messages.
type textPlan struct {
	text   bool
	fields []textField
}

type textField struct {
	index int
	name  string
}

// textPlans caches the plan of each type walked (reflect.Type → *textPlan).
var textPlans sync.Map

func planOf(t reflect.Type) *textPlan {
	if p, ok := textPlans.Load(t); ok {
		return p.(*textPlan)
	}
	p := &textPlan{text: hasText(t, map[reflect.Type]bool{})}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || !hasText(f.Type, map[reflect.Type]bool{}) {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				name = tag
			}
			p.fields = append(p.fields, textField{i, name})
		}
	}
	textPlans.Store(t, p)
	return p
}

// hasText reports whether a value of type t can hold a string that checkText visits.
func hasText(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a recursive type: its text, if any, is found on another path
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hasText(t.Elem(), seen)
	case reflect.Map:
		return hasText(t.Key(), seen) || hasText(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && hasText(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
