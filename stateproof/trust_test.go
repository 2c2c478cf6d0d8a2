package stateproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"
	"time"

	cmtversion "github.com/cometbft/cometbft/api/cometbft/version/v1"
	cmtcrypto "github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// validator is a consensus key for signing test commits.
type validator struct {
	key cmtcrypto.PrivKey
}

func newValidators(n int, name string) []validator {
	out := make([]validator, n)
	for i := range out {
		seed := sha256.Sum256([]byte(name + string(rune('a'+i))))
		out[i] = validator{key: cmted25519.GenPrivKeyFromSecret(seed[:])}
	}
	return out
}

func setOf(vals []validator) *types.ValidatorSet {
	var vs []*types.Validator
	for _, v := range vals {
		vs = append(vs, types.NewValidator(v.key.PubKey(), 10))
	}
	return types.NewValidatorSet(vs)
}

// signedHeader builds header height with appHash, signed by the members of set whose
// keys are in signers (real CometBFT votes and ed25519 signatures; no consensus run).
func signedHeader(t testing.TB, chainID string, height int64, appHash []byte, set *types.ValidatorSet, signers []validator) *types.LightBlock {
	t.Helper()
	h32 := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	hd := &types.Header{
		Version: cmtversion.Consensus{Block: version.BlockProtocol}, ChainID: chainID, Height: height,
		Time:           time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		LastBlockID:    types.BlockID{Hash: h32(1), PartSetHeader: types.PartSetHeader{Total: 1, Hash: h32(2)}},
		LastCommitHash: h32(3), DataHash: h32(4), ValidatorsHash: set.Hash(), NextValidatorsHash: set.Hash(),
		ConsensusHash: h32(5), AppHash: appHash, LastResultsHash: h32(6), EvidenceHash: h32(7),
		ProposerAddress: set.Validators[0].Address,
	}
	blockID := types.BlockID{Hash: hd.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: h32(8)}}
	commit := &types.Commit{Height: height, BlockID: blockID}
	for i, v := range set.Validators {
		var key cmtcrypto.PrivKey
		for _, s := range signers {
			if bytes.Equal(s.key.PubKey().Address(), v.Address) {
				key = s.key
			}
		}
		if key == nil {
			commit.Signatures = append(commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		vote := &types.Vote{Type: types.PrecommitType, Height: height, BlockID: blockID, Timestamp: hd.Time.Add(time.Second),
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := key.Sign(types.VoteSignBytes(chainID, vote.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		vote.Signature = sig
		commit.Signatures = append(commit.Signatures, vote.CommitSig())
	}
	return &types.LightBlock{SignedHeader: &types.SignedHeader{Header: hd, Commit: commit}, ValidatorSet: set}
}

// anchorOf signs the header of the height after v's, whose app hash commits to v and
// logRoot, for chain chainID by the signers among set, and returns its light block and the
// anchor NewAnchor builds from it; an error fails tb.
func anchorOf(tb testing.TB, chainID string, v *store.View, logRoot []byte, set, signers []validator) (*types.LightBlock, *Anchor) {
	tb.Helper()
	lb := signedHeader(tb, chainID, v.Version()+1, tlog.AppHash(v.Hash(), logRoot), setOf(set), signers)
	a, err := NewAnchor(v.Version(), v.Hash(), logRoot, lb)
	if err != nil {
		tb.Fatal(err)
	}
	return lb, a
}

// trustedAnchor is anchorOf signed by all of four validators, with the Trust in them.
func trustedAnchor(tb testing.TB, chainID string, v *store.View, logRoot []byte) (*types.LightBlock, *Anchor, *Trust) {
	tb.Helper()
	vals := newValidators(4, "genesis")
	lb, a := anchorOf(tb, chainID, v, logRoot, vals, vals)
	return lb, a, &Trust{ChainID: chainID, Validators: setOf(vals)}
}

// headerJSON returns lb's signed header and validators in CometBFT's JSON, as a node
// hands them to the API; an error fails tb.
func headerJSON(tb testing.TB, lb *types.LightBlock) (header, validators []byte) {
	tb.Helper()
	header, err := cmtjson.Marshal(lb.SignedHeader)
	if err != nil {
		tb.Fatal(err)
	}
	validators, err = cmtjson.Marshal(lb.ValidatorSet.Validators)
	if err != nil {
		tb.Fatal(err)
	}
	return header, validators
}

// TestTrustedValidators checks the trust rule: the header's own set must sign with more
// than 2/3 of its power, and a set other than the trusted one is accepted only when
// trusted validators with more than 1/3 of the trusted power signed too.
func TestTrustedValidators(t *testing.T) {
	const chainID = "trust-test"
	v := testState(t)
	logRoot := tlog.New().Root()
	genesis := newValidators(4, "genesis") // a, b, c, d: 10 each
	fresh := newValidators(4, "fresh")
	trust := &Trust{ChainID: chainID, Validators: setOf(genesis)}
	mix := func(g, f int) []validator { return append(append([]validator{}, genesis[:g]...), fresh[:f]...) }
	for _, c := range []struct {
		name    string
		set     []validator // the set of the header
		signers []validator
		ok      bool
	}{
		{"genesis set, all sign", genesis, genesis, true},
		{"genesis set, 3 of 4 sign", genesis, genesis[:3], true},
		{"genesis set, 2 of 4 sign", genesis, genesis[:2], false},
		{"3 of genesis and a new one", mix(3, 1), mix(3, 1), true},
		{"2 of genesis and 2 new", mix(2, 2), mix(2, 2), true},                   // 1/2 of the trusted power
		{"1 of genesis and 3 new", mix(1, 3), mix(1, 3), false},                  // 1/4: not enough
		{"a new set", fresh, fresh, false},                                       // no trusted signer
		{"2 of genesis and 2 new, new ones silent", mix(2, 2), mix(2, 0), false}, // 1/2 of its own set
	} {
		t.Run(c.name, func(t *testing.T) {
			_, a := anchorOf(t, chainID, v, logRoot, c.set, c.signers)
			entries, err := OrgEntries(v, "ORG-A")
			if err != nil {
				t.Fatal(err)
			}
			o, err := New(a, entries).VerifyOrg("ORG-A", trust)
			if c.ok && (err != nil || o == nil) {
				t.Fatalf("rejected: %v", err)
			}
			t.Log(err)
			if !c.ok && !errors.Is(err, ErrRejected) {
				t.Fatalf("accepted: %+v %v", o, err)
			}
		})
	}
}

// TestAppendJSON checks the hand-written encoding against encoding/json's, for an anchor
// from NewAnchor (encoded once) and for a decoded one.
func TestAppendJSON(t *testing.T) {
	v := testState(t)
	logRoot := tlog.New().Root()
	vals := newValidators(2, "json")
	_, a := anchorOf(t, "json", v, logRoot, vals, vals)
	entries, err := ResourceEntries(v, ipledger.MustParseResource("193.0.4.7"))
	if err != nil {
		t.Fatal(err)
	}
	type plainAnchor Anchor
	type plainProof struct {
		plainAnchor
		Entries []Entry `json:"entries"`
	}
	for _, p := range []*Proof{New(a, entries), New(a, nil), New(a, []Entry{})} {
		want, err := json.Marshal(&plainProof{plainAnchor(p.Anchor), p.Entries})
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		var q Proof
		if err := json.Unmarshal(got, &q); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(&q)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("decoded and encoded again: %v\n%s", err, again)
		}
	}
}

// TestNewAnchorJSON: an anchor built from the JSON of the next height's signed header and
// validators, as the node hands it to the API, is the anchor NewAnchor builds from the light
// block, verifies, and proves the same; another height or other roots are refused.
func TestNewAnchorJSON(t *testing.T) {
	v := testState(t)
	logRoot := tlog.New().Root()
	lb, want, trust := trustedAnchor(t, "json", v, logRoot)
	sh, vs := headerJSON(t, lb)
	got, err := NewAnchorJSON(v.Version(), v.Hash(), logRoot, sh, vs)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(trust); err != nil {
		t.Fatal(err)
	}
	entries, err := HoldingEntries(v, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(want, entries).MarshalJSON()
	b, _ := New(got, entries).MarshalJSON()
	if !bytes.Equal(a, b) {
		t.Fatalf("proofs differ:\n%s\n%s", a, b)
	}
	if _, err := NewAnchorJSON(v.Version()+1, v.Hash(), logRoot, sh, vs); err == nil {
		t.Error("anchor of another height")
	}
	if _, err := NewAnchorJSON(v.Version(), logRoot, v.Hash(), sh, vs); err == nil {
		t.Error("anchor of other roots")
	}
	if _, err := NewAnchorJSON(v.Version(), v.Hash(), logRoot, sh[:len(sh)/2], vs); err == nil {
		t.Error("anchor of a cut header")
	}
}

// FuzzNewAnchorJSON feeds arbitrary bytes as the signed header and validators of the next
// height. It never panics; what it accepts is a header of height+1 carrying the roots' app
// hash, and an anchor whose JSON decodes to the same header and validators.
func FuzzNewAnchorJSON(f *testing.F) {
	v := testState(f)
	logRoot := tlog.New().Root()
	lb, _, _ := trustedAnchor(f, "fuzz", v, logRoot)
	sh, vs := headerJSON(f, lb)
	f.Add(sh, vs)
	f.Add(sh[:len(sh)/2], vs)
	f.Add([]byte(`{}`), []byte(`[]`))
	f.Add([]byte(`null`), []byte(`[null]`))
	height, stateRoot := v.Version(), v.Hash()
	f.Fuzz(func(t *testing.T, header, validators []byte) {
		a, err := NewAnchorJSON(height, stateRoot, logRoot, header, validators)
		if err != nil {
			return
		}
		if a.Header().Height != height+1 || !bytes.Equal(a.Header().AppHash, tlog.AppHash(stateRoot, logRoot)) {
			t.Fatalf("accepted header %d with app hash %X", a.Header().Height, []byte(a.Header().AppHash))
		}
		b, err := New(a, nil).MarshalJSON()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var p Proof
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("decode what an accepted anchor encodes: %v\n%s", err, b)
		}
		if p.Height != height || !bytes.Equal(p.SignedHeader, a.SignedHeader) || !bytes.Equal(p.Validators, a.Validators) {
			t.Fatalf("round trip changed the anchor")
		}
	})
}
