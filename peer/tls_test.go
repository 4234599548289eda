package peer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lambdakv test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestPeer_TLS(t *testing.T) {
	cfg := testConfig(t)
	cfg.TLSCertFile, cfg.TLSKeyFile = writeCert(t)
	p := startPeer(t, cfg)

	tcfg, err := client.TLSConfig(cfg.TLSCertFile)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p, func(c *client.Config) { c.TLS = tcfg })
	ctx := ctxT(t)
	if err := c.Put(ctx, "k", []byte("over tls")); err != nil {
		t.Fatalf("Put over TLS: %v", err)
	}
	if v, err := c.Get(ctx, "k"); err != nil || string(v) != "over tls" {
		t.Fatalf("Get over TLS = %q, %v", v, err)
	}

	// A client that does not trust the node's certificate is refused.
	untrusted, _ := client.TLSConfig("")
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := client.Dial(sctx, client.Config{Seeds: []string{p.Addr()}, TLS: untrusted}); err == nil {
		t.Errorf("Dial with an untrusted certificate succeeded")
	}
	// A plaintext client gets nowhere either.
	if _, err := client.Dial(sctx, client.Config{Seeds: []string{p.Addr()}, DialTimeout: time.Second}); err == nil {
		t.Errorf("plaintext Dial to a TLS node succeeded")
	}
}

// Nodes talk to each other over TLS too, verifying each other's
// certificates: a second node joins, slots move to it with their data.
func TestCluster_TLS(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster")
	}
	cert, key := writeCert(t)
	c := &testCluster{t: t}
	for i := range 2 {
		cfg := clusterConfig(t, i)
		cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSCAFile = cert, key, cert
		if i > 0 {
			cfg.Join = []string{c.nodes[0].GossipAddr()}
		}
		c.nodes = append(c.nodes, startPeer(t, cfg))
		if i == 0 {
			tcfg, _ := client.TLSConfig(cert)
			cl := dial(t, c.nodes[0], func(c *client.Config) { c.TLS = tcfg })
			for j := range 100 {
				if err := cl.Put(ctxT(t), fmt.Sprintf("tls-%d", j), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitUntil(t, 30*time.Second, "two TLS nodes agree", func() error { return c.agreed(c.nodes) })
	tcfg, _ := client.TLSConfig(cert)
	cl := dial(t, c.nodes[1], func(c *client.Config) { c.TLS = tcfg })
	for j := range 100 {
		if v, err := cl.Get(ctxT(t), fmt.Sprintf("tls-%d", j)); err != nil || string(v) != "v" {
			t.Fatalf("tls-%d = %q, %v", j, v, err)
		}
	}
}
