package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the GraphQL request metrics of docs/product.md §4.
type metrics struct {
	requests prometheus.Counter
	latency  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbxportal_graphql_requests_total",
			Help: "GraphQL HTTP requests served.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbxportal_graphql_request_duration_seconds",
			Help:    "Latency of GraphQL HTTP requests.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// instrument counts and times the GraphQL requests; a WebSocket, which lives
// as long as its client wants, is neither.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebSocket(r.Header) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		next.ServeHTTP(w, r)
		m.requests.Inc()
		m.latency.Observe(time.Since(start).Seconds())
	})
}
