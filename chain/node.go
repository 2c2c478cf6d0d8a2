package chain

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/mod/sumdb/note"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	cmtcrypto "github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/netguard"
	"github.com/ipledger/ipledger/store"
)

// Home layout below a node's home directory:
//
//	config/genesis.json               CometBFT genesis; app_state is the ledger.Genesis
//	config/node_key.json              P2P identity
//	config/priv_validator_key.json    consensus key (validators)
//	data/                             CometBFT block store and consensus state
//	ledger/                           the ipledger store (package store)
func configDir(home string) string { return filepath.Join(home, "config") }

// GenesisPath returns the path of the genesis file in home.
func GenesisPath(home string) string { return filepath.Join(home, "config", "genesis.json") }

// ValidatorSpec names a genesis validator and the organisation that operates it (which
// signs changes to the validator set; see ledger.SetValidatorBody).
type ValidatorSpec struct {
	Name     string
	PubKey   cmtcrypto.PubKey
	Power    int64
	Operator string
}

// InitHome creates the CometBFT keys of a node in home (kept if present) and returns its
// consensus public key.
func InitHome(home string) (cmtcrypto.PubKey, p2p.ID, error) {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	for _, d := range []string{configDir(home), filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, "", fmt.Errorf("init home: %w", err)
		}
	}
	pv, err := privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), func() (cmtcrypto.PrivKey, error) {
		return cmted25519.GenPrivKey(), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("init home: validator key: %w", err)
	}
	nk, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, "", fmt.Errorf("init home: node key: %w", err)
	}
	pk, err := pv.GetPubKey()
	if err != nil {
		return nil, "", fmt.Errorf("init home: %w", err)
	}
	if _, _, err := loadOrGenLogKey(home, nk.ID()); err != nil {
		return nil, "", fmt.Errorf("init home: %w", err)
	}
	return pk, nk.ID(), nil
}

// LogKeyPath is the node's log signing key: the note signer key that signs its
// checkpoints, with the verifier key on the second line.
func LogKeyPath(home string) string { return filepath.Join(home, "config", "log_key") }

// loadOrGenLogKey returns the node's log signer and verifier key, creating them (named
// "ipledger-node-<node id>") if the home has none.
func loadOrGenLogKey(home string, id p2p.ID) (note.Signer, string, error) {
	path := LogKeyPath(home)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, vkey, gerr := note.GenerateKey(rand.Reader, "ipledger-node-"+string(id))
		if gerr != nil {
			return nil, "", fmt.Errorf("log key: %w", gerr)
		}
		b = []byte(skey + "\n" + vkey + "\n")
		if err = os.WriteFile(path, b, 0o600); err != nil {
			return nil, "", fmt.Errorf("log key: %w", err)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("log key: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return nil, "", fmt.Errorf("log key %s: want the signer key and the verifier key on two lines", path)
	}
	signer, err := note.NewSigner(lines[0])
	if err != nil {
		return nil, "", fmt.Errorf("log key %s: %w", path, err)
	}
	return signer, lines[1], nil
}

// WriteGenesis writes the CometBFT genesis for chainID with the registry state g and the
// validators to path.
func WriteGenesis(path, chainID string, genesisTime time.Time, g *ledger.Genesis, vals []ValidatorSpec) error {
	gv := *g
	gv.Validators = nil
	for _, v := range vals {
		if v.Operator == "" {
			continue
		}
		var k ledger.HexKey
		if len(v.PubKey.Bytes()) != len(k) {
			return fmt.Errorf("genesis: validator %s: not an ed25519 key", v.Name)
		}
		copy(k[:], v.PubKey.Bytes())
		gv.Validators = append(gv.Validators, ledger.Validator{PubKey: k, Power: v.Power, Operator: v.Operator})
	}
	appState, err := json.Marshal(&gv)
	if err != nil {
		return fmt.Errorf("genesis: encode app state: %w", err)
	}
	params := types.DefaultConsensusParams()
	// A transaction is at most ipledger.MaxTxBytes (65,510 bytes); a block carries hundreds.
	params.Block.MaxBytes = 16 << 20
	doc := types.GenesisDoc{
		ChainID: chainID, GenesisTime: genesisTime.UTC(), InitialHeight: 1,
		ConsensusParams: params, AppState: appState,
	}
	for _, v := range vals {
		doc.Validators = append(doc.Validators, types.GenesisValidator{Address: v.PubKey.Address(), PubKey: v.PubKey, Power: v.Power, Name: v.Name})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := doc.SaveAs(path); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return nil
}

// WriteGenesisIfMissing is WriteGenesis unless path exists already.
func WriteGenesisIfMissing(path, chainID string, genesisTime time.Time, g *ledger.Genesis, vals []ValidatorSpec) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return WriteGenesis(path, chainID, genesisTime, g, vals)
}

// NodeOptions configure a running node. Addresses are host:port; "off" or "" disables a
// listener (P2P cannot be turned off in CometBFT; "off" binds it to a free loopback port
// and dials no one).
type NodeOptions struct {
	Home          string
	P2PAddr       string
	RPCAddr       string
	Peers         string // comma-separated id@host:port
	TimeoutCommit time.Duration
	EmptyBlocks   time.Duration // create_empty_blocks_interval
	Logger        *slog.Logger
	Registry      *prometheus.Registry
	SignerQuota   uint64
	NoSync        bool     // skip fsync of state commits (benchmarks only)
	Witnesses     []string // URL=VKEY of each witness to ask for cosignatures (ParseWitnessSpec)
	// NoCheckpoints turns checkpoint signing off: the node still keeps and serves its log,
	// tiles and proofs, under the last checkpoint it signed, but signs no new one (for
	// benchmarks measuring what signing costs). The zero value signs after every block.
	NoCheckpoints bool
	// SnapshotInterval is the number of blocks between the state-sync snapshots the node
	// takes and serves (in SnapshotDir(Home)); 0 takes none. SnapshotKeep is how many it
	// keeps; 0 means DefaultSnapshotKeep.
	SnapshotInterval int64
	SnapshotKeep     int
	// StateSync, if set, makes a node with an empty home catch up from a snapshot
	// instead of replaying from genesis; a node that has state ignores it.
	StateSync *StateSyncOptions
	// RPCMaxConns and P2PMaxInbound are the caps of CometBFT's RPC connections and inbound
	// peers, from the node's descriptor budget; 0 keeps CometBFT's defaults (900, 40).
	RPCMaxConns, P2PMaxInbound int
	// P2PMaxPerClient bounds the inbound P2P connections of one client (netguard.KeyOf: an
	// IPv4 address or an IPv6 /64), peers and connections still in their handshake
	// together; 0 means no per-client bound. Trusted clients and the node's dials to its
	// Peers are exempt. It turns on CometBFT's peer filter (p2pguard.go).
	P2PMaxPerClient int
	// Trusted clients are exempt from P2PMaxPerClient; nil trusts no one.
	Trusted *netguard.Trusted
	// ListenerMetrics counts the P2P connections refused, as
	// ipledger_listener_refused_total{listener="p2p",reason="client"}; nil counts none.
	ListenerMetrics *netguard.Metrics
	// Disk is the free-space watch of Home; its zero value watches without thresholds.
	Disk DiskOptions
	// NoWALPreallocate keeps the ledger store from reserving disk ahead of its write-ahead
	// log (store.Options.NoWALPreallocate): for dev chains.
	NoWALPreallocate bool
}

// StateSyncOptions configure CometBFT's state sync for a joining node. Its light client
// verifies the snapshot's app hash from a trusted header: the joiner trusts whoever gave
// it TrustHeight and TrustHash (ipledger init --join takes them from a node's RPC).
type StateSyncOptions struct {
	// RPCServers are CometBFT RPC addresses (host:port or URL) of the network's nodes: the
	// first is the light client's primary, the others its witnesses. One is repeated to
	// make the two CometBFT requires, which leaves the light client no witness to compare.
	RPCServers  []string
	TrustHeight int64
	TrustHash   string        // hex hash of the header at TrustHeight
	TrustPeriod time.Duration // 0 means a week; the trusted header must be younger
}

// State-sync tuning for small networks of operators.
const (
	// stateSyncDiscovery is how long a joiner gathers snapshot offers before it picks one:
	// CometBFT v1.0.1 accepts nothing shorter than 5 s (and turns a shorter non-zero time
	// into 25 s); on loopback or a LAN every peer has answered long before.
	stateSyncDiscovery = 5 * time.Second
	// stateSyncFetchers fetch chunks concurrently, from every peer that has the snapshot.
	stateSyncFetchers = 4
	// stateSyncChunkTimeout is how long a fetcher waits for a chunk before asking again.
	stateSyncChunkTimeout = 10 * time.Second
	// p2pRate is each connection's send and receive limit in bytes per second: CometBFT's
	// 5 MB/s default would make a 200 MB snapshot take 40 s on a network that moves it in
	// two.
	p2pRate = 100 << 20
	// p2pHandshakeTimeout bounds an inbound connection's secret-connection handshake and
	// node-info exchange: a peer on a network of operators completes it in milliseconds.
	p2pHandshakeTimeout = 5 * time.Second
)

// Node is a running ipledger node: CometBFT in-process with the App.
type Node struct {
	app   *App
	st    *store.Store
	node  *nm.Node
	local *rpclocal.Local
	log   *slog.Logger
	halt  *halter
	disk  *diskWatch
	done  chan struct{} // closed by Stop
}

// Start opens the node home and starts CometBFT with the application. The caller must call
// Stop.
func Start(ctx context.Context, o NodeOptions) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 100 * time.Millisecond
	}
	if o.EmptyBlocks == 0 {
		o.EmptyBlocks = 30 * time.Second
	}
	c := cfg.DefaultConfig()
	c.SetRoot(o.Home)
	c.Moniker = filepath.Base(o.Home)
	doc, err := types.GenesisDocFromFile(c.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("start node: read genesis: %w", err)
	}
	witnesses, err := parseWitnesses(o.Witnesses)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	disk := newDiskWatch(o.Home, o.Disk, o.Logger)
	if err := disk.startable(); err != nil {
		return nil, err
	}
	halt := newHalter(o.Logger)
	st, err := store.Open(store.Options{Dir: filepath.Join(o.Home, "ledger"), Logger: o.Logger, NoSync: o.NoSync, NoWALPreallocate: o.NoWALPreallocate})
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	var reg prometheus.Registerer
	if o.Registry != nil {
		reg = o.Registry
	}
	nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: node key: %w", err)
	}
	logSigner, logVerifier, err := loadOrGenLogKey(o.Home, nk.ID())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	if o.NoCheckpoints {
		logSigner = nil
	}
	app, err := NewApp(st, Config{ChainID: doc.ChainID, Logger: o.Logger, Metrics: NewMetrics(reg), SignerQuota: o.SignerQuota,
		LogSigner: logSigner, LogVerifierKey: logVerifier,
		SnapshotDir: SnapshotDir(o.Home), SnapshotInterval: o.SnapshotInterval, SnapshotKeep: o.SnapshotKeep})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	tune(c, o)
	app.cadence = &cadence{consensus: c.Consensus, base: o.TimeoutCommit}
	if err := c.StateSync.ValidateBasic(); err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: state sync: %w", err)
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	var abciApp abci.Application = haltingApp{app, halt, disk}
	var p2pg *p2pGuard
	if o.P2PMaxPerClient > 0 {
		// Both of CometBFT's handshake steps get a handshake timeout of their own.
		p2pg = newP2PGuard(o.P2PMaxPerClient, 2*c.P2P.HandshakeTimeout, o.Trusted, c.P2P.PersistentPeers, o.ListenerMetrics, o.Logger)
		c.FilterPeers = true
		abciApp = filteringApp{abciApp, p2pg}
	}
	n, err := nm.NewNode(ctx, c, pv, nk,
		proxy.NewConnSyncLocalClientCreator(abciApp),
		func() (nm.ChecksummedGenesisDoc, error) {
			return nm.DefaultGenesisDocProviderFunc(c)()
		},
		cfg.DefaultDBProvider,
		nm.DefaultMetricsProvider(c.Instrumentation),
		cmtLogger{o.Logger, halt},
	)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	if p2pg != nil {
		p2pg.setPeers(switchPeers(n.Switch()))
	}
	if err := app.startWitnesses(witnesses, reg); err != nil {
		st.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	if err := n.Start(); err != nil {
		app.stopWitnesses()
		st.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ipledger_mempool_txs", Help: "Transactions waiting in the mempool."},
				func() float64 { return float64(n.Mempool().Size()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ipledger_peers", Help: "Connected consensus peers."},
				func() float64 { return float64(n.Switch().Peers().Size()) }),
		)
		registerHealth(reg, halt, disk)
	}
	attrs := []any{"chain", doc.ChainID, "height", app.Committed().Height, "p2p", c.P2P.ListenAddress, "rpc", c.RPC.ListenAddress, "disk_free", formatBytes(disk.free.Load())}
	if r := disk.refusal(); r != "" {
		attrs = append(attrs, "refusing_transactions", r)
	}
	o.Logger.Info("node started", attrs...)
	node := &Node{app: app, st: st, node: n, local: rpclocal.New(n), log: o.Logger, halt: halt, disk: disk, done: make(chan struct{})}
	go disk.run(halt, node.done)
	return node, nil
}

// tune applies DESIGN.md's settings: fast blocks under load, an empty block every 30 s so
// block time keeps moving, no CometBFT tx indexer, loopback-friendly P2P.
func tune(c *cfg.Config, o NodeOptions) {
	c.Consensus.TimeoutCommit = o.TimeoutCommit
	c.Consensus.CreateEmptyBlocks = true
	c.Consensus.CreateEmptyBlocksInterval = o.EmptyBlocks
	// A gossip routine that finds nothing to send sleeps this long before it looks again
	// (100 ms by default): on a small network of operators that sleep, not the wire, is
	// what delays block parts and votes. 10 ms is what ../shared/bench/cometbase's network
	// runs with.
	c.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	c.TxIndex.Indexer = "null"
	c.Mempool.MaxTxBytes = ipledger.MaxTxBytes
	c.Mempool.Size = 50_000
	c.Mempool.MaxTxsBytes = 1 << 30
	c.Mempool.Broadcast = true
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	c.P2P.PersistentPeers = o.Peers
	// Registry networks are small and their operators know each other: persistent peers
	// connect them, and peer exchange stays off so that a node talks only to the addresses
	// its operator configured (and the partition test's proxies stay in the path).
	c.P2P.PexReactor = false
	c.P2P.ListenAddress = "tcp://" + listenOrFree(o.P2PAddr)
	if o.RPCAddr == "" || o.RPCAddr == "off" {
		c.RPC.ListenAddress = ""
	} else {
		c.RPC.ListenAddress = "tcp://" + o.RPCAddr
	}
	c.Instrumentation.Prometheus = false
	c.P2P.SendRate, c.P2P.RecvRate = p2pRate, p2pRate
	// CometBFT caps its listeners overall only (netutil.LimitListener: connections beyond
	// wait in the kernel's backlog and cost no descriptor). The caps come from the
	// budget; a connection that never completes the P2P handshake frees its place after
	// p2pHandshakeTimeout instead of CometBFT's 20 s.
	if o.RPCMaxConns > 0 {
		c.RPC.MaxOpenConnections = o.RPCMaxConns
	}
	if o.P2PMaxInbound > 0 {
		c.P2P.MaxNumInboundPeers = o.P2PMaxInbound
	}
	c.P2P.HandshakeTimeout = p2pHandshakeTimeout
	c.StateSync.Enable = false
	if ss := o.StateSync; ss != nil {
		c.StateSync.Enable = true
		c.StateSync.RPCServers = slices.Clone(ss.RPCServers)
		if len(c.StateSync.RPCServers) == 1 {
			c.StateSync.RPCServers = append(c.StateSync.RPCServers, ss.RPCServers[0])
		}
		c.StateSync.TrustHeight = ss.TrustHeight
		c.StateSync.TrustHash = ss.TrustHash
		c.StateSync.TrustPeriod = ss.TrustPeriod
		if c.StateSync.TrustPeriod == 0 {
			c.StateSync.TrustPeriod = 7 * 24 * time.Hour
		}
		c.StateSync.DiscoveryTime = stateSyncDiscovery
		c.StateSync.ChunkFetchers = stateSyncFetchers
		c.StateSync.ChunkRequestTimeout = stateSyncChunkTimeout
		c.StateSync.TempDir = filepath.Join(o.Home, "data")
	}
}

func listenOrFree(addr string) string {
	if addr == "" || addr == "off" {
		return "127.0.0.1:0"
	}
	return addr
}

// App returns the node's application.
func (n *Node) App() *App { return n.app }

// Submit passes a transaction to the mempool and returns its hash and CheckTx verdict: a
// nil error means it was admitted.
func (n *Node) Submit(ctx context.Context, tx []byte) (ipledger.Hash, error) {
	if len(tx) > ipledger.MaxTxBytes {
		return ipledger.HashTx(tx), ipledger.Errorf(ipledger.CodeTooLarge, "transaction is %d bytes, limit %d", len(tx), ipledger.MaxTxBytes)
	}
	n.disk.refresh(n.halt)
	if r := n.refusal(); r != "" {
		return ipledger.HashTx(tx), ipledger.Errorf(ipledger.CodeUnavailable, "%s; retry later or at another node", r)
	}
	// Signatures are checked here, in parallel across callers, rather than inside CheckTx.
	decoded, err := n.app.preVerify(tx)
	if err != nil {
		return ipledger.HashTx(tx), err
	}
	hash := decoded.Hash
	if err := ctx.Err(); err != nil {
		return hash, fmt.Errorf("submit: %w", err)
	}
	rr, err := n.node.Mempool().CheckTx(tx, "")
	if err != nil {
		// Not admitted: it must not pass for pending (see App.WaitCommit).
		n.app.forget(tx, hash)
	}
	switch {
	case errors.Is(err, mempool.ErrTxInCache):
		return hash, ipledger.Errorf(ipledger.CodeStaleSequence, "transaction %s was already submitted", hash)
	case errors.As(err, new(mempool.ErrMempoolIsFull)):
		return hash, ipledger.Errorf(ipledger.CodeMempoolFull, "mempool is full; retry later")
	case err != nil:
		return hash, ipledger.Errorf(ipledger.CodeInvalid, "mempool refused the transaction: %v", err)
	}
	// The mempool's connection is a synchronous local client (NewConnSyncLocalClientCreator):
	// CheckTx has run when the mempool returns, and Wait returns at once.
	rr.Wait()
	res := rr.Response.GetCheckTx()
	if res == nil {
		return hash, fmt.Errorf("submit: no CheckTx response (%v)", rr.Error())
	}
	if res.Code != 0 {
		n.app.forget(tx, hash)
		return hash, &ipledger.Error{Code: ipledger.Code(res.Code), Message: res.Log}
	}
	return hash, nil
}

// WaitHeight blocks until a block at height h or above is committed, or ctx ends.
func (n *Node) WaitHeight(ctx context.Context, h int64) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for n.app.Committed().Height < h {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for height %d: %w", h, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Status returns the node's current status.
func (n *Node) Status(ctx context.Context) (ipledger.NodeStatus, error) {
	snap := n.app.Committed()
	s := ipledger.NodeStatus{
		ChainID: n.app.chainID(), Height: snap.Height, Time: snap.Block.Time,
		AppHash: fmt.Sprintf("%X", snap.Block.AppHash), NodeID: string(n.node.NodeInfo().ID()),
		Peers: n.node.Switch().Peers().Size(), LogSize: snap.Block.LogSize, MempoolSize: n.node.Mempool().Size(),
		HaltReason: n.halt.Reason(), Refusing: n.refusal(), DiskFree: n.disk.free.Load(),
	}
	s.Halted = s.HaltReason != ""
	if st, err := n.local.Status(ctx); err == nil {
		s.CatchingUp = st.SyncInfo.CatchingUp
	}
	h := snap.Height
	if h < 1 {
		h = 1
	}
	page, per := 1, 100
	if vals, err := n.local.Validators(ctx, &h, &page, &per); err == nil {
		for _, v := range vals.Validators {
			s.Validators = append(s.Validators, ipledger.Validator{Address: v.Address.String(), PubKey: fmt.Sprintf("%X", v.PubKey.Bytes()), Power: v.VotingPower})
		}
	}
	return s, nil
}

// LastHeaderHeight returns the height of the last block in CometBFT's block store: the
// highest height with a header and a commit signing it.
func (n *Node) LastHeaderHeight() int64 { return n.node.BlockStore().Height() }

// LightBlock returns what a light client verifies of height h, from CometBFT's block and
// state stores: the header, the commit that signs it (the canonical one from block h+1, or
// the commit this node saw if h is its last block) and the validator set of h.
func (n *Node) LightBlock(ctx context.Context, h int64) (*types.LightBlock, error) {
	bs := n.node.BlockStore()
	if h < 1 || h > bs.Height() || h < bs.Base() {
		return nil, fmt.Errorf("light block %d (block store holds %d to %d): %w", h, bs.Base(), bs.Height(), ipledger.ErrNoHeader)
	}
	meta := bs.LoadBlockMeta(h)
	var commit *types.Commit
	if h == bs.Height() {
		commit = bs.LoadSeenCommit(h)
	} else {
		commit = bs.LoadBlockCommit(h)
	}
	if meta == nil || commit == nil {
		return nil, fmt.Errorf("light block %d: %w", h, ipledger.ErrNoHeader)
	}
	vals, err := Validators(ctx, n.local, h)
	if err != nil {
		return nil, fmt.Errorf("light block %d: %w", h, err)
	}
	vs, err := types.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, fmt.Errorf("light block %d: validators: %w", h, err)
	}
	header := meta.Header
	return &types.LightBlock{SignedHeader: &types.SignedHeader{Header: &header, Commit: commit}, ValidatorSet: vs}, nil
}

// ValidatorLister is what Validators reads: CometBFT's RPC client, in-process or over HTTP.
type ValidatorLister interface {
	Validators(ctx context.Context, height *int64, page, perPage *int) (*coretypes.ResultValidators, error)
}

// MaxValidatorPages bounds the pages of 100 that Validators reads for one set: ten
// thousand validators, far more than a registry's chain has, so that an RPC server paging
// on forever is refused.
const MaxValidatorPages = 100

// Validators returns the validator set at height h as src lists it, page by page.
func Validators(ctx context.Context, src ValidatorLister, h int64) ([]*types.Validator, error) {
	var all []*types.Validator
	per := 100
	for page := 1; page <= MaxValidatorPages; page++ {
		rv, err := src.Validators(ctx, &h, &page, &per)
		if err != nil {
			return nil, fmt.Errorf("validators %d: %w", h, err)
		}
		all = append(all, rv.Validators...)
		if len(rv.Validators) == 0 || len(all) >= rv.Total {
			return all, nil
		}
	}
	return nil, fmt.Errorf("validators %d: more than %d pages", h, MaxValidatorPages)
}

// Halted is closed when the node can follow the chain no more and its owner should Stop
// it and exit non-zero: HaltReason says why (a consensus failure, HaltLinger after it
// happened; free space below the stop threshold, at once).
func (n *Node) Halted() <-chan struct{} { return n.halt.exit }

// HaltReason returns why the node halted, or "" while it runs.
func (n *Node) HaltReason() string { return n.halt.Reason() }

// refusal returns why Submit refuses transactions now, or "".
func (n *Node) refusal() string { return refusal(n.halt, n.disk) }

// Stop stops CometBFT and closes the store.
func (n *Node) Stop() error {
	select {
	case <-n.done:
	default:
		close(n.done)
	}
	var errs []error
	if n.node.IsRunning() {
		if err := n.node.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop cometbft: %w", err))
		}
		n.node.Wait()
	}
	n.app.stopWitnesses()
	n.app.closeSnapshots()
	if err := n.st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	n.log.Info("node stopped", "height", n.app.Committed().Height)
	if len(errs) > 0 {
		return fmt.Errorf("stop node: %w", errors.Join(errs...))
	}
	return nil
}

// cmtLogger sends CometBFT's logs to slog: its per-block chatter to debug, its errors to
// warn (most are peers coming and going). Its consensus failure halts the node.
type cmtLogger struct {
	l *slog.Logger
	h *halter
}

func (c cmtLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cmtLogger) Info(msg string, kv ...any)  { c.l.Debug(msg, kv...) }
func (c cmtLogger) Error(msg string, kv ...any) {
	c.l.Warn(msg, kv...)
	if msg == consensusFailure && c.h != nil {
		c.h.halt("consensus failure: "+failureCause(kv), HaltLinger)
	}
}
func (c cmtLogger) With(kv ...any) cmtlog.Logger {
	return cmtLogger{c.l.With(kv...), c.h}
}

// failureCause returns the "err" value of a consensus failure's key-value pairs (the
// recovered panic), without the stack that follows it.
func failureCause(kv []any) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, _ := kv[i].(string); k == "err" {
			return fmt.Sprint(kv[i+1])
		}
	}
	return "unknown cause"
}
