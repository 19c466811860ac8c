package pkcs11bridge

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// ModuleEnv is the environment variable that names the PKCS#11 module when no
// explicit path is given.
const ModuleEnv = "SC_HSM_INIT_PKCS11_MODULE"

// ErrModuleNotFound is wrapped by FindModule when no module file exists.
var ErrModuleNotFound = errors.New("OpenSC PKCS#11 module not found")

// openSCModuleName is the file name of OpenSC's PKCS#11 module on Linux and
// macOS.
const openSCModuleName = "opensc-pkcs11.so"

// multiarchTriplets maps GOARCH to the Debian/Ubuntu multiarch directory. A
// process can only load a module built for its own architecture, so only the
// triplet of the running binary is searched.
var multiarchTriplets = map[string]string{
	"amd64": "x86_64-linux-gnu",
	"arm64": "aarch64-linux-gnu",
	"arm":   "arm-linux-gnueabihf",
	"386":   "i386-linux-gnu",
}

// moduleSearch holds everything FindModule depends on, so tests can point it
// at a temporary directory tree.
type moduleSearch struct {
	root   string // prefix for every absolute path; "/" in production
	goos   string
	goarch string
	getenv func(string) string
}

// FindModule returns the path of OpenSC's PKCS#11 module. It tries, in order:
// explicit (from the --module flag), the SC_HSM_INIT_PKCS11_MODULE environment
// variable, the modules configured for p11-kit in /etc/pkcs11/modules and
// /usr/share/p11-kit/modules, and the usual install paths of Debian/Ubuntu,
// Fedora and macOS. An explicit path or environment value that names a
// missing file is an error, not a reason to keep searching.
func FindModule(explicit string) (string, error) {
	s := moduleSearch{root: "/", goos: runtime.GOOS, goarch: runtime.GOARCH, getenv: os.Getenv}
	return s.find(explicit)
}

func (s moduleSearch) find(explicit string) (string, error) {
	if explicit != "" {
		if err := s.checkFile(explicit); err != nil {
			return "", fmt.Errorf("PKCS#11 module given with --module: %w", err)
		}
		return explicit, nil
	}

	if fromEnv := s.getenv(ModuleEnv); fromEnv != "" {
		if err := s.checkFile(fromEnv); err != nil {
			return "", fmt.Errorf("PKCS#11 module given in %s: %w", ModuleEnv, err)
		}
		return fromEnv, nil
	}

	var tried []string
	for _, candidate := range s.p11KitCandidates() {
		tried = append(tried, candidate+" (from p11-kit)")
		if s.checkFile(candidate) == nil {
			return candidate, nil
		}
	}
	for _, candidate := range s.wellKnownPaths() {
		tried = append(tried, candidate)
		if s.checkFile(candidate) == nil {
			return candidate, nil
		}
	}

	return "", fmt.Errorf("%w; tried:\n  %s\n%s", ErrModuleNotFound, strings.Join(tried, "\n  "), s.installHint())
}

func (s moduleSearch) installHint() string {
	if s.goos == "darwin" {
		return "Install OpenSC (brew install opensc) or pass --module PATH."
	}
	return "Install OpenSC's PKCS#11 module (Debian/Ubuntu: apt install opensc-pkcs11; Fedora: dnf install opensc) or pass --module PATH."
}

// checkFile reports an error unless path names an existing regular file
// (after following symbolic links).
func (s moduleSearch) checkFile(path string) error {
	info, err := os.Stat(s.hostPath(path))
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// hostPath maps an absolute path to the search root. Relative paths are left
// as they are.
func (s moduleSearch) hostPath(path string) string {
	if s.root == "" || s.root == "/" || !filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.root, path)
}

// p11KitDirs are the p11-kit module configuration folders. The system
// administrator's folder comes first because p11-kit lets it override the
// package defaults.
func (s moduleSearch) p11KitDirs() []string {
	return []string{"/etc/pkcs11/modules", "/usr/share/p11-kit/modules"}
}

// p11KitModuleDirs are the folders p11-kit resolves a relative "module:" value
// against (its compiled-in module path).
func (s moduleSearch) p11KitModuleDirs() []string {
	var dirs []string
	if triplet, ok := multiarchTriplets[s.goarch]; ok && s.goos == "linux" {
		dirs = append(dirs, "/usr/lib/"+triplet+"/pkcs11")
	}
	return append(dirs, "/usr/lib64/pkcs11", "/usr/lib/pkcs11", "/usr/local/lib/pkcs11")
}

// p11KitCandidates returns the module paths named by p11-kit .module files
// whose "module:" line names opensc-pkcs11.
func (s moduleSearch) p11KitCandidates() []string {
	var candidates []string
	for _, dir := range s.p11KitDirs() {
		files, err := filepath.Glob(filepath.Join(s.hostPath(dir), "*.module"))
		if err != nil {
			continue
		}
		sort.Strings(files)
		for _, file := range files {
			module, ok := readP11KitModuleLine(file)
			if !ok || !strings.Contains(filepath.Base(module), "opensc-pkcs11") {
				continue
			}
			if filepath.IsAbs(module) {
				candidates = append(candidates, module)
				continue
			}
			for _, moduleDir := range s.p11KitModuleDirs() {
				candidates = append(candidates, filepath.Join(moduleDir, module))
			}
		}
	}
	return candidates
}

// readP11KitModuleLine returns the value of the "module:" key of a p11-kit
// module configuration file.
func readP11KitModuleLine(file string) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer f.Close()
	return parseP11KitModule(f)
}

// parseP11KitModule returns the value of the first "module:" key in p11-kit's
// "key: value" configuration format, where lines starting with # are
// comments.
func parseP11KitModule(r io.Reader) (string, bool) {
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "module" {
			value = strings.TrimSpace(value)
			return value, value != ""
		}
	}
	return "", false
}

func (s moduleSearch) wellKnownPaths() []string {
	switch s.goos {
	case "darwin":
		return []string{
			"/Library/OpenSC/lib/" + openSCModuleName,
			"/usr/local/lib/" + openSCModuleName,
			"/opt/homebrew/lib/" + openSCModuleName,
		}
	default:
		var paths []string
		if triplet, ok := multiarchTriplets[s.goarch]; ok {
			paths = append(paths,
				"/usr/lib/"+triplet+"/"+openSCModuleName,
				"/usr/lib/"+triplet+"/pkcs11/"+openSCModuleName)
		}
		return append(paths,
			"/usr/lib64/"+openSCModuleName,
			"/usr/lib64/pkcs11/"+openSCModuleName,
			"/usr/lib/"+openSCModuleName,
			"/usr/lib/pkcs11/"+openSCModuleName,
			"/usr/local/lib/"+openSCModuleName)
	}
}
