package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/geofeed"
	"github.com/ipledger/ipledger/ledger"
)

// The leasing market in the JSON API: balances, route authorisations, offers and leases.

func (s *server) mountMarket() {
	s.handle("GET /v1/balances/{org}", s.balance)
	s.handle("GET /v1/leases", orgListing(s, "leases", listLeases))
	s.handle("GET /v1/leases/{id}", s.lease)
	s.handle("GET /v1/offers", orgListing(s, "offers", listOffers))
	s.handle("GET /v1/routes", orgListing(s, "routes", listRoutes))
	s.handle("GET /geofeed.csv", s.geofeed)
	s.handle("GET /geofeed/{org}", s.geofeed)
	s.mountTrades()
	s.mountBooks()
}

func (s *server) balance(w http.ResponseWriter, r *http.Request) error {
	org, err := orgHandle(r.PathValue("org"))
	if err != nil {
		return err
	}
	snap := s.app.Committed()
	if _, err := lookup(snap.State, ledger.Org, org, "no organisation %s", org); err != nil {
		return err
	}
	b, err := ledger.Balance(snap.State, org)
	if err != nil {
		return err
	}
	held, err := ledger.Held(snap.State, org)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, apitypes.BalanceInfo{Org: org, Balance: b, Held: held, Height: snap.Height})
}

func (s *server) lease(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return invalid("lease id %.30q: want a positive number", r.PathValue("id"))
	}
	snap := s.app.Committed()
	l, err := lookup(snap.State, ledger.LeaseByID, id, "no lease %d", id)
	if err != nil {
		return err
	}
	after, err := historyAfter(r)
	if err != nil {
		return err
	}
	info := &apitypes.LeaseInfo{Lease: *l, End: l.End(), Height: snap.Height}
	if info.History, info.HistoryNext, err = s.history(r.Context(), after, "lease/"+strconv.FormatUint(id, 10)); err != nil {
		return err
	}
	info.HistoryTruncated = info.HistoryNext != ""
	return s.writeJSON(w, http.StatusOK, info)
}

// lookup reads key from kv with get; nothing there (nil) is notFound(format, args...).
func lookup[K, T any](kv ipledger.KV, get func(ipledger.KV, K) (*T, error), key K, format string, args ...any) (*T, error) {
	v, err := get(kv, key)
	if err == nil && v == nil {
		return nil, notFound(format, args...)
	}
	return v, err
}

// appendCapped appends v to *list for a listing's walk, unless *list already holds limit
// entries: then it sets *truncated and returns false to stop the walk.
func appendCapped[T any](list *[]T, v T, limit int, truncated *bool) bool {
	if len(*list) == limit {
		*truncated = true
		return false
	}
	*list = append(*list, v)
	return true
}

// orgFilter reads the optional ?org= of a listing.
func orgFilter(r *http.Request) (string, error) {
	if v := r.URL.Query().Get("org"); v != "" {
		return orgHandle(v)
	}
	return "", nil
}

// orgListing is the handler of a market listing of the committed state: list builds it
// with only the entries of ?org= (org; "" for all of them).
func orgListing[T any](s *server, what string, list func(r *http.Request, snap *ipledger.Snapshot, org string) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, err := orgFilter(r)
		if err != nil {
			return err
		}
		out, err := list(r, s.app.Committed(), org)
		if err != nil {
			return fmt.Errorf("list %s: %w", what, err)
		}
		return s.writeJSON(w, http.StatusOK, out)
	}
}

// listLeases lists leases, running first or all with ?all=true, of org as lessor or lessee.
func listLeases(r *http.Request, snap *ipledger.Snapshot, org string) (*apitypes.LeaseList, error) {
	all := r.URL.Query().Get("all") == "true"
	out := &apitypes.LeaseList{Height: snap.Height, Leases: []*ipledger.Lease{}}
	return out, ledger.Leases(snap.State, func(l *ipledger.Lease) bool {
		if (org == "" || l.Lessor == org || l.Lessee == org) && (all || l.State != ipledger.LeaseEnded) {
			return appendCapped(&out.Leases, l, MaxMarketList, &out.Truncated)
		}
		return true
	})
}

// listOffers lists the open offers of org as lessor.
func listOffers(_ *http.Request, snap *ipledger.Snapshot, org string) (*apitypes.LeaseList, error) {
	out := &apitypes.LeaseList{Height: snap.Height, Offers: []*ipledger.Offer{}}
	return out, ledger.Offers(snap.State, func(o *ipledger.Offer) bool {
		if org == "" || o.Lessor == org {
			return appendCapped(&out.Offers, o, MaxMarketList, &out.Truncated)
		}
		return true
	})
}

// listRoutes lists the route authorisations of org as holder, each marked whether it is
// in force at the committed block's time.
func listRoutes(_ *http.Request, snap *ipledger.Snapshot, org string) (*apitypes.RouteList, error) {
	inForce := map[uint64]bool{}
	if err := ledger.InForce(snap.State, snap.Block.Time.Unix(), func(ra *ipledger.RouteAuth) bool {
		inForce[ra.ID] = true
		return true
	}); err != nil {
		return nil, err
	}
	out := &apitypes.RouteList{Height: snap.Height, Routes: []apitypes.RouteInfo{}}
	return out, ledger.RouteAuths(snap.State, func(ra *ipledger.RouteAuth) bool {
		if org == "" || ra.Holder == org {
			return appendCapped(&out.Routes, apitypes.RouteInfo{RouteAuth: *ra, InForce: inForce[ra.ID]}, MaxMarketList, &out.Truncated)
		}
		return true
	})
}

// geofeed serves GET /geofeed.csv (every block with a published location) and
// GET /geofeed/{org} ("ORG-X.csv": that organisation's), in RFC 8805 format. Ranges that are
// not one prefix are written as their exact CIDR decomposition.
func (s *server) geofeed(w http.ResponseWriter, r *http.Request) error {
	org := ""
	if v := r.PathValue("org"); v != "" {
		h, ok := strings.CutSuffix(v, ".csv")
		if !ok {
			return notFound("geofeeds are at /geofeed/HANDLE.csv")
		}
		var err error
		if org, err = orgHandle(h); err != nil {
			return err
		}
	}
	snap := s.app.Committed()
	var entries []geofeed.Entry
	err := ledger.Geos(snap.State, func(g *ipledger.Geo) bool {
		if org == "" || g.Holder == org {
			for _, p := range g.Resource.Prefixes() {
				entries = append(entries, geofeed.Entry{Prefix: p, Country: g.Country, Region: g.Region, City: g.City})
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("geofeed: %w", err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	// Text from the state is cleaned and quoted by geofeed.Write; nosniff keeps a browser
	// from taking the feed for anything but CSV.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	header := fmt.Sprintf("RFC 8805 geofeed from the ipledger registry at height %d", snap.Height)
	if org != "" {
		header += ", blocks of " + org
	}
	if err := geofeed.Write(w, header, entries); err != nil {
		s.log.Error("write geofeed", "err", err)
	}
	return nil
}
