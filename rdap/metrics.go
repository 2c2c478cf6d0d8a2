package rdap

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus metrics, all named ipledger_rdap_….
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	redirects    *prometheus.CounterVec
	limited      prometheus.Counter
	clients      prometheus.Gauge
	truncated    prometheus.Counter
	indexBuilds  prometheus.Counter
	indexSeconds prometheus.Histogram
	indexHeight  prometheus.Gauge
}

// newMetrics creates the metrics and registers them with reg, unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipledger_rdap_requests_total", Help: "RDAP requests answered, by query type and HTTP status.",
		}, []string{"query", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ipledger_rdap_request_duration_seconds", Help: "Time to answer an RDAP request, by query type.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 4, 9),
		}, []string{"query"}),
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipledger_rdap_redirects_total", Help: "RDAP requests redirected to a registry that is not authoritative on the ledger, by registry.",
		}, []string{"registry"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipledger_rdap_rate_limited_total", Help: "RDAP requests refused with 429 by the per-client rate limit.",
		}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ipledger_rdap_rate_limit_clients", Help: "Clients the RDAP rate limiter tracks.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipledger_rdap_truncated_results_total", Help: "RDAP search answers cut at the result limit.",
		}),
		indexBuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipledger_rdap_index_builds_total", Help: "Builds of the RDAP search index (one per committed state a search sees).",
		}),
		indexSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ipledger_rdap_index_build_duration_seconds", Help: "Time to build the RDAP search index.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		indexHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ipledger_rdap_index_height", Help: "Height of the committed state the RDAP search index was last built from.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.redirects, m.limited, m.clients,
		m.truncated, m.indexBuilds, m.indexSeconds, m.indexHeight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rdap: register metrics: %w", err)
		}
	}
	return m, nil
}
