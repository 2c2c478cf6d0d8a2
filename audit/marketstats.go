package audit

import (
	"cmp"
	"context"
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/market"
)

// compareStats recomputes the market's statistics (package market) from the replayed
// state and compares them, row by row, with the node's GET /v1/market/stats at the same
// height: the lower of the replay's and the node's. A node that no longer keeps that
// height's state is not compared (Report.StatsSkipped).
func (r *run) compareStats(ctx context.Context) error {
	o := r.a.o
	if o.Sample < 0 && !o.Full {
		return nil
	}
	snap := r.replay.App().Committed()
	if snap == nil || snap.Height < 1 {
		return nil
	}
	st, err := r.a.client.Status(ctx)
	if err != nil {
		return fmt.Errorf("audit: node status: %w", err)
	}
	if st.Height >= 1 && st.Height < snap.Height {
		past, err := r.replay.App().SnapshotAt(st.Height)
		if err != nil {
			r.rep.StatsSkipped = true
			return nil
		}
		snap = past
	}
	mine, err := market.Compute(snap.State, market.Filter{})
	if err != nil {
		return fmt.Errorf("audit: replayed market statistics: %w", err)
	}
	node, err := r.a.client.MarketStats(ctx, client.StatsQuery{Height: snap.Height})
	if ipledger.ErrorCode(err) == ipledger.CodeNotFound {
		r.rep.StatsSkipped = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: node market statistics at %d: %w", snap.Height, err)
	}
	if node.Height != snap.Height {
		return &Divergence{Height: snap.Height, Leaf: -1, Object: "market statistics",
			Detail: fmt.Sprintf("asked for height %d, the node answers for %d", snap.Height, node.Height)}
	}
	if d := diffStats(node.Rows, mine, snap.Height); d != nil {
		return d
	}
	r.rep.StatsRows += len(mine)
	return nil
}

// diffStats returns the first row, in the statistics' order, where the node's rows and the
// replay's differ, or nil.
func diffStats(node, mine []apitypes.StatsRow, height int64) *Divergence {
	key := func(x apitypes.StatsRow) string { return x.Family + " " + x.Class + " " + x.Day }
	obj := func(x apitypes.StatsRow) string {
		s := "market statistics " + x.Family
		if x.Class != "" {
			s += " class " + x.Class
		}
		if x.Day != "" {
			s += " day " + x.Day
		}
		return s
	}
	i, j := 0, 0
	for i < len(node) || j < len(mine) {
		c := 0
		switch {
		case i == len(node):
			c = 1
		case j == len(mine):
			c = -1
		default:
			c = cmp.Or(cmp.Compare(node[i].Family, mine[j].Family), cmp.Compare(node[i].Class, mine[j].Class), cmp.Compare(node[i].Day, mine[j].Day))
		}
		switch {
		case c < 0:
			return &Divergence{Height: height, Leaf: -1, Object: obj(node[i]), Detail: "the node gives a row the log does not (" + key(node[i]) + ")"}
		case c > 0:
			return &Divergence{Height: height, Leaf: -1, Object: obj(mine[j]), Detail: "the node does not give a row the log does"}
		}
		if field, nv, mv, differ := firstDiff(node[i], mine[j]); differ {
			return &Divergence{Height: height, Leaf: -1, Object: obj(mine[j]), Detail: fmt.Sprintf("node says %s %s, the log says %s", field, nv, mv)}
		}
		i++
		j++
	}
	return nil
}
