package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// CertificateService obtains a new device certificate chain for a Pico HSM
// from an online service.
type CertificateService interface {
	// Endpoint is the address the request goes to, shown before anything
	// is sent.
	Endpoint() string
	// RequestChain sends the device's public key and returns the
	// certificate chain of the response.
	RequestChain(ctx context.Context, devicePublicKey []byte) ([]byte, error)
}

// CertificateStore is the device side of a certificate replacement.
type CertificateStore interface {
	DevicePublicKey() ([]byte, error)
	CurrentCertificate() ([]byte, error)
	WriteCertificate(chain []byte) error
}

// maxChainSize bounds the response of a CertificateService.
const maxChainSize = 64 << 10

// HTTPCertificateService posts the device public key to URL and reads the
// chain from a 200 response body.
type HTTPCertificateService struct {
	URL    string
	Client *http.Client // nil uses http.DefaultClient
}

// Endpoint returns URL.
func (h *HTTPCertificateService) Endpoint() string { return h.URL }

// RequestChain posts devicePublicKey as application/octet-stream.
func (h *HTTPCertificateService) RequestChain(ctx context.Context, devicePublicKey []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(devicePublicKey))
	if err != nil {
		return nil, fmt.Errorf("building the certificate request: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("requesting a device certificate from %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxChainSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate response from %s: %w", h.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the certificate service %s answered %s", h.URL, resp.Status)
	}
	if len(body) > maxChainSize {
		return nil, fmt.Errorf("the certificate response from %s exceeds %d bytes", h.URL, maxChainSize)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("the certificate response from %s is empty", h.URL)
	}
	return body, nil
}

// ErrChainRejected wraps the reason why a returned chain was not written.
var ErrChainRejected = errors.New("the returned certificate chain was rejected")

// ReplaceDeviceCertificate shows the endpoint and asks before sending,
// backs up the current certificate with backup, requests a new chain for
// the device's public key, checks it with checkChain against that key,
// and only then writes it. Nothing is sent and nothing is written when the
// person declines, and nothing is written when backup or checkChain fails.
func ReplaceDeviceCertificate(ctx context.Context, p Prompter, svc CertificateService, store CertificateStore,
	backup func(current []byte) error, checkChain func(chain, devicePublicKey []byte) error) error {
	yes, err := p.Confirm(Question{
		Name:    QDeviceCertConfirm + "-send",
		Message: fmt.Sprintf("Send the device's public key to %s?", svc.Endpoint()),
		Help:    "Only the public key leaves the token. No: keep the current certificate.",
	})
	if err != nil {
		return err
	}
	if !yes {
		return ErrNotConfirmed
	}

	current, err := store.CurrentCertificate()
	if err != nil {
		return fmt.Errorf("reading the current device certificate: %w", err)
	}
	if err := backup(current); err != nil {
		return fmt.Errorf("backing up the current device certificate: %w", err)
	}
	pub, err := store.DevicePublicKey()
	if err != nil {
		return fmt.Errorf("reading the device public key: %w", err)
	}
	chain, err := svc.RequestChain(ctx, pub)
	if err != nil {
		return err
	}
	if err := checkChain(chain, pub); err != nil {
		return fmt.Errorf("%w: %w; the current certificate is unchanged", ErrChainRejected, err)
	}
	if err := store.WriteCertificate(chain); err != nil {
		return fmt.Errorf("writing the new device certificate: %w", err)
	}
	return nil
}
