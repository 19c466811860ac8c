package wizard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fakeStore is the device side of a certificate replacement.
type fakeStore struct {
	pub, current, written []byte
	events                *[]string
}

func (f *fakeStore) DevicePublicKey() ([]byte, error)    { return f.pub, nil }
func (f *fakeStore) CurrentCertificate() ([]byte, error) { return f.current, nil }
func (f *fakeStore) WriteCertificate(chain []byte) error {
	*f.events = append(*f.events, "write")
	f.written = chain
	return nil
}

// chainServer answers every POST with "chain-for-" and the body, on
// 127.0.0.1, or with status when it is not 200.
func chainServer(t *testing.T, status int, events *[]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*events = append(*events, "request")
		pub, err := postedPublicKey(r)
		if err != nil {
			t.Errorf("reading the posted public key: %v", err)
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		writeCertificateAnswer(w, []byte("chain-for-"), pub)
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server %s is not on 127.0.0.1", srv.URL)
	}
	return srv
}

// postedPublicKey decodes the pubkey form field of a certificate request.
func postedPublicKey(r *http.Request) ([]byte, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return base64.URLEncoding.DecodeString(r.PostForm.Get("pubkey"))
}

// writeCertificateAnswer answers like the certificate service, with cv and
// dv as the base64url cvcert and dvcert fields.
func writeCertificateAnswer(w http.ResponseWriter, cv, dv []byte) {
	json.NewEncoder(w).Encode(map[string]string{
		"cvcert": base64.URLEncoding.EncodeToString(cv),
		"dvcert": base64.URLEncoding.EncodeToString(dv),
	})
}

func TestHTTPCertificateServiceWireFormat(t *testing.T) {
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", got)
		}
		r.ParseForm()
		form = r.PostForm
		json.NewEncoder(w).Encode(map[string]string{
			"cvcert": base64.RawURLEncoding.EncodeToString([]byte{1, 2}),
			"dvcert": base64.URLEncoding.EncodeToString([]byte{3}),
			"cacert": base64.URLEncoding.EncodeToString([]byte{4, 5}),
		})
	}))
	defer srv.Close()

	svc := &HTTPCertificateService{URL: srv.URL, Curve: "secp256k1"}
	chain, err := svc.RequestChain(context.Background(), []byte{0x04, 0xFF, 0xFE})
	if err != nil {
		t.Fatalf("RequestChain: %v", err)
	}
	if !bytes.Equal(chain, []byte{1, 2, 3, 4, 5}) {
		t.Errorf("chain = %X, want 0102030405", chain)
	}
	if got := form.Get("pubkey"); got != base64.URLEncoding.EncodeToString([]byte{0x04, 0xFF, 0xFE}) {
		t.Errorf("pubkey = %q", got)
	}
	if got := form.Get("curve"); got != "secp256k1" {
		t.Errorf("curve = %q", got)
	}
}

func TestHTTPCertificateServiceRejectsBadAnswer(t *testing.T) {
	for name, answer := range map[string]string{
		"not JSON":       "raw bytes",
		"missing dvcert": `{"cvcert":"AQI"}`,
		"bad base64":     `{"cvcert":"%%%","dvcert":"AQI"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, answer) }))
			defer srv.Close()
			if _, err := (&HTTPCertificateService{URL: srv.URL}).RequestChain(context.Background(), []byte{4}); err == nil {
				t.Error("RequestChain accepted the answer")
			}
		})
	}
}

func TestReplaceDeviceCertificate(t *testing.T) {
	checkOK := func(chain, pub []byte) error {
		if !bytes.HasSuffix(chain, pub) {
			return errors.New("chain does not certify the device key")
		}
		return nil
	}
	checkFails := func(chain, pub []byte) error { return errors.New("chain does not certify the device key") }

	tests := []struct {
		name       string
		answer     string
		status     int
		check      func(chain, pub []byte) error
		wantErr    error
		wantEvents []string
	}{
		{"written after check", "yes", http.StatusOK, checkOK, nil, []string{"backup", "request", "write"}},
		{"declined sends nothing", "", http.StatusOK, checkOK, ErrNotConfirmed, nil},
		{"rejected chain not written", "yes", http.StatusOK, checkFails, ErrChainRejected, []string{"backup", "request"}},
		{"service error", "yes", http.StatusInternalServerError, checkOK, nil, []string{"backup", "request"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var events []string
			srv := chainServer(t, tc.status, &events)
			store := &fakeStore{pub: []byte("device-key"), current: []byte("old-cert"), events: &events}
			script := &Script{Steps: []Step{{Name: QDeviceCertConfirm + "-send", Answer: tc.answer}}}
			var backedUp []byte
			backup := func(cur []byte) error {
				events = append(events, "backup")
				backedUp = cur
				return nil
			}
			err := ReplaceDeviceCertificate(context.Background(), script, &HTTPCertificateService{URL: srv.URL}, store, backup, tc.check)

			switch {
			case tc.status != http.StatusOK:
				if err == nil || !strings.Contains(err.Error(), "500") {
					t.Errorf("error = %v, want the status", err)
				}
			case tc.wantErr == nil && err != nil:
				t.Errorf("error = %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if strings.Join(events, ",") != strings.Join(tc.wantEvents, ",") {
				t.Errorf("events = %q, want %q", events, tc.wantEvents)
			}
			if len(tc.wantEvents) > 0 && string(backedUp) != "old-cert" {
				t.Error("the current certificate was not backed up")
			}
			if tc.name == "written after check" && string(store.written) != "chain-for-device-key" {
				t.Errorf("written = %q", store.written)
			}
			if !strings.Contains(script.Asked[0].Message, srv.URL) {
				t.Errorf("endpoint not shown before sending: %q", script.Asked[0].Message)
			}
		})
	}
}
