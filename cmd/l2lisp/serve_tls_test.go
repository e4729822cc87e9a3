package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeHTTPSOnly: the REST port speaks TLS 1.2+ only. Plain HTTP gets
// no API answer, a client that does not trust the CA fails the handshake,
// and so does a TLS 1.1 client.
func TestServeHTTPSOnly(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	s.must("GET", "/api/v1/networks", nil, 200)
	plain := strings.Replace(s.base, "https://", "http://", 1)
	req, _ := http.NewRequest("GET", plain+"/api/v1/networks", nil)
	req.Header.Set("Authorization", "Bearer admin-token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "[") {
			t.Errorf("plain HTTP answered %d %q", resp.StatusCode, b)
		}
		t.Logf("plain HTTP: %d %q", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if _, err := http.Get(s.base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("client without the CA: %v", err)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: httpsClient.Transport.(*http.Transport).TLSClientConfig.RootCAs, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(s.base + "/healthz"); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}

// TestServeInsecurePlaintext: the explicit flag serves plain HTTP and says
// loudly that it does.
func TestServeInsecurePlaintext(t *testing.T) {
	listen, args := serveArgs(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	args = append(args[:len(args)-len(tlsArgs())], "--insecure-plaintext")
	s := startWith(t, listen, args, cleanEnv())
	resp, err := http.Get(s.base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("plain HTTP with --insecure-plaintext: %v", err)
	}
	resp.Body.Close()
	if !strings.Contains(s.stderr.String(), "INSECURE") {
		t.Errorf("no loud warning:\n%s", s.stderr)
	}
}
