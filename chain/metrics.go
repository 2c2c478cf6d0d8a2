package chain

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Version is the application's software version reported by Info.
const Version = "0.1.0"

// AppVersion is the protocol version of the state machine; it changes when the same
// transactions would give a different state.
const AppVersion = 3

// Metrics are the application's Prometheus metrics, named ipledger_….
type Metrics struct {
	height   prometheus.Gauge
	txs      *prometheus.CounterVec
	checkTx  *prometheus.CounterVec
	finalize prometheus.Histogram
	commit   prometheus.Histogram
	blockTxs prometheus.Histogram

	checkpoint        prometheus.Gauge
	checkpointRefused prometheus.Gauge

	interval prometheus.Histogram
	round    prometheus.Gauge

	snap snapshotMetrics // snapshot.go
}

// NewMetrics creates the metrics and registers them with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		height: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_block_height", Help: "Height of the last committed block."}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_txs_total",
			Help: "Transactions committed, by result code."}, []string{"code"}),
		checkTx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_checktx_total",
			Help: "Mempool admission checks, by result code."}, []string{"code"}),
		finalize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ipledger_finalize_block_seconds",
			Help: "Time to apply a block.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ipledger_commit_seconds",
			Help: "Time to persist a block (side data, state version, fsync) and sign its checkpoint.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		blockTxs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ipledger_block_txs",
			Help: "Transactions per block.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		checkpoint: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_log_checkpoint_size",
			Help: "Tree size of the last checkpoint this node signed."}),
		checkpointRefused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_log_checkpoint_refused",
			Help: "1 once the node has refused to sign checkpoints: a checkpoint inconsistent with its history, or a stored state or log that failed the start-up check against the committed roots."}),
		interval: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ipledger_block_interval_seconds",
			Help: "Block time between consecutive blocks.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
		round: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_consensus_round",
			Help: "Consensus round in which the previous block was decided (0 when its first proposer succeeded)."}),
		snap: newSnapshotMetrics(),
	}
	if reg != nil {
		reg.MustRegister(m.height, m.txs, m.checkTx, m.finalize, m.commit, m.blockTxs, m.checkpoint, m.checkpointRefused, m.interval, m.round)
		reg.MustRegister(m.snap.collectors()...)
	}
	return m
}
