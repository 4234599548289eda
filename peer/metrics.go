package peer

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// metrics holds the node's Prometheus collectors in a registry of its own,
// so that several nodes can live in one process (tests, lab clusters).
type metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Resolved children, indexed by op and status, so the hot path does no
	// label lookups.
	reqCounter [16][16]prometheus.Counter
	reqLatency [16]prometheus.Observer

	bytesIn      prometheus.Counter
	bytesOut     prometheus.Counter
	conns        prometheus.Gauge
	connsTotal   prometheus.Counter
	connsRefused prometheus.Counter

	execQueue    prometheus.Gauge
	execBusy     prometheus.Counter
	execKills    *prometheus.CounterVec
	execDuration prometheus.Histogram
	depBytes     *prometheus.CounterVec
	failovers    prometheus.Counter
}

func newMetrics(p *Peer) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lkv_requests_total", Help: "Requests answered, by op and status.",
	}, []string{"op", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lkv_request_duration_seconds",
		Help:    "Time from reading a request to writing its response, by op.",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2, 20),
	}, []string{"op"})
	for op := wire.Op(0); op < 16; op++ {
		if op != wire.OpInvalid && !op.Valid() {
			continue
		}
		m.reqLatency[op] = m.latency.WithLabelValues(op.String())
		for st := wire.Status(0); st < 16; st++ {
			if _, ok := wire.ParseStatus(st.String()); ok {
				m.reqCounter[op][st] = m.requests.WithLabelValues(op.String(), st.String())
			}
		}
	}
	m.bytesIn = counter("lkv_bytes_received_total", "Bytes of request frames received.")
	m.bytesOut = counter("lkv_bytes_sent_total", "Bytes of response frames sent.")
	m.conns = prometheus.NewGauge(prometheus.GaugeOpts{Name: "lkv_connections", Help: "Open client connections."})
	m.connsTotal = counter("lkv_connections_total", "Client connections accepted.")
	m.connsRefused = counter("lkv_connections_refused_total", "Connections closed at once because the node was at MaxConns.")
	m.execQueue = prometheus.NewGauge(prometheus.GaugeOpts{Name: "lkv_exec_queue_depth", Help: "Executions waiting for an executor."})
	m.execBusy = counter("lkv_exec_busy_seconds_total", "Time executors spent running lambdas.")
	m.execKills = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lkv_sandbox_kills_total", Help: "Lambdas killed by the sandbox, by reason.",
	}, []string{"reason"})
	m.execDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "lkv_exec_duration_seconds", Help: "Wall time of lambda runs.",
		Buckets: prometheus.ExponentialBuckets(250e-6, 2, 18),
	})
	m.depBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lkv_dep_bytes_total", Help: "Dependency bytes handed to lambdas, by source (local, cache, remote).",
	}, []string{"source"})
	m.failovers = counter("lkv_failovers_total", "Replicas this node promoted, as coordinator, for dead masters.")
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.conns, m.connsTotal,
		m.connsRefused, m.execQueue, m.execBusy, m.execKills, m.execDuration, m.depBytes, m.failovers)
	m.registerStoreGauges(p)
	return m
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// registerStoreGauges exposes store figures read at scrape time.
func (m *metrics) registerStoreGauges(p *Peer) {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if p.store == nil {
				return 0
			}
			return f()
		}))
	}
	gauge("lkv_store_keys", "Keys stored on this node.", func() float64 { return float64(p.store.Stats().Keys) })
	gauge("lkv_store_value_bytes", "Bytes of values stored on this node.", func() float64 { return float64(p.store.Stats().Bytes) })
	gauge("lkv_store_file_bytes", "Size of the store file.", func() float64 { return float64(p.store.Stats().FileSize) })
	gauge("lkv_store_offset", "Offset of the last write.", func() float64 { return float64(p.store.Offset()) })
	gauge("lkv_slot_table_epoch", "Highest epoch in the slot table.", func() float64 { return float64(p.topology().Epoch) })
}

// observe records a finished request.
func (m *metrics) observe(r *reply) {
	op, st := r.op&15, r.resp.Status&15
	if c := m.reqCounter[op][st]; c != nil {
		c.Inc()
	}
	if h := m.reqLatency[op]; h != nil {
		h.Observe(time.Since(r.start).Seconds())
	}
}
