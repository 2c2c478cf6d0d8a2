package market

import (
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

func trade(id uint64, day int, venue, res string, price uint64) ipledger.Trade {
	r := ipledger.MustParseResource(res)
	t := ipledger.Trade{ID: id, Time: time.Date(2024, 1, day, 12, 0, 0, 0, time.UTC).Unix(), Venue: venue, Resource: r,
		Family: r.Family().String(), Price: price, Units: ipledger.Units(r)}
	if t.Units > 0 {
		t.PricePerUnit = price / t.Units
	}
	return t
}

// testData: three sales and a transfer of IPv4, two lease starts, two open listings (one
// with a bid), a million IPv4 addresses held.
func testData() *Data {
	day2 := time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC).Unix()
	return &Data{
		Trades: []ipledger.Trade{
			trade(1, 2, "swap", "193.0.1.0/24", 844800),     // 3300 per address
			trade(2, 2, "listing", "193.0.2.0/23", 1700000), // 3320.3125 → 3320
			trade(3, 3, "listing", "193.0.4.0/24", 1280000), // 5000
			trade(4, 3, "transfer", "193.0.5.0/24", 0),
		},
		Leases: []apitypes.LeaseStart{
			LeaseStartOf(&ipledger.Lease{ID: 1, Start: day2, Resource: ipledger.MustParseResource("193.0.8.0/24"), PricePerPeriod: 10240, Period: Month}),    // 40
			LeaseStartOf(&ipledger.Lease{ID: 2, Start: day2, Resource: ipledger.MustParseResource("193.0.9.0/24"), PricePerPeriod: 3000, Period: 7 * 86400}), // 50.22 → 50
		},
		// A listing with a bid, a class auction's ask and its bid.
		Open: []Open{{Family: "ipv4", Class: "ipv4/22", Bid: true}, {Family: "ipv6", Class: "ipv6/32"}, {Family: "ipv6", Class: "ipv6/32", Bid: true, NoAsk: true}},
		Held: map[string]uint64{"ipv4": 1_000_000},
	}
}

// TestStats checks every figure against hand computation: VWAP and medians rounded down,
// an even count's lower middle, lease prices normalised to 30 days, transfers unpriced.
func TestStats(t *testing.T) {
	d := testData()
	if got := d.Leases[1].PricePerUnitMonth; got != 50 {
		t.Fatalf("a week's 3000 for 256 addresses: %d per address per 30 days, want 50", got)
	}
	rows := d.Stats(Filter{})
	want := []apitypes.StatsRow{
		// Σ price 3,824,800 ÷ 1024 = 3735.16; median of 3300, 3320, 5000; leases 40, 50 → 40;
		// yield 12 × 40 ÷ 3320 = 14.46 %; turnover 1024 ÷ 1,000,000 = 10.24 bp.
		{Family: "ipv4", Trades: 3, Units: 1024, Volume: 3824800, VWAP: 3735, MedianPrice: 3320, Transfers: 1, TransferUnits: 256,
			UnitsHeld: 1_000_000, TurnoverBP: 10, Leases: 2, LeaseUnits: 512, MedianLease: 40, LeaseYieldBP: 1445, OpenAsks: 1, OpenBids: 1},
		// Day 2: 2,544,800 ÷ 768 = 3313.5; median of 3300, 3320 (even) → 3300; 12 × 40 ÷ 3300 = 14.54 %.
		{Family: "ipv4", Day: "2024-01-02", Trades: 2, Units: 768, Volume: 2544800, VWAP: 3313, MedianPrice: 3300,
			UnitsHeld: 1_000_000, TurnoverBP: 7, Leases: 2, LeaseUnits: 512, MedianLease: 40, LeaseYieldBP: 1454},
		{Family: "ipv4", Day: "2024-01-03", Trades: 1, Units: 256, Volume: 1280000, VWAP: 5000, MedianPrice: 5000, Transfers: 1, TransferUnits: 256,
			UnitsHeld: 1_000_000, TurnoverBP: 2},
		{Family: "ipv4", Class: "ipv4/22", UnitsHeld: 1_000_000, OpenAsks: 1, OpenBids: 1},
		{Family: "ipv4", Class: "ipv4/23", Trades: 1, Units: 512, Volume: 1700000, VWAP: 3320, MedianPrice: 3320, UnitsHeld: 1_000_000, TurnoverBP: 5},
		{Family: "ipv4", Class: "ipv4/23", Day: "2024-01-02", Trades: 1, Units: 512, Volume: 1700000, VWAP: 3320, MedianPrice: 3320, UnitsHeld: 1_000_000, TurnoverBP: 5},
		// 2,124,800 ÷ 512 = 4150; median of 3300, 5000 → 3300.
		{Family: "ipv4", Class: "ipv4/24", Trades: 2, Units: 512, Volume: 2124800, VWAP: 4150, MedianPrice: 3300, Transfers: 1, TransferUnits: 256,
			UnitsHeld: 1_000_000, TurnoverBP: 5, Leases: 2, LeaseUnits: 512, MedianLease: 40, LeaseYieldBP: 1454},
		{Family: "ipv4", Class: "ipv4/24", Day: "2024-01-02", Trades: 1, Units: 256, Volume: 844800, VWAP: 3300, MedianPrice: 3300,
			UnitsHeld: 1_000_000, TurnoverBP: 2, Leases: 2, LeaseUnits: 512, MedianLease: 40, LeaseYieldBP: 1454},
		{Family: "ipv4", Class: "ipv4/24", Day: "2024-01-03", Trades: 1, Units: 256, Volume: 1280000, VWAP: 5000, MedianPrice: 5000, Transfers: 1, TransferUnits: 256,
			UnitsHeld: 1_000_000, TurnoverBP: 2},
		{Family: "ipv6", OpenAsks: 1, OpenBids: 1},
		{Family: "ipv6", Class: "ipv6/32", OpenAsks: 1, OpenBids: 1},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, rows[i], want[i])
		}
	}

	// A window from day 3 counts day 3's trades in the overall rows; open asks stay.
	rows = d.Stats(Filter{Family: "ipv4", From: "2024-01-03", To: "2024-01-03"})
	if r := rows[0]; r.Day != "" || r.Class != "" || r.Trades != 1 || r.VWAP != 5000 || r.Transfers != 1 || r.Leases != 0 || r.OpenAsks != 1 {
		t.Errorf("window: %+v", r)
	}
	for _, r := range rows {
		if r.Family != "ipv4" || r.Day == "2024-01-02" {
			t.Errorf("window row %+v", r)
		}
	}
	// A class: only its rows.
	rows = d.Stats(Filter{Class: "ipv4/24"})
	if len(rows) != 3 || rows[0] != want[6] || rows[1] != want[7] || rows[2] != want[8] {
		t.Errorf("class ipv4/24: %+v", rows)
	}
	if rows := (&Data{}).Stats(Filter{}); len(rows) != 0 {
		t.Errorf("no data: %+v", rows)
	}
}

func TestMedianAndRounding(t *testing.T) {
	for _, c := range []struct {
		xs   []uint64
		want uint64
	}{{nil, 0}, {[]uint64{7}, 7}, {[]uint64{9, 1}, 1}, {[]uint64{4, 1, 3, 2}, 2}, {[]uint64{5, 1, 3}, 3}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %d, want %d", c.xs, got, c.want)
		}
	}
	if got := MonthlyPerUnit(1<<63, 1, 1); got != 1<<64-1 {
		t.Errorf("saturation: %d", got)
	}
	if got := MonthlyPerUnit(100, 0, 1); got != 0 {
		t.Errorf("no period: %d", got)
	}
	if got := mulDiv(1<<63, 4, 2); got != 1<<64-1 {
		t.Errorf("mulDiv saturation: %d", got)
	}
	for r, want := range map[string]string{"193.0.0.0/24": "ipv4/24", "193.0.0.0-193.0.0.2": "ipv4/range", "2001:db8::/32": "ipv6/32", "AS64496-AS64500": "asn"} {
		if got := Class(ipledger.MustParseResource(r)); got != want {
			t.Errorf("Class(%s) = %s, want %s", r, got, want)
		}
	}
	if err := (Filter{Family: "ipv5"}).Check(); err == nil {
		t.Error("family ipv5 accepted")
	}
	if err := (Filter{From: "2024-1-2"}).Check(); err == nil {
		t.Error("day 2024-1-2 accepted")
	}
	if err := (Filter{Family: "asn", Class: "asn", From: "2024-01-02", To: "2024-02-01"}).Check(); err != nil {
		t.Error(err)
	}
}
