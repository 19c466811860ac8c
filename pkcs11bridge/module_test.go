package pkcs11bridge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile creates root+path with the given content and its parent folders.
func writeFile(t *testing.T, root, path, content string) {
	t.Helper()
	full := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testSearch(root, goos, goarch string, env map[string]string) moduleSearch {
	return moduleSearch{root: root, goos: goos, goarch: goarch, getenv: func(name string) string { return env[name] }}
}

func TestFindModuleOrder(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		goos     string
		goarch   string
		explicit string
		env      map[string]string
		want     string
	}{
		{
			name:  "explicit path first",
			files: map[string]string{"/opt/m/custom.so": "", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "amd64",
			explicit: "/opt/m/custom.so",
			env:      map[string]string{ModuleEnv: "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"},
			want:     "/opt/m/custom.so",
		},
		{
			name:  "environment before p11-kit",
			files: map[string]string{"/opt/env.so": "", "/usr/share/p11-kit/modules/opensc-pkcs11.module": "module: /opt/kit.so\n", "/opt/kit.so": ""},
			goos:  "linux", goarch: "amd64",
			env:  map[string]string{ModuleEnv: "/opt/env.so"},
			want: "/opt/env.so",
		},
		{
			name: "p11-kit relative module on Debian",
			files: map[string]string{
				"/usr/share/p11-kit/modules/opensc-pkcs11.module":   "# This file describes how to load the opensc module\nmodule: opensc-pkcs11.so\n",
				"/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so": "",
			},
			goos: "linux", goarch: "amd64",
			want: "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
		},
		{
			name: "p11-kit in /etc wins over /usr/share",
			files: map[string]string{
				"/etc/pkcs11/modules/opensc.module":               "module: /opt/etc/opensc-pkcs11.so\n",
				"/usr/share/p11-kit/modules/opensc-pkcs11.module": "module: /opt/share/opensc-pkcs11.so\n",
				"/opt/etc/opensc-pkcs11.so":                       "",
				"/opt/share/opensc-pkcs11.so":                     "",
			},
			goos: "linux", goarch: "amd64",
			want: "/opt/etc/opensc-pkcs11.so",
		},
		{
			name: "p11-kit file for another module is ignored",
			files: map[string]string{
				"/usr/share/p11-kit/modules/p11-kit-trust.module":   "module: p11-kit-trust.so\n",
				"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so": "",
				"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so":        "",
			},
			goos: "linux", goarch: "amd64",
			want: "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
		},
		{
			name:  "Debian arm64",
			files: map[string]string{"/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so": "", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "arm64",
			want: "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
		},
		{
			name:  "Debian armhf pkcs11 folder",
			files: map[string]string{"/usr/lib/arm-linux-gnueabihf/pkcs11/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "arm",
			want: "/usr/lib/arm-linux-gnueabihf/pkcs11/opensc-pkcs11.so",
		},
		{
			name:  "Debian i386",
			files: map[string]string{"/usr/lib/i386-linux-gnu/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "386",
			want: "/usr/lib/i386-linux-gnu/opensc-pkcs11.so",
		},
		{
			name:  "Fedora lib64",
			files: map[string]string{"/usr/lib64/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "amd64",
			want: "/usr/lib64/opensc-pkcs11.so",
		},
		{
			name:  "Fedora lib64 pkcs11 folder",
			files: map[string]string{"/usr/lib64/pkcs11/opensc-pkcs11.so": ""},
			goos:  "linux", goarch: "amd64",
			want: "/usr/lib64/pkcs11/opensc-pkcs11.so",
		},
		{
			name:  "macOS OpenSC installer",
			files: map[string]string{"/Library/OpenSC/lib/opensc-pkcs11.so": "", "/opt/homebrew/lib/opensc-pkcs11.so": ""},
			goos:  "darwin", goarch: "arm64",
			want: "/Library/OpenSC/lib/opensc-pkcs11.so",
		},
		{
			name:  "macOS Homebrew",
			files: map[string]string{"/opt/homebrew/lib/opensc-pkcs11.so": ""},
			goos:  "darwin", goarch: "arm64",
			want: "/opt/homebrew/lib/opensc-pkcs11.so",
		},
		{
			name:  "macOS /usr/local",
			files: map[string]string{"/usr/local/lib/opensc-pkcs11.so": ""},
			goos:  "darwin", goarch: "amd64",
			want: "/usr/local/lib/opensc-pkcs11.so",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for path, content := range tt.files {
				writeFile(t, root, path, content)
			}
			explicit := tt.explicit
			got, err := testSearch(root, tt.goos, tt.goarch, tt.env).find(explicit)
			if err != nil {
				t.Fatalf("find() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("find() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindModuleExplicitMissing(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "")
	_, err := testSearch(root, "linux", "amd64", nil).find("/nowhere/opensc-pkcs11.so")
	if err == nil {
		t.Fatal("find() with a missing explicit module succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "--module") || !strings.Contains(err.Error(), "/nowhere/opensc-pkcs11.so") {
		t.Errorf("error = %q, want it to name --module and the path", err)
	}
}

func TestFindModuleEnvMissing(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "")
	_, err := testSearch(root, "linux", "amd64", map[string]string{ModuleEnv: "/nowhere.so"}).find("")
	if err == nil {
		t.Fatal("find() with a missing module in the environment succeeded, want an error")
	}
	if !strings.Contains(err.Error(), ModuleEnv) {
		t.Errorf("error = %q, want it to name %s", err, ModuleEnv)
	}
}

func TestFindModuleRejectsFolder(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "/usr/lib64/opensc-pkcs11.so"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := testSearch(root, "linux", "amd64", nil).find(""); !errors.Is(err, ErrModuleNotFound) {
		t.Errorf("find() error = %v, want ErrModuleNotFound", err)
	}
}

func TestFindModuleNotFoundListsEveryPath(t *testing.T) {
	tests := []struct {
		goos, goarch string
		wantPaths    []string
		wantHint     string
	}{
		{
			goos: "linux", goarch: "amd64",
			wantPaths: []string{
				"/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so (from p11-kit)",
				"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
				"/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
				"/usr/lib64/opensc-pkcs11.so",
				"/usr/lib64/pkcs11/opensc-pkcs11.so",
			},
			wantHint: "apt install opensc-pkcs11; Fedora: dnf install opensc) or pass --module",
		},
		{
			goos: "darwin", goarch: "arm64",
			wantPaths: []string{
				"/Library/OpenSC/lib/opensc-pkcs11.so",
				"/usr/local/lib/opensc-pkcs11.so",
				"/opt/homebrew/lib/opensc-pkcs11.so",
			},
			wantHint: "brew install opensc) or pass --module",
		},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			root := t.TempDir()
			if tt.goos == "linux" {
				writeFile(t, root, "/usr/share/p11-kit/modules/opensc-pkcs11.module", "module: opensc-pkcs11.so\n")
			}
			_, err := testSearch(root, tt.goos, tt.goarch, nil).find("")
			if !errors.Is(err, ErrModuleNotFound) {
				t.Fatalf("find() error = %v, want ErrModuleNotFound", err)
			}
			for _, path := range tt.wantPaths {
				if !strings.Contains(err.Error(), "\n  "+path+"\n") {
					t.Errorf("error lacks tried path %q:\n%v", path, err)
				}
			}
			if !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("error lacks install hint %q:\n%v", tt.wantHint, err)
			}
		})
	}
}

func TestFindModuleOnThisMachine(t *testing.T) {
	const debianModule = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
	if _, err := os.Stat(debianModule); err != nil {
		t.Skipf("OpenSC module not installed at %s", debianModule)
	}
	t.Setenv(ModuleEnv, "")
	got, err := FindModule("")
	if err != nil {
		t.Fatalf("FindModule() error: %v", err)
	}
	if filepath.Base(got) != "opensc-pkcs11.so" {
		t.Errorf("FindModule() = %q, want an opensc-pkcs11.so", got)
	}
}

func TestParseP11KitModule(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		want   string
		wantOK bool
	}{
		{"Debian file", "# This file describes how to load the opensc module\n# See: http://p11-glue.freedesktop.org/doc/p11-kit/config.html\nmodule: opensc-pkcs11.so\n", "opensc-pkcs11.so", true},
		{"absolute path and other keys", "critical: no\nmodule:   /usr/lib64/pkcs11/opensc-pkcs11.so  \ntrust-policy: no\n", "/usr/lib64/pkcs11/opensc-pkcs11.so", true},
		{"commented module line", "# module: opensc-pkcs11.so\n", "", false},
		{"empty value", "module:\n", "", false},
		{"no module key", "remote: |ssh host p11-kit remote\n", "", false},
		{"CRLF line ends", "module: opensc-pkcs11.so\r\n", "opensc-pkcs11.so", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseP11KitModule(strings.NewReader(tt.input))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseP11KitModule() = %q, %t, want %q, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseP11KitModule(f *testing.F) {
	f.Add("module: opensc-pkcs11.so\n")
	f.Add("# comment\nmodule:/x.so")
	f.Add(":::\n\n\x00module")
	f.Fuzz(func(t *testing.T, input string) {
		value, ok := parseP11KitModule(strings.NewReader(input))
		if ok && (value == "" || value != strings.TrimSpace(value)) {
			t.Fatalf("parseP11KitModule(%q) = %q, true: value must be non-empty and trimmed", input, value)
		}
		if !ok && value != "" {
			t.Fatalf("parseP11KitModule(%q) = %q, false: value must be empty when not found", input, value)
		}
	})
}
