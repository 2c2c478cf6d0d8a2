package audit

import (
	"testing"

	"github.com/ipledger/ipledger/apitypes"
)

// TestChangedAfterTruncated: a node that moved on and answers only the first page of an
// object's history may have changed it on a later page; the object is not compared.
func TestChangedAfterTruncated(t *testing.T) {
	old := []apitypes.HistoryItem{{Height: 3}, {Height: 5}}
	if changedAfter(12, 10, old, false) {
		t.Error("complete history before the height: changed")
	}
	if !changedAfter(12, 10, old, true) {
		t.Error("truncated history: not changed")
	}
	if !changedAfter(12, 10, append(old, apitypes.HistoryItem{Height: 11}), false) {
		t.Error("an entry after the height: not changed")
	}
	if !changedAfter(9, 10, old, false) {
		t.Error("a node behind: compared")
	}
}
