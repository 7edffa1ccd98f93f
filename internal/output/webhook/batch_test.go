package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// items is how many entries each accepted body carried, in order.
func (rc *receiver) items(t *testing.T) []int {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []int
	for _, b := range rc.bodies {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			t.Fatalf("body is not a JSON array: %v: %.80s", err, b)
		}
		out = append(out, len(arr))
	}
	return out
}

// TestBatchesCarryManyItems: 25 alerts with a batch size of 10 make three
// POSTs of 10, 10 and 5 alerts, in the order written.
func TestBatchesCarryManyItems(t *testing.T) {
	rc := newReceiver(t, false, func(int64, *http.Request) int { return http.StatusOK })
	s, err := New(Options{URL: rc.srv.URL, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if err := s.WriteAlert(alert(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rc.items(t)); got != "[10 10 5]" {
		t.Fatalf("POSTs carried %s alerts, want [10 10 5]", got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, b := range rc.bodies {
		var arr []struct{ Message string }
		json.Unmarshal(b, &arr)
		for _, it := range arr {
			if want := fmt.Sprintf("alert-%d", n); it.Message != want {
				t.Fatalf("item %d is %s, want %s: batches out of order", n, it.Message, want)
			}
			n++
		}
	}
}

// TestBatchesFormBehindTheFanout: while the server holds its first
// request, alerts pile up in the output's queue; once it answers, they
// go out in full batches rather than one POST each.
func TestBatchesFormBehindTheFanout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, false, func(n int64, _ *http.Request) int {
		if n == 1 {
			<-release
		}
		return http.StatusOK
	})
	s, err := New(Options{URL: rc.srv.URL, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	f := fanout(t, s, 1000)
	const n = 250
	for i := range n {
		f.WriteAlert(alert(i))
	}
	close(release)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rc, n)
	full := 0
	for _, c := range rc.items(t) {
		if c > 50 {
			t.Errorf("a POST carried %d alerts, more than the batch size", c)
		}
		if c == 50 {
			full++
		}
	}
	if full < 3 {
		t.Errorf("POSTs carried %v alerts: want at least 3 full batches of 50 from the queued alerts", rc.items(t))
	}
}

// TestRetryAfterIsHonoured: a 503 with Retry-After: 1 makes the retry
// wait a second although max_backoff is 5ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		first := len(times) == 1
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.WriteAlert(alert(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 2 {
		t.Fatalf("%d requests, want 2", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("retried %s after a Retry-After of 1s", gap)
	}
}

// TestRetryWait: the wait is the backoff, or a longer Retry-After (in
// seconds or as a date) up to MaxRetryAfter.
func TestRetryWait(t *testing.T) {
	s, err := New(Options{URL: "http://127.0.0.1:1", MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		MaxRetryAfter: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		header   string
		min, max time.Duration
	}{
		{"", 5 * time.Millisecond, 10 * time.Millisecond},
		{"0", 5 * time.Millisecond, 10 * time.Millisecond},
		{"30", 30 * time.Second, 30 * time.Second},
		{"3600", 2 * time.Minute, 2 * time.Minute},
		{now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second, 45 * time.Second},
		{"soon", 5 * time.Millisecond, 10 * time.Millisecond},
	} {
		err := &statusError{code: 503, retryAfter: parseRetryAfter(c.header, now)}
		if got := s.retryWait(0, err); got < c.min || got > c.max {
			t.Errorf("Retry-After %q: wait %s, want %s to %s", c.header, got, c.min, c.max)
		}
	}
	if got := s.retryWait(0, errors.New("connection refused")); got > 10*time.Millisecond {
		t.Errorf("network error: wait %s, want the backoff", got)
	}
}

// pki is a CA and certificates it signed, written as PEM files.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), ca: ca, key: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.write(t, name+".pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate for cn; it returns the certificate and key
// files and the pair.
func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = p.write(t, cn+".pem", "CERTIFICATE", der)
	keyFile = p.write(t, cn+"-key.pem", "PRIVATE KEY", keyDER)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// TestMutualTLS: a real TLS server that requires a client certificate
// signed by its CA takes the alerts of a webhook configured with one, and
// refuses (the alert is dropped and counted) a webhook without one or
// with one from another CA.
func TestMutualTLS(t *testing.T) {
	ca := newPKI(t, "vigil-test-ca")
	_, _, serverPair := ca.issue(t, "siem.test", x509.ExtKeyUsageServerAuth)
	certFile, keyFile, _ := ca.issue(t, "vigil-agent", x509.ExtKeyUsageClientAuth)
	rogue := newPKI(t, "rogue-ca")
	rogueCert, rogueKey, _ := rogue.issue(t, "intruder", x509.ExtKeyUsageClientAuth)

	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: ca.pool, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(ca.dir, "vigil-test-ca.pem")

	for _, c := range []struct {
		name string
		tls  TLSOptions
		ok   bool
	}{
		{"client certificate", TLSOptions{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}, true},
		{"none", TLSOptions{CAFile: caFile}, false},
		{"another CA's", TLSOptions{CAFile: caFile, CertFile: rogueCert, KeyFile: rogueKey}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(Options{URL: srv.URL, TLS: c.tls, MaxRetries: 1, MinBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s.WriteAlert(alert(1))
			err = s.Close()
			r := s.Report()
			if c.ok && (err != nil || r.Delivered != 1) {
				t.Fatalf("with the client certificate: %v, report %+v", err, r)
			}
			if !c.ok && (err == nil || r.Dropped != 1 || r.Delivered != 0) {
				t.Fatalf("accepted without a valid client certificate: %v, report %+v", err, r)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(clients) != 1 || clients[0] != "vigil-agent" {
		t.Errorf("the server served %v, want only vigil-agent", clients)
	}
}
