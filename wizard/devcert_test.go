package wizard

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
		body, _ := io.ReadAll(r.Body)
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		w.Write(append([]byte("chain-for-"), body...))
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server %s is not on 127.0.0.1", srv.URL)
	}
	return srv
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
