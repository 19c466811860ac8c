package pkcs11bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestTokenURI(t *testing.T) {
	tests := []struct {
		name  string
		token TokenInfo
		want  string
	}{
		{
			name: "OpenSC SmartCard-HSM defaults",
			token: TokenInfo{
				Label:        "SmartCard-HSM (UserPIN)",
				Manufacturer: "www.CardContact.de",
				Serial:       "DENK0105461",
				Model:        "PKCS#15 emulated",
			},
			want: "pkcs11:token=SmartCard-HSM%20(UserPIN);manufacturer=www.CardContact.de;serial=DENK0105461;model=PKCS%2315%20emulated",
		},
		{
			name:  "reserved characters",
			token: TokenInfo{Label: "a/b;c?d&e%f", Manufacturer: "x=y:z", Serial: "", Model: "é"},
			want:  "pkcs11:token=a%2Fb%3Bc%3Fd%26e%25f;manufacturer=x=y:z;serial=;model=%C3%A9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenURI(tt.token); got != tt.want {
				t.Errorf("TokenURI() = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzEscapeURIValue(f *testing.F) {
	for _, seed := range []string{"", "SmartCard-HSM (UserPIN)", "PKCS#15 emulated", "a/b;c?d&e%f", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		escaped := escapeURIValue(value)
		if strings.ContainsAny(escaped, "/;?#& ") {
			t.Fatalf("escapeURIValue(%q) = %q keeps a reserved character", value, escaped)
		}
		decoded, err := url.PathUnescape(escaped)
		if err != nil {
			t.Fatalf("url.PathUnescape(%q): %v", escaped, err)
		}
		if decoded != value {
			t.Fatalf("round trip of %q gave %q", value, decoded)
		}
	})
}

func TestReportPassed(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		want   bool
	}{
		{"no checks", nil, false},
		{"all passed", []Check{{Name: CheckModule, Passed: true}, {Name: CheckLogin, Passed: true}}, true},
		{"one failed", []Check{{Name: CheckModule, Passed: true}, {Name: CheckLogin, Passed: false}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Report{Checks: tt.checks}).Passed(); got != tt.want {
				t.Errorf("Passed() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestReportCheckLookup(t *testing.T) {
	r := Report{Checks: []Check{{Name: CheckSlot, Passed: false, Reason: "no slot"}}}
	c, ok := r.Check(CheckSlot)
	if !ok {
		t.Fatal("Check(slot) not found")
	}
	if c.Reason != "no slot" {
		t.Errorf("Check(slot).Reason = %q, want %q", c.Reason, "no slot")
	}
	if _, ok := r.Check(CheckLogin); ok {
		t.Error("Check(login) found, want not found")
	}
}

func TestRequestFormattingHidesPIN(t *testing.T) {
	req := Request{ModulePath: "/m.so", Reader: "Virtual PCD 00 00", Serial: "ESPICOHSMTR", PIN: []byte("648219"), UserPINTriesLeft: 3}

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("verify", "request", req)

	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", req),
		"%+v":  fmt.Sprintf("%+v", req),
		"%#v":  fmt.Sprintf("%#v", req),
		"%s":   fmt.Sprintf("%s", req),
		"slog": logged.String(),
	}
	for format, out := range outputs {
		if strings.Contains(out, "648219") {
			t.Errorf("%s output contains the PIN: %s", format, out)
		}
		if !strings.Contains(out, "ESPICOHSMTR") {
			t.Errorf("%s output lacks the serial: %s", format, out)
		}
	}
}

func TestReportJSONHasNoPINField(t *testing.T) {
	data, err := json.Marshal(Report{Token: &TokenInfo{Label: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(data)), `"pin"`) {
		t.Errorf("report JSON has a pin field: %s", data)
	}
}
