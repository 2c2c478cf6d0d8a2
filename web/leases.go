package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// offerFilter is what the leases page's form asks for; the zero offerFilter lists every
// open offer.
type offerFilter struct {
	Registry string // a registry's handle
	Country  string // ISO 3166 code of the lessor's holding (or the lessor)
	MinSize  uint64 // addresses (IPv4) or /64s... at least; 0 any
	MaxPrice uint64 // per address (IPv4) or block (IPv6) per period; 0 any
	After    uint64 // offers after this id
}

// leasesData is the leases page's model.
type leasesData struct {
	Filter     offerFilter
	Registries []string
	Sizes      []sizeChoice
	Offers     []offerRow
	Next       string // the next page's path, or ""
	Running    []*ipledger.Lease
	RunMore    bool
}

type offerRow struct {
	*ipledger.Offer
	Registry, Country string
}

type sizeChoice struct {
	Value    uint64
	Label    string
	Selected bool
}

func parseOfferFilter(q url.Values) (offerFilter, error) {
	var f offerFilter
	f.Registry = strings.ToUpper(q.Get("registry"))
	if f.Registry != "" && !slices.Contains(ipledger.Registries, f.Registry) {
		return f, invalid("registry=%.20q: want one of %s", f.Registry, strings.Join(ipledger.Registries, ", "))
	}
	f.Country = strings.ToUpper(q.Get("country"))
	if f.Country != "" && !ipledger.ValidCountry(f.Country) {
		return f, invalid("country=%.20q: want a two-letter ISO 3166 code", f.Country)
	}
	for name, at := range map[string]*uint64{"min_size": &f.MinSize, "max_price": &f.MaxPrice, "after": &f.After} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return f, invalid("%s=%.20q: want a whole number", name, v)
			}
			*at = n
		}
	}
	return f, nil
}

// query is f as a query string, with after set to next.
func (f offerFilter) query(next uint64) string {
	v := url.Values{}
	for name, s := range map[string]string{"registry": f.Registry, "country": f.Country} {
		if s != "" {
			v.Set(name, s)
		}
	}
	for name, n := range map[string]uint64{"min_size": f.MinSize, "max_price": f.MaxPrice, "after": next} {
		if n != 0 {
			v.Set(name, strconv.FormatUint(n, 10))
		}
	}
	return v.Encode()
}

func (h *handler) leases(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	f, err := parseOfferFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	d := &leasesData{Filter: f, Registries: ipledger.Registries}
	for _, bits := range []int{24, 22, 20, 16} {
		n := uint64(1) << (32 - bits)
		d.Sizes = append(d.Sizes, sizeChoice{Value: n, Label: "/" + strconv.Itoa(bits) + " (" + strconv.FormatUint(n, 10) + " addresses)", Selected: n == f.MinSize})
	}
	p := &Page{Title: "Leases", JSON: "/v1/offers", name: "leases", Data: d}
	kv := snap.State
	more := false
	var ferr error
	err = ledger.Offers(kv, func(o *ipledger.Offer) bool {
		if o.ID <= f.After {
			return true
		}
		row, ok, err := matchOffer(kv, o, f)
		if err != nil {
			ferr = err
			return false
		}
		if ok {
			return appendRow(&d.Offers, row, &more)
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("offers: %w", err)
	}
	if more {
		d.Next = "/leases?" + f.query(d.Offers[len(d.Offers)-1].ID)
	}
	if d.Running, d.RunMore, err = rows(kv, ledger.Leases, func(l *ipledger.Lease) bool { return l.State != ipledger.LeaseEnded }); err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	return p, nil
}

// matchOffer reports whether o passes f, with the registry and country it was judged by.
func matchOffer(kv ipledger.KV, o *ipledger.Offer, f offerFilter) (offerRow, bool, error) {
	row := offerRow{Offer: o}
	if n, ok := o.Resource.Size(); f.MinSize != 0 && ok && n < f.MinSize {
		return row, false, nil
	}
	if f.MaxPrice != 0 && o.Price > f.MaxPrice {
		return row, false, nil
	}
	chn, err := ledger.Lookup(kv, o.Resource)
	if err != nil {
		return row, false, err
	}
	if len(chn) > 0 {
		row.Registry = chn[0].Holder
	}
	if o.Depth < len(chn) {
		row.Country = chn[o.Depth].Country
	}
	if row.Country == "" {
		if org, err := ledger.Org(kv, o.Lessor); err != nil {
			return row, false, err
		} else if org != nil {
			row.Country = org.Country
		}
	}
	ok := (f.Registry == "" || row.Registry == f.Registry) && (f.Country == "" || row.Country == f.Country)
	return row, ok, nil
}
