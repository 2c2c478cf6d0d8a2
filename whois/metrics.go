package whois

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics, named ipledger_whois_….
type metrics struct {
	conns    prometheus.Counter
	open     prometheus.Gauge
	queries  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration prometheus.Histogram
	builds   prometheus.Counter
}

// Reasons a connection or query is turned away, the label of ipledger_whois_rejected_total.
const (
	rejectRate        = "rate_limit"
	rejectConns       = "connections"
	rejectClientConns = "client_connections"
	rejectIdle        = "idle_timeout"
	rejectLine        = "line_too_long"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		conns: prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_whois_connections_total",
			Help: "WHOIS connections accepted, including those turned away."}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_whois_connections_open",
			Help: "WHOIS connections being served."}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_whois_queries_total",
			Help: "WHOIS queries answered, by outcome (ok, not_found, referral, error, internal)."}, []string{"outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_whois_rejected_total",
			Help: "WHOIS connections closed by a limit, by reason."}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ipledger_whois_query_seconds",
			Help: "Time to answer a WHOIS query, writing excluded.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}),
		builds: prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_whois_index_builds_total",
			Help: "Builds of the holder index inverse queries use."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.conns, m.open, m.queries, m.rejected, m.duration, m.builds} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register whois metrics: %w", err)
			}
		}
	}
	return m, nil
}
