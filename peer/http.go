package peer

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the node's state as /v1/status reports it.
type Status struct {
	NodeID        string         `json:"node_id"`
	Version       string         `json:"version"`
	Addr          string         `json:"addr"`
	HTTPAddr      string         `json:"http_addr"`
	Cluster       string         `json:"cluster"`
	Role          string         `json:"role"`
	Master        string         `json:"master,omitempty"` // for a replica: the master it follows
	Epoch         uint64         `json:"epoch"`
	Coordinator   string         `json:"coordinator"`
	SlotsCovered  int            `json:"slots_covered"`
	SlotsOwned    int            `json:"slots_owned"`
	Migrations    int            `json:"migrations"`
	Members       int            `json:"members"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Connections   int            `json:"connections"`
	Store         map[string]any `json:"store"`
	Executors     int            `json:"executors"`
	Sandbox       any            `json:"sandbox,omitempty"`
}

// Status returns the node's current state.
func (p *Peer) Status() Status {
	p.connsMu.Lock()
	nconns := len(p.conns)
	p.connsMu.Unlock()
	top := p.topology()
	t := p.cl.table.Load()
	st := p.store.Stats()
	self := p.selfInfo(t)
	s := Status{
		NodeID: p.id, Version: p.cfg.Version, Addr: p.addr, HTTPAddr: p.httpAddr,
		Cluster: top.Cluster, Role: self.Role, Master: self.Master, Epoch: top.Epoch, Coordinator: p.coordinator(),
		SlotsCovered: t.Covered(), SlotsOwned: t.SlotsOf(p.id), Migrations: top.Migrations,
		Members:       len(top.Nodes),
		UptimeSeconds: time.Since(p.startTime).Seconds(), Connections: nconns,
		Store: map[string]any{
			"keys": st.Keys, "value_bytes": st.Bytes, "file_bytes": st.FileSize,
			"offset": p.store.Offset(), "commits": st.Commits,
		},
		Executors: p.cfg.Executors,
	}
	if p.exec != nil {
		s.Sandbox = p.exec.jail.Features()
	}
	return s
}

// newHTTPServer builds the server for /metrics, /v1/status and the page.
func (p *Peer) newHTTPServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.Status())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = statusPage.Execute(w, p.Status())
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

func (p *Peer) serveHTTP() {
	if err := p.httpSrv.Serve(p.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.logger.Error("HTTP server stopped", "error", err)
	}
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><title>lambdakv {{.NodeID}}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}</style></head>
<body><h1>lambdakv node {{.NodeID}}</h1>
<table>
<tr><td>version</td><td>{{.Version}}</td></tr>
<tr><td>client address</td><td>{{.Addr}}</td></tr>
<tr><td>role</td><td>{{.Role}}</td></tr>
<tr><td>slots owned / covered</td><td>{{.SlotsOwned}} / {{.SlotsCovered}}</td></tr>
<tr><td>slot table epoch</td><td>{{.Epoch}}</td></tr>
<tr><td>members</td><td>{{.Members}}</td></tr>
<tr><td>connections</td><td>{{.Connections}}</td></tr>
<tr><td>store</td><td>{{range $k, $v := .Store}}{{$k}}={{$v}} {{end}}</td></tr>
<tr><td>executors</td><td>{{.Executors}}</td></tr>
<tr><td>uptime</td><td>{{printf "%.0f" .UptimeSeconds}} s</td></tr>
</table>
<p><a href="/metrics">metrics</a> · <a href="/v1/status">status JSON</a></p>
</body></html>
`))
