package wizard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// HTTPCertificateService requests a chain from the PicoKeys certificate
// service the way pypicohsm does: a form POST with pubkey set to the
// base64url encoding of the device's public point (and curve when Curve is
// set), answered by a JSON object whose base64url fields cvcert, dvcert and
// cacert hold the device, DV and CA certificates.
//
// NOTE: the form and JSON field names come from pypicohsm's certificate
// upload code; the service itself was never reached from here, and cacert
// is optional because older answers carried only cvcert and dvcert.
type HTTPCertificateService struct {
	URL    string
	Curve  string       // "secp256k1" for RP2350, ESP32 and emulated devices; "" sends no curve
	Client *http.Client // nil uses http.DefaultClient
}

// Endpoint returns URL.
func (h *HTTPCertificateService) Endpoint() string { return h.URL }

// certificateAnswer is the JSON answer of the certificate service.
type certificateAnswer struct {
	CVCert string `json:"cvcert"`
	DVCert string `json:"dvcert"`
	CACert string `json:"cacert"`
}

// RequestChain posts devicePublicKey and returns the concatenated
// certificates of the answer: device, DV and, when present, CA.
func (h *HTTPCertificateService) RequestChain(ctx context.Context, devicePublicKey []byte) ([]byte, error) {
	form := url.Values{"pubkey": {base64.URLEncoding.EncodeToString(devicePublicKey)}}
	if h.Curve != "" {
		form.Set("curve", h.Curve)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("building the certificate request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

	var answer certificateAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("the certificate response from %s is not the expected JSON object: %w", h.URL, err)
	}
	if answer.CVCert == "" || answer.DVCert == "" {
		return nil, fmt.Errorf("the certificate response from %s lacks cvcert or dvcert", h.URL)
	}
	var chain []byte
	for _, field := range []struct{ name, value string }{{"cvcert", answer.CVCert}, {"dvcert", answer.DVCert}, {"cacert", answer.CACert}} {
		if field.value == "" {
			continue
		}
		cert, err := decodeBase64URL(field.value)
		if err != nil {
			return nil, fmt.Errorf("the %s field from %s is not base64url: %w", field.name, h.URL, err)
		}
		chain = append(chain, cert...)
	}
	return chain, nil
}

// decodeBase64URL accepts base64url with or without padding.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
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
