package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// The market pages: /market (listings with their countdowns, recent trades, a chart of the
// price per IPv4 address by registry and prefix length and one of turnover, both drawn on
// the server) and /listing/ID. Class books and market statistics come with class auctions:
// market.html keeps a slot for each ({{block "market-classes"}}, {{block "market-stats"}}).

// marketData is the market page's model.
type marketData struct {
	Listings []listingRow
	ListMore bool // more live listings than shown
	Trades   []ipledger.Trade
	Total    int // trades on the ledger
	Price    *priceChart
	Turnover *barChart
}

// listingRow is a listing with its countdown from the page's block time.
type listingRow struct {
	*ipledger.Listing
	EndsAt time.Time
	Left   string // "2 days 4 hours", "ended"
}

func newListingRow(l *ipledger.Listing, now time.Time) listingRow {
	end := time.Unix(l.End, 0).UTC()
	return listingRow{Listing: l, EndsAt: end, Left: countdown(end.Sub(now))}
}

// countdown writes d as its two largest units, "ended" when it has passed.
func countdown(d time.Duration) string {
	s := int64(d / time.Second)
	if s <= 0 {
		return "ended"
	}
	units := []struct {
		n    int64
		name string
	}{{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}}
	var parts []string
	for _, u := range units {
		if s >= u.n && len(parts) < 2 {
			parts = append(parts, plural(s/u.n, u.name))
			s %= u.n
		} else if len(parts) > 0 {
			break // "1 day 10 seconds" says less than "1 day"
		}
	}
	return strings.Join(parts, " ")
}

// maxRecentTrades is how many of the latest trades the market page lists.
const maxRecentTrades = 50

func (h *handler) market(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	d := &marketData{}
	now := snap.Block.Time
	err := ledger.Listings(snap.State, func(l *ipledger.Listing) bool {
		if l.State != ipledger.ListingOpen && l.State != ipledger.ListingPending {
			return true
		}
		if len(d.Listings) == MaxRows {
			d.ListMore = true
			return false
		}
		d.Listings = append(d.Listings, newListingRow(l, now))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listings: %w", err)
	}
	// Soonest end first: what a bidder must act on.
	slices.SortStableFunc(d.Listings, func(a, b listingRow) int { return cmp.Compare(a.End, b.End) })
	m, err := h.trades.get(snap)
	if err != nil {
		return nil, err
	}
	d.Trades, d.Total = m.recent, m.total
	d.Price, d.Turnover = m.priceChart(), m.turnoverChart()
	return &Page{Title: "Market", JSON: "/v1/market/listings", name: "market", Data: d}, nil
}

// listingData is the listing page's model.
type listingData struct {
	listingRow
	Self        string
	Registry    string
	History     []historyRow
	HistoryNext string
}

func (h *handler) listing(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("id")
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || id == 0 {
		return nil, invalid("listing %.30q: want a positive number", arg)
	}
	l, err := ledger.ListingByID(snap.State, id)
	if l, err = found(l, err, "listing "+arg); err != nil {
		return nil, err
	}
	after, err := param(r, "history_after", ipledger.ParseHistoryPos)
	if err != nil {
		return nil, err
	}
	d := &listingData{listingRow: newListingRow(l, snap.Block.Time), Self: "/listing/" + arg}
	if d.Registry, err = registryOf(snap.State, l.Resource); err != nil {
		return nil, err
	}
	if d.History, d.HistoryNext, err = h.history(r.Context(), after, "listing/"+arg); err != nil {
		return nil, err
	}
	return &Page{Title: "Listing " + arg + ": " + l.Resource.String(), JSON: "/v1/market/listings/" + arg, name: "listing", Data: d}, nil
}

// registryOf returns the registry whose pool holds r ("" for none).
func registryOf(kv ipledger.KV, r ipledger.Resource) (string, error) {
	chn, err := ledger.Lookup(kv, r)
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", r, err)
	}
	if len(chn) == 0 {
		return "", nil
	}
	return chn[0].Holder, nil
}

// tradeCache follows the ledger's trades for the charts: every trade's time, price and
// series is read once (the registry of its block costs a lookup) and kept, so a chart
// over the whole market costs a walk of memory, not of the state. Like the page index it
// may be read a block ahead of a page's state, never behind.
type tradeCache struct {
	mu     sync.Mutex
	height int64
	last   uint64 // the last trade id read
	m      tradeSet
	byRes  map[ipledger.Resource]ipledger.Trade // the latest trade of each block traded
}

// tradeSet is what the market page reads: a copy is handed out.
type tradeSet struct {
	points []tradePoint
	recent []ipledger.Trade // newest first, at most maxRecentTrades
	total  int
}

// tradePoint is one trade as the charts see it.
type tradePoint struct {
	time   int64
	price  uint64
	ppu    uint64 // per IPv4 address; 0 for other families
	series string // "AFRINIC /24" for IPv4
}

// maxTradePoints bounds the trades charted; beyond it the oldest half is dropped.
const maxTradePoints = 1 << 20

func (c *tradeCache) get(snap *ipledger.Snapshot) (tradeSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.update(snap); err != nil {
		return tradeSet{}, err
	}
	// points only grows by appends (a drop clones), so a slice of it stays valid.
	return tradeSet{points: c.m.points[:len(c.m.points):len(c.m.points)], recent: slices.Clone(c.m.recent), total: c.m.total}, nil
}

// lastTrade returns the latest trade of exactly r, if r was ever traded.
func (c *tradeCache) lastTrade(snap *ipledger.Snapshot, r ipledger.Resource) (ipledger.Trade, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.update(snap); err != nil {
		return ipledger.Trade{}, false, err
	}
	t, ok := c.byRes[r]
	return t, ok, nil
}

// update reads the trades after the last one read, once per height. The caller holds mu.
func (c *tradeCache) update(snap *ipledger.Snapshot) error {
	if snap.Height > c.height {
		var ferr error
		err := ledger.TradesAfter(snap.State, c.last, func(t *ipledger.Trade) bool {
			c.last = t.ID
			c.m.total++
			if c.byRes == nil {
				c.byRes = map[ipledger.Resource]ipledger.Trade{}
			}
			c.byRes[t.Resource] = *t
			c.m.recent = append([]ipledger.Trade{*t}, c.m.recent[:min(len(c.m.recent), maxRecentTrades-1)]...)
			if t.Price == 0 {
				return true // a plain transfer: no price to chart
			}
			p := tradePoint{time: t.Time, price: t.Price}
			if t.Resource.Family() == ipledger.IPv4 {
				reg, err := registryOf(snap.State, t.Resource)
				if err != nil {
					ferr = err
					return false
				}
				p.ppu = t.PricePerUnit
				p.series = cmp.Or(reg, "no registry") + " /" + strconv.Itoa(prefixBits(t.Resource))
			}
			if len(c.m.points) >= maxTradePoints {
				c.m.points = slices.Clone(c.m.points[len(c.m.points)/2:])
			}
			c.m.points = append(c.m.points, p)
			return true
		})
		if err = cmp.Or(ferr, err); err != nil {
			return fmt.Errorf("trades: %w", err)
		}
		c.height = snap.Height
	}
	return nil
}

// prefixBits is the length of r as a prefix, or of the smallest prefix holding it.
func prefixBits(r ipledger.Resource) int {
	if p, ok := r.Prefix(); ok {
		return p.Bits()
	}
	return r.CommonBits()
}

// Chart geometry, in the SVG's own units.
const (
	chartW, chartH     = 600, 260
	plotL, plotR       = 60, 580
	plotTop, plotBot   = 20, 200
	chartBuckets       = 48 // time buckets across the trades' span
	maxSeries          = 6
	legendY, legendRow = 222, 16
)

// seriesColours are the lines' colours, each at least 4.5:1 on the chart's white.
var seriesColours = []string{"#0a4f96", "#8c1c13", "#15632f", "#6b3fa0", "#7a4a00", "#1b1b1b"}

// priceChart is a line chart of the mean price per IPv4 address per time bucket, one line
// per series (registry and prefix length), the series with most trades first.
type priceChart struct {
	Series      []series
	MaxY        uint64
	From, To    time.Time
	Description string
}

// series is one line and its legend.
type series struct {
	Name, Colour, Points string
	Dots                 []dot // each bucket's mean, marked
	Trades               int
	LegendX, LegendY     int
}

// dot is a point of a series.
type dot struct{ X, Y int }

// barChart is a bar chart of credits traded per time bucket.
type barChart struct {
	Bars        []bar
	MaxY        uint64
	From, To    time.Time
	Bucket      string // "1 day"
	Description string
}

// bar is one bucket's rectangle.
type bar struct {
	X, Y, W, H int
	Label      string
}

// span returns the first and last trade time of pts and the bucket width in seconds.
func span(pts []tradePoint) (first, last, width int64) {
	first, last = pts[0].time, pts[0].time
	for _, p := range pts {
		first, last = min(first, p.time), max(last, p.time)
	}
	return first, last, max((last-first)/chartBuckets+1, 1)
}

func (m tradeSet) priceChart() *priceChart {
	var pts []tradePoint
	for _, p := range m.points {
		if p.ppu > 0 {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	first, last, width := span(pts)
	type acc struct{ sum, n uint64 }
	buckets := map[string]map[int64]*acc{}
	count := map[string]int{}
	var maxY uint64
	for _, p := range pts {
		b := buckets[p.series]
		if b == nil {
			b = map[int64]*acc{}
			buckets[p.series] = b
		}
		k := (p.time - first) / width
		if b[k] == nil {
			b[k] = &acc{}
		}
		b[k].sum += p.ppu
		b[k].n++
		count[p.series]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), strings.Compare(a, b)) })
	names = names[:min(len(names), maxSeries)]
	for _, n := range names {
		for _, a := range buckets[n] {
			maxY = max(maxY, a.sum/a.n)
		}
	}
	c := &priceChart{MaxY: maxY, From: time.Unix(first, 0).UTC(), To: time.Unix(last, 0).UTC()}
	for i, n := range names {
		keys := make([]int64, 0, len(buckets[n]))
		for k := range buckets[n] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		var dots []dot
		for j, k := range keys {
			a := buckets[n][k]
			if j > 0 {
				b.WriteByte(' ')
			}
			x := plotL + int((k*width+width/2)*(plotR-plotL)/max(last-first+width, 1))
			y := plotBot - int((a.sum/a.n)*(plotBot-plotTop)/max(maxY, 1))
			fmt.Fprintf(&b, "%d,%d", x, y)
			dots = append(dots, dot{x, y})
		}
		c.Series = append(c.Series, series{Name: n, Colour: seriesColours[i%len(seriesColours)], Points: b.String(), Dots: dots, Trades: count[n],
			LegendX: plotL + (i%3)*175, LegendY: legendY + (i/3)*legendRow})
	}
	c.Description = fmt.Sprintf("Mean price per IPv4 address of %d priced trades from %s to %s, by registry and prefix length (the %d series with most trades); the highest bucket mean is %d credits.",
		len(pts), when(c.From), when(c.To), len(names), maxY)
	return c
}

func (m tradeSet) turnoverChart() *barChart {
	if len(m.points) == 0 {
		return nil
	}
	first, last, width := span(m.points)
	sums := make([]uint64, (last-first)/width+1)
	var maxY uint64
	var total uint64
	for _, p := range m.points {
		k := (p.time - first) / width
		sums[k] += p.price
		maxY = max(maxY, sums[k])
		total += p.price
	}
	c := &barChart{MaxY: maxY, From: time.Unix(first, 0).UTC(), To: time.Unix(last, 0).UTC(), Bucket: duration(width)}
	w := max((plotR-plotL)/len(sums), 1)
	for k, s := range sums {
		if s == 0 {
			continue
		}
		hgt := max(int(s*(plotBot-plotTop)/max(maxY, 1)), 1)
		start := first + int64(k)*width
		c.Bars = append(c.Bars, bar{X: plotL + k*w, Y: plotBot - hgt, W: max(w-1, 1), H: hgt,
			Label: fmt.Sprintf("%s: %d credits", when(time.Unix(start, 0)), s)})
	}
	c.Description = fmt.Sprintf("%d credits traded in %d priced trades from %s to %s, summed per %s; the busiest bucket traded %d.",
		total, len(m.points), when(c.From), when(c.To), c.Bucket, maxY)
	return c
}
