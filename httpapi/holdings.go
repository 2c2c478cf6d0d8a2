package httpapi

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// GET /v1/orgs/{handle}/holdings[?after=CURSOR]: an organisation's holdings, the JSON twin
// of the holdings on the explorer's organisation page, 100 a page in state key order
// (family, depth, first number). The ledger keys holdings by resource, not by holder, so a
// page walks the holdings from its cursor until it has 100 of the organisation's: paging
// through all of them costs one walk of every holding, as the explorer's index build does.

// MaxOrgHoldings is the most holdings a page of GET /v1/orgs/{handle}/holdings lists.
const MaxOrgHoldings = 100

// orgHoldings answers GET /v1/orgs/{handle}/holdings. Truncated means more follow: ask
// again with ?after=Next (the hex state key of the last holding listed).
type orgHoldings struct {
	Org       string                 `json:"org"`
	Height    int64                  `json:"height"`
	Holdings  []apitypes.HoldingInfo `json:"holdings"`
	Truncated bool                   `json:"truncated,omitempty"`
	Next      string                 `json:"next,omitempty"`
}

// holdingTag is the first byte of every holding's state key.
var holdingTag = ledger.HoldingKey(ipledger.Resource{}, 0)[0]

func (s *server) orgHoldings(w http.ResponseWriter, r *http.Request) error {
	handle, err := orgHandle(r.PathValue("handle"))
	if err != nil {
		return err
	}
	start := []byte{holdingTag}
	if v := r.URL.Query().Get("after"); v != "" {
		k, err := hex.DecodeString(v)
		if err != nil || len(k) != len(ledger.HoldingKey(ipledger.Resource{}, 0)) || k[0] != holdingTag {
			return invalid("after=%.70q: want the next of a previous page", v)
		}
		start = append(k, 0) // just past it
	}
	snap := s.app.Committed()
	o, err := lookup(snap.State, ledger.Org, handle, "no organisation %s", handle)
	if err != nil {
		return err
	}
	out := &orgHoldings{Org: handle, Height: snap.Height, Holdings: []apitypes.HoldingInfo{}}
	names := nameCache{kv: snap.State, m: map[string]string{handle: o.Name}}
	ctx := r.Context()
	var last []byte
	var walkErr error
	n := 0
	err = snap.State.Iterate(start, []byte{holdingTag + 1}, false, func(k, v []byte) bool {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			walkErr = ctx.Err()
			return false
		}
		h, err := ledger.DecodeHolding(v)
		if err != nil {
			walkErr = fmt.Errorf("holding at %x: %w", k, err)
			return false
		}
		if h.Holder != handle {
			return true
		}
		if len(out.Holdings) == MaxOrgHoldings {
			out.Truncated, out.Next = true, hex.EncodeToString(last)
			return false
		}
		last = bytes.Clone(k)
		hi, err := names.holding(h)
		if err != nil {
			walkErr = err
			return false
		}
		out.Holdings = append(out.Holdings, hi)
		return true
	})
	if err == nil {
		err = walkErr
	}
	if err != nil {
		return fmt.Errorf("holdings of %s: %w", handle, err)
	}
	return s.writeJSON(w, http.StatusOK, out)
}
