package rtr

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's ipledger_rtr_… Prometheus metrics.
type metrics struct {
	conns          prometheus.Gauge
	accepted       prometheus.Counter
	rejected       prometheus.Counter
	slowDropped    prometheus.Counter
	timeouts       *prometheus.CounterVec
	serial         prometheus.Gauge
	vrps           *prometheus.GaugeVec
	routerKeys     prometheus.Gauge
	aspas          prometheus.Gauge
	changes        prometheus.Counter
	queries        *prometheus.CounterVec
	responses      *prometheus.CounterVec
	errorsSent     *prometheus.CounterVec
	errorsReceived *prometheus.CounterVec
	notifies       prometheus.Counter
	bytes          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		conns:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_connections", Help: "RTR router connections open."}),
		accepted:       prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_connections_accepted_total", Help: "RTR connections accepted."}),
		rejected:       prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_connections_rejected_total", Help: "RTR connections closed at once for exceeding the connection limit."}),
		slowDropped:    prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_slow_clients_dropped_total", Help: "RTR connections dropped because the router did not read its response in time."}),
		timeouts:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_read_timeouts_total", Help: "RTR connections dropped by a read deadline, by what was awaited (first_query, pdu)."}, []string{"waiting_for"}),
		serial:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_serial", Help: "Serial number of the data served."}),
		vrps:           prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ipledger_rtr_vrps", Help: "VRPs served, by address family."}, []string{"family"}),
		routerKeys:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_router_keys", Help: "BGPsec router keys served (versions 1 and 2)."}),
		aspas:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "ipledger_rtr_aspas", Help: "ASPAs (customer ASes) served (version 2, one PDU per address family)."}),
		changes:        prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_set_changes_total", Help: "Updates that changed the data served (each moves the serial)."}),
		queries:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_queries_total", Help: "Queries received, by kind (reset, serial) and protocol version."}, []string{"kind", "version"}),
		responses:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_responses_total", Help: "Answers to queries, by kind (full, delta, up_to_date, cache_reset, no_data) and protocol version."}, []string{"kind", "version"}),
		errorsSent:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_error_reports_sent_total", Help: "Error Reports sent, by error code."}, []string{"code"}),
		errorsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_rtr_error_reports_received_total", Help: "Error Reports received from routers, by error code."}, []string{"code"}),
		notifies:       prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_serial_notifies_total", Help: "Serial Notify PDUs sent."}),
		bytes:          prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_rtr_written_bytes_total", Help: "Bytes written to routers."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.conns, m.accepted, m.rejected, m.slowDropped, m.timeouts, m.serial, m.vrps, m.routerKeys, m.aspas,
		m.changes, m.queries, m.responses, m.errorsSent, m.errorsReceived, m.notifies, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rtr: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) setChanged(st *state) {
	m.serial.Set(float64(st.serial))
	m.vrps.WithLabelValues("ipv4").Set(float64(st.set.Len4()))
	m.vrps.WithLabelValues("ipv6").Set(float64(st.set.Len6()))
	m.routerKeys.Set(float64(st.set.KeyLen()))
	m.aspas.Set(float64(st.set.ASPALen()))
	m.changes.Inc()
}
