// Package blocklist reads public blocklists as their publishers write them — Spamhaus DROP
// JSON and FireHOL netsets — and computes the changes between an observer's set on the
// ledger and a list, as the observe transactions carry them (ipledger.ObserveBody).
package blocklist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/ipledger/ipledger"
)

// Entry is one listed prefix and the list's own id of it (empty if the list has none).
type Entry struct {
	Prefix netip.Prefix
	ID     string
}

// List is a list as read from its file: the entries in prefix order without duplicates,
// and the list's timestamp (Unix seconds; 0 if the file says none).
type List struct {
	Time    int64
	Entries []Entry
}

// maxLine bounds a line of either format.
const maxLine = 4096

// dropRecord is a line of DROP JSON: an entry, or the last, metadata line.
type dropRecord struct {
	CIDR      string `json:"cidr"`
	SBLID     string `json:"sblid"`
	RIR       string `json:"rir"`
	Type      string `json:"type"`
	Timestamp int64  `json:"timestamp"`
	Records   int    `json:"records"`
}

// ReadDROP reads Spamhaus DROP JSON (drop_v4.json, drop_v6.json): one object per line
// with cidr, sblid and rir, and a last metadata line with the list's timestamp and record
// count, which must match the entries read. Blank lines are skipped.
func ReadDROP(r io.Reader) (*List, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	l := &List{}
	meta := false
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if meta {
			return nil, fmt.Errorf("line %d: entry after the metadata line", n)
		}
		var rec dropRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if rec.Type == "metadata" {
			meta = true
			if rec.Records != len(l.Entries) {
				return nil, fmt.Errorf("line %d: metadata counts %d records, the file has %d", n, rec.Records, len(l.Entries))
			}
			if rec.Timestamp <= 0 {
				return nil, fmt.Errorf("line %d: metadata without a timestamp", n)
			}
			l.Time = rec.Timestamp
			continue
		}
		p, err := netip.ParsePrefix(rec.CIDR)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("line %d: %s has host bits set", n, p)
		}
		if len(rec.SBLID) > 64 {
			return nil, fmt.Errorf("line %d: sblid longer than 64 bytes", n)
		}
		l.Entries = append(l.Entries, Entry{Prefix: p, ID: rec.SBLID})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read drop list: %w", err)
	}
	if !meta {
		return nil, fmt.Errorf("drop list without its metadata line (truncated?)")
	}
	return l, l.sort()
}

// ReadNetset reads a FireHOL netset: '#' comments, one CIDR or address per line (an
// address is its /32 or /128). FireHOL writes no timestamp the ledger could trust as the
// list's, so Time is 0 and the caller supplies one.
func ReadNetset(r io.Reader) (*List, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	l := &List{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(line, "/") {
			p, err = netip.ParsePrefix(line)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(line); err == nil && a.Zone() == "" {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !p.IsValid() || p != p.Masked() {
			return nil, fmt.Errorf("line %d: %s is not a plain prefix", n, line)
		}
		l.Entries = append(l.Entries, Entry{Prefix: p})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read netset: %w", err)
	}
	return l, l.sort()
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// sort orders the entries by prefix; a prefix listed twice is an error.
func (l *List) sort() error {
	slices.SortStableFunc(l.Entries, func(a, b Entry) int { return comparePrefix(a.Prefix, b.Prefix) })
	for i := 1; i < len(l.Entries); i++ {
		if l.Entries[i].Prefix == l.Entries[i-1].Prefix {
			return fmt.Errorf("%s listed twice", l.Entries[i].Prefix)
		}
	}
	return nil
}

// Changes returns what turns the set current into the list want: delistings of what
// current holds and want lacks (with current's id), listings of what want holds and
// current lacks, each group in prefix order. An entry whose id changed is delisted and
// listed again.
func Changes(current, want []Entry) []ipledger.ObservationChange {
	have := make(map[netip.Prefix]string, len(current))
	for _, e := range current {
		have[e.Prefix] = e.ID
	}
	wanted := make(map[netip.Prefix]string, len(want))
	for _, e := range want {
		wanted[e.Prefix] = e.ID
	}
	var del, add []ipledger.ObservationChange
	for _, e := range current {
		if id, ok := wanted[e.Prefix]; !ok || id != e.ID {
			del = append(del, ipledger.ObservationChange{Event: ipledger.ObservationDelisted, Prefix: e.Prefix, ID: e.ID})
		}
	}
	for _, e := range want {
		if id, ok := have[e.Prefix]; !ok || id != e.ID {
			add = append(add, ipledger.ObservationChange{Event: ipledger.ObservationListed, Prefix: e.Prefix, ID: e.ID})
		}
	}
	sortChanges(del)
	sortChanges(add)
	return append(del, add...)
}

func sortChanges(cs []ipledger.ObservationChange) {
	slices.SortFunc(cs, func(a, b ipledger.ObservationChange) int { return comparePrefix(a.Prefix, b.Prefix) })
}

// Batches splits changes into observe bodies of list at listTime, at most max changes
// each, in order.
func Batches(list string, listTime int64, changes []ipledger.ObservationChange, max int) []ipledger.ObserveBody {
	var out []ipledger.ObserveBody
	for len(changes) > 0 {
		n := min(len(changes), max)
		out = append(out, ipledger.ObserveBody{List: list, ListTime: listTime, Changes: changes[:n:n]})
		changes = changes[n:]
	}
	return out
}
