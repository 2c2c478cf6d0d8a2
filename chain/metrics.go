package chain

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Version is the application's software version reported by Info.
const Version = "0.1.0"

// AppVersion is the protocol version of the state machine; it changes when the same
// transactions would give a different state.
const AppVersion = 4

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
	f := promauto.With(reg)
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	byCode := func(name, help string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"code"})
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		return f.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	return &Metrics{
		height:   gauge("ipledger_block_height", "Height of the last committed block."),
		txs:      byCode("ipledger_txs_total", "Transactions committed, by result code."),
		checkTx:  byCode("ipledger_checktx_total", "Mempool admission checks, by result code."),
		finalize: histogram("ipledger_finalize_block_seconds", "Time to apply a block.", prometheus.ExponentialBuckets(0.0005, 2, 16)),
		commit: histogram("ipledger_commit_seconds", "Time to persist a block (side data, state version, fsync) and sign its checkpoint.",
			prometheus.ExponentialBuckets(0.0005, 2, 16)),
		blockTxs:   histogram("ipledger_block_txs", "Transactions per block.", prometheus.ExponentialBuckets(1, 2, 14)),
		checkpoint: gauge("ipledger_log_checkpoint_size", "Tree size of the last checkpoint this node signed."),
		checkpointRefused: gauge("ipledger_log_checkpoint_refused",
			"1 once the node has refused to sign checkpoints: a checkpoint inconsistent with its history, or a stored state or log that failed the start-up check against the committed roots."),
		interval: histogram("ipledger_block_interval_seconds", "Block time between consecutive blocks.", prometheus.ExponentialBuckets(0.05, 2, 14)),
		round:    gauge("ipledger_consensus_round", "Consensus round in which the previous block was decided (0 when its first proposer succeeded)."),
		snap:     newSnapshotMetrics(f),
	}
}
