package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/ipledger/ipledger/apitypes"
)

// StatsQuery selects the rows of GET /v1/market/stats. The zero StatsQuery asks for every
// row at the last committed height.
type StatsQuery struct {
	Family, Class string // "ipv4", "ipv4/24"; empty: all
	From, To      string // UTC days, YYYY-MM-DD, both counted; empty: open
	Height        int64  // a retained height; 0: the last committed
}

// MarketStats returns the market's statistics (GET /v1/market/stats).
func (c *Client) MarketStats(ctx context.Context, sq StatsQuery) (*apitypes.MarketStats, error) {
	q := url.Values{}
	for k, v := range map[string]string{"family": sq.Family, "class": sq.Class, "from": sq.From, "to": sq.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if sq.Height > 0 {
		q.Set("height", strconv.FormatInt(sq.Height, 10))
	}
	return get[apitypes.MarketStats](ctx, c, "/v1/market/stats", q)
}
