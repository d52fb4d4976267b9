package server

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
)

// OperatorHandler serves what an operator reads from a running server, on an
// address of its own that is never the API's: the Prometheus metrics of reg
// at /metrics and Go's runtime profiles at /debug/pprof/ (heap, goroutine,
// CPU and the others of net/http/pprof). The profiles name functions and
// show memory, so the address must stay private (a loopback or
// cluster-internal address).
func OperatorHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(reg))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
