package peer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func TestPeer_HTTP_metricsAndStatus(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)
	if err := c.Put(ctx, "k", []byte("12345")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Get(ctx, "missing")

	m := httpGet(t, "http://"+p.HTTPAddr()+"/metrics")
	for _, want := range []string{
		`lkv_requests_total{op="get",status="OK"} 1`,
		`lkv_requests_total{op="get",status="NOT_FOUND"} 1`,
		`lkv_requests_total{op="put",status="OK"} 1`,
		`lkv_request_duration_seconds_bucket{op="get"`,
		`lkv_store_keys 1`,
		`lkv_store_value_bytes 5`,
		`lkv_connections 1`,
		`lkv_bytes_received_total`,
		`lkv_bytes_sent_total`,
		`lkv_store_file_bytes`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	var st map[string]any
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+p.HTTPAddr()+"/v1/status")), &st); err != nil {
		t.Fatalf("/v1/status: %v", err)
	}
	if st["node_id"] != "node-0" || st["slots_covered"] != float64(16384) || st["addr"] != p.Addr() {
		t.Errorf("/v1/status = %v; want node-0 covering 16384 slots at %s", st, p.Addr())
	}
	if page := httpGet(t, "http://"+p.HTTPAddr()+"/"); !strings.Contains(page, "node-0") {
		t.Errorf("status page does not name the node")
	}
}
