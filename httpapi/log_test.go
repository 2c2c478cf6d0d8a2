package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/tlog"
)

func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, b := call(t, http.MethodGet, url, "", nil)
	return resp.StatusCode, b
}

// checkpoint fetches and verifies the node's checkpoint with the key it publishes.
func checkpoint(t *testing.T, base string) tlogfmt.Checkpoint {
	t.Helper()
	_, key := fetch(t, base+"/v1/log/key")
	v, err := note.NewVerifier(strings.TrimSpace(string(key)))
	if err != nil {
		t.Fatalf("log key %q: %v", key, err)
	}
	st, b := fetch(t, base+"/v1/log/checkpoint")
	if st != 200 {
		t.Fatalf("checkpoint: %d %s", st, b)
	}
	cp, _, _, err := tlogfmt.ParseCheckpoint(b, chain.LogOrigin(testChain), v)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", b, err)
	}
	return *cp
}

// TestLogAPI checks the signed checkpoint, inclusion proofs by hash and index, a
// consistency proof between two checkpoints, and that the tiles hold the leaves and
// hashes the checkpoint commits to.
func TestLogAPI(t *testing.T) {
	_, srv, c := startNode(t)
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	tx1 := mustTx(t, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "A"}}}, ripe)
	commit(t, c, "register", tx1)
	cp1 := checkpoint(t, srv.URL)
	for i := range 5 {
		commit(t, c, "register", mustTx(t, ipledger.KindRegisterOrg, uint64(2+i), ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-B" + string(rune('0'+i)), Name: "B"}}}, ripe))
	}
	cp2 := checkpoint(t, srv.URL)
	if cp2.Size <= cp1.Size {
		t.Fatalf("checkpoint did not grow: %d then %d", cp1.Size, cp2.Size)
	}

	// Inclusion of tx1 by its hash, against the latest checkpoint.
	var inc apitypes.InclusionInfo
	st, b := fetch(t, srv.URL+"/v1/log/proof/inclusion?hash="+ipledger.HashTx(tx1).String())
	if st != 200 || json.Unmarshal(b, &inc) != nil {
		t.Fatalf("inclusion: %d %s", st, b)
	}
	if inc.Size != cp2.Size || !bytes.Equal(inc.Root, cp2.Hash) {
		t.Fatalf("inclusion proof for size %d root %x; checkpoint %d %x", inc.Size, inc.Root, cp2.Size, cp2.Hash)
	}
	if err := tlog.VerifyInclusion(inc.Index, inc.Size, inc.LeafHash, inc.Proof, cp2.Hash); err != nil {
		t.Fatal(err)
	}
	// The leaf is tx1's leaf: fetch its entry bundle.
	st, bundle := fetch(t, srv.URL+"/v1/log/"+tlog.Tile{Level: -1, Index: 0, Width: int(cp2.Size)}.Path())
	entries, err := tlog.SplitBundle(bundle)
	if st != 200 || err != nil || uint64(len(entries)) != cp2.Size {
		t.Fatalf("entries: %d, %d entries, %v", st, len(entries), err)
	}
	leaf, err := tlog.DecodeLeaf(entries[inc.Index])
	if tl, ok := leaf.(tlog.TxLeaf); err != nil || !ok || !bytes.Equal(tl.Tx, tx1) {
		t.Fatalf("leaf %d is not tx1: %+v %v", inc.Index, leaf, err)
	}
	// The level-0 hash tile holds the entries' leaf hashes, and they make the root.
	st, hashes := fetch(t, srv.URL+"/v1/log/"+tlog.Tile{Level: 0, Index: 0, Width: int(cp2.Size)}.Path())
	if st != 200 || len(hashes) != 32*int(cp2.Size) {
		t.Fatalf("hash tile: %d, %d bytes", st, len(hashes))
	}
	tr := tlog.New()
	for i, e := range entries {
		if !bytes.Equal(tlog.HashLeaf(e), hashes[32*i:32*i+32]) {
			t.Fatalf("tile hash %d does not match entry %d", i, i)
		}
		tr.Append(tlog.HashLeaf(e), nil)
	}
	if !bytes.Equal(tr.Root(), cp2.Hash) {
		t.Fatal("the tiles do not make the checkpoint's root")
	}
	// By index, for an older size; and the consistency of the two checkpoints.
	st, b = fetch(t, srv.URL+"/v1/log/proof/inclusion?index=0&size="+itoa(cp1.Size))
	if st != 200 || json.Unmarshal(b, &inc) != nil {
		t.Fatalf("inclusion by index: %d %s", st, b)
	}
	if err := tlog.VerifyInclusion(0, cp1.Size, tlog.HashLeaf(entries[0]), inc.Proof, cp1.Hash); err != nil {
		t.Fatal(err)
	}
	var cons apitypes.ConsistencyInfo
	st, b = fetch(t, srv.URL+"/v1/log/proof/consistency?old="+itoa(cp1.Size)+"&new="+itoa(cp2.Size))
	if st != 200 || json.Unmarshal(b, &cons) != nil {
		t.Fatalf("consistency: %d %s", st, b)
	}
	if err := tlog.VerifyConsistency(cp1.Size, cp2.Size, cons.Proof, cp1.Hash, cp2.Hash); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/v1/log/tile/0/000":                                       404, // not full yet
		"/v1/log/tile/0/001.p/1":                                   404,
		"/v1/log/tile/0/00":                                        400,
		"/v1/log/proof/inclusion?index=999999":                     404,
		"/v1/log/proof/inclusion":                                  400,
		"/v1/log/proof/consistency?old=5&new=2":                    400,
		"/v1/log/proof/inclusion?hash=" + strings.Repeat("00", 32): 404,
	} {
		if st, b := fetch(t, srv.URL+path); st != want {
			t.Errorf("%s: %d %s, want %d", path, st, b, want)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
