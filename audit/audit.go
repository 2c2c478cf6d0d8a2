// Package audit independently verifies an ipledger network from its genesis: it checks
// every block header and commit the way a CometBFT light client does, fetches the node's
// transparency log (signed checkpoints, entry bundles) and checks it against the
// checkpoints seen before, replays the log through the same state machine, checks the
// replay against the app hashes and data hashes the validators signed, and compares the
// node's answers for holdings and organisations with the replayed state.
//
// It trusts the genesis file and the log key it is given (or pins on first use), nothing
// else the node says: an Auditor talks to the node's JSON API and CometBFT RPC over HTTP
// and keeps its own replay store and state (audit.json) in a directory, so a later run
// continues where the last one stopped.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cometbft/cometbft/types"
	tlogfmt "github.com/transparency-dev/formats/log"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
)

// DefaultSample is the number of holdings compared with the node when Options.Sample is 0.
const DefaultSample = 200

// requestTimeout bounds one request to the node's API or RPC.
const requestTimeout = 2 * time.Minute

// Options configure an Auditor. Node, RPC, Genesis and Dir are required.
type Options struct {
	// Node is the node's HTTP API base URL ("http://127.0.0.1:8080").
	Node string
	// RPC is the CometBFT RPC URL ("http://127.0.0.1:26657").
	RPC string
	// Genesis is the path of the chain's CometBFT genesis file: the audit's root of trust.
	Genesis string
	// Dir holds the audit's state (audit.json) and replay store; created if missing.
	Dir string
	// LogKey is the note verifier key of the node's log. Empty uses the key pinned in
	// Dir, or on the first run fetches the node's /v1/log/key and pins it.
	LogKey string
	// Sample is the number of random holdings whose node answers are compared with the
	// replayed state, with a quarter as many of their holders; 0 means DefaultSample,
	// negative none.
	Sample int
	// Full compares every holding and organisation instead of a sample.
	Full bool
	// HTTP is the client for the node's API; nil means one made for the audit.
	HTTP *http.Client
	// Logger receives progress notes at info level; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called after each height.
	Progress func(Progress)
}

// Progress is how far a run is.
type Progress struct {
	Height int64 // last height processed
	Start  int64 // first height of this run
	Latest int64 // the chain's height when the run started
}

// Auditor audits one network into one directory. Run it once per audit.
type Auditor struct {
	o      Options
	log    *slog.Logger
	client *client.Client
}

// New checks the options and returns an Auditor.
func New(o Options) (*Auditor, error) {
	if o.Node == "" || o.RPC == "" || o.Genesis == "" || o.Dir == "" {
		return nil, errors.New("audit: node URL, RPC URL, genesis file and directory are required")
	}
	if o.Sample == 0 {
		o.Sample = DefaultSample
	}
	a := &Auditor{o: o, log: o.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	}
	o.Node = strings.TrimSuffix(o.Node, "/")
	a.o.Node = o.Node
	a.client = &client.Client{Base: o.Node, HTTP: hc}
	return a, nil
}

// Divergence is an audit failure: something the node serves contradicts what the
// validators signed, a checkpoint its log signed before, or what replaying its log
// produces. Run returns it (test with errors.As) naming the first one found. Height and
// Leaf locate it when they apply (0 and -1 otherwise); Object names what differs.
type Divergence struct {
	Height int64
	Leaf   int64
	Object string
	Detail string
}

func (d *Divergence) Error() string {
	var parts []string
	if d.Height > 0 {
		parts = append(parts, fmt.Sprintf("height %d", d.Height))
	}
	if d.Leaf >= 0 {
		parts = append(parts, fmt.Sprintf("leaf %d", d.Leaf))
	}
	if d.Object != "" {
		parts = append(parts, d.Object)
	}
	return strings.Join(parts, ", ") + ": " + d.Detail
}

// run is the state of one Run.
type run struct {
	a       *Auditor
	st      *State
	doc     *types.GenesisDoc
	rep     *Report
	replay  *chain.Replayer
	origin  string
	cp      *tlogfmt.Checkpoint
	cpRaw   []byte
	leaves  *leafStream
	saved   time.Time
	appHash []byte   // app hash after the last replayed height
	codes   []uint32 // its result codes
}

// Run audits the network from where the directory's last run stopped (from genesis on the
// first) to the chain's current height. A *Divergence error names the first divergence
// found; other errors mean the audit could not complete. Progress is saved either way.
func (a *Auditor) Run(ctx context.Context) (rep *Report, err error) {
	start := time.Now()
	r := &run{a: a, rep: &Report{}}
	defer func() {
		r.rep.Duration = time.Since(start)
		if r.leaves != nil {
			r.rep.WaitLog = r.leaves.waited
		}
		a.log.Debug("audit timings", "seconds", r.rep.Duration.Seconds(), "replay", r.rep.Replay.Seconds(),
			"wait_log", r.rep.WaitLog.Seconds(), "wait_headers", r.rep.WaitHeaders.Seconds(), "compare", r.rep.Compare.Seconds())
		if r.replay != nil {
			if serr := r.save(true); serr != nil && err == nil {
				err = serr
			}
			if cerr := r.replay.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("audit: close replay store: %w", cerr)
			}
		}
	}()
	if err := r.open(ctx); err != nil {
		return r.rep, err
	}
	if err := r.verify(ctx); err != nil {
		return r.rep, err
	}
	compared := time.Now()
	err = r.compareState(ctx)
	if err == nil {
		err = r.compareStats(ctx)
	}
	r.rep.Compare = time.Since(compared)
	if err != nil {
		return r.rep, err
	}
	return r.rep, nil
}
