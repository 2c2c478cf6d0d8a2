package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/ipledger/ipledger/chain"
)

// Headers are verified as the light client verifies adjacent headers
// (github.com/cometbft/cometbft/light VerifyAdjacent), without its trusting period (an
// audit reads history from genesis, however old): each signed header is well formed, its
// commit is signed by more than 2/3 of the voting power of the validator set whose hash the
// header carries (every signature present is checked), and that set is the one the
// previous header named as next (the genesis validators for the first). Besides, each
// header names the previous one as its parent and is later than it, and none is from the
// future.

// maxClockDrift is how far a header's time may be ahead of the auditor's clock.
const maxClockDrift = time.Minute

// signedHeader is a header and commit whose signatures verified against vals.
type signedHeader struct {
	sh   *types.SignedHeader
	sigs int // commit signatures verified
	err  error
}

// headerFetcher fetches signed headers and validator sets from CometBFT's RPC and checks
// what can be checked of one header alone; the chain of headers is checked in order by
// linkHeader.
type headerFetcher struct {
	rpc     *rpchttp.HTTP
	chainID string
	mu      sync.Mutex
	sets    map[string]*types.ValidatorSet // by hash
}

func newHeaderFetcher(rpc *rpchttp.HTTP, chainID string, genesis *types.ValidatorSet) *headerFetcher {
	f := &headerFetcher{rpc: rpc, chainID: chainID, sets: map[string]*types.ValidatorSet{}}
	f.sets[string(genesis.Hash())] = genesis
	return f
}

// run fetches heights [from, to] a few at a time and sends them in order on out, which it
// closes; a failure is the last item.
func (f *headerFetcher) run(ctx context.Context, from, to int64, out chan<- signedHeader) {
	defer close(out)
	fetchInOrder(ctx, headerWindow, from, to+1, func(h int64) signedHeader { return f.fetch(ctx, h) }, func(sh signedHeader) bool {
		select {
		case out <- sh:
		case <-ctx.Done():
			return false
		}
		return sh.err == nil
	})
}

// fetch gets the signed header of height h and verifies its commit against the validator
// set the header names.
func (f *headerFetcher) fetch(ctx context.Context, h int64) signedHeader {
	rc, err := f.rpc.Commit(ctx, &h)
	if err != nil {
		return signedHeader{err: fmt.Errorf("rpc commit %d: %w", h, err)}
	}
	sh := rc.SignedHeader
	if err := sh.ValidateBasic(f.chainID); err != nil {
		return signedHeader{err: &Divergence{Height: h, Leaf: -1, Object: "header", Detail: fmt.Sprintf("the RPC serves a malformed signed header: %v", err)}}
	}
	if sh.Height != h {
		return signedHeader{err: &Divergence{Height: h, Leaf: -1, Object: "header", Detail: fmt.Sprintf("the RPC serves the header of height %d instead", sh.Height)}}
	}
	vals, err := f.validators(ctx, h, sh.ValidatorsHash)
	if err != nil {
		return signedHeader{err: err}
	}
	if err := vals.VerifyCommitLightAllSignatures(f.chainID, sh.Commit.BlockID, h, sh.Commit); err != nil {
		return signedHeader{err: &Divergence{Height: h, Leaf: -1, Object: "header", Detail: fmt.Sprintf("the commit is not signed by 2/3 of the validators: %v", err)}}
	}
	n := 0
	for _, s := range sh.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			n++
		}
	}
	return signedHeader{sh: &sh, sigs: n}
}

// validators returns the validator set with hash, fetching it at height h if it is not
// known yet.
func (f *headerFetcher) validators(ctx context.Context, h int64, hash []byte) (*types.ValidatorSet, error) {
	f.mu.Lock()
	vs := f.sets[string(hash)]
	f.mu.Unlock()
	if vs != nil {
		return vs, nil
	}
	all, err := chain.Validators(ctx, f.rpc, h)
	if err != nil {
		return nil, fmt.Errorf("rpc %w", err)
	}
	vs, err = validatorSet(all)
	if err != nil {
		return nil, &Divergence{Height: h, Leaf: -1, Object: "validators", Detail: fmt.Sprintf("the RPC serves an invalid validator set: %v", err)}
	}
	if !bytes.Equal(vs.Hash(), hash) {
		return nil, &Divergence{Height: h, Leaf: -1, Object: "validators", Detail: fmt.Sprintf("the RPC serves a validator set with hash %X; the header names %X", vs.Hash(), hash)}
	}
	f.mu.Lock()
	f.sets[string(hash)] = vs
	f.mu.Unlock()
	return vs, nil
}

// validatorSet builds a set from validators as the RPC lists them (as the light client's
// HTTP provider does); CometBFT panics on some invalid sets, which is an error here.
func validatorSet(vals []*types.Validator) (vs *types.ValidatorSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			vs, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return types.ValidatorSetFromExistingValidators(vals)
}

// linkHeader checks that sh follows prev (nil for the first block, whose validators must
// be the genesis set): its validators are those prev named as next, it names prev as its
// parent, and its time is after prev's and not in the future.
func linkHeader(prev *types.SignedHeader, genesisVals []byte, sh *types.SignedHeader, now time.Time) error {
	h := sh.Height
	fail := func(format string, args ...any) error {
		return &Divergence{Height: h, Leaf: -1, Object: "header", Detail: fmt.Sprintf(format, args...)}
	}
	if prev == nil {
		if !bytes.Equal(sh.ValidatorsHash, genesisVals) {
			return fail("signed by validator set %X, not the genesis validators %X", sh.ValidatorsHash, genesisVals)
		}
	} else {
		if h != prev.Height+1 {
			return errors.New("headers out of order") // a bug here, not the node
		}
		if !bytes.Equal(sh.ValidatorsHash, prev.NextValidatorsHash) {
			return fail("signed by validator set %X, but header %d named %X as next", sh.ValidatorsHash, prev.Height, prev.NextValidatorsHash)
		}
		if !bytes.Equal(sh.LastBlockID.Hash, prev.Hash()) {
			return fail("names block %X as its parent, but header %d is %X", sh.LastBlockID.Hash, prev.Height, prev.Hash())
		}
		if !sh.Time.After(prev.Time) {
			return fail("time %v is not after the time %v of header %d", sh.Time, prev.Time, prev.Height)
		}
	}
	if sh.Time.After(now.Add(maxClockDrift)) {
		return fail("time %v is in the future (now %v)", sh.Time, now)
	}
	return nil
}

// genesisValidators returns the genesis validator set as CometBFT builds it.
func genesisValidators(doc *types.GenesisDoc) []*types.Validator {
	out := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		out[i] = types.NewValidator(v.PubKey, v.Power)
	}
	return out
}
