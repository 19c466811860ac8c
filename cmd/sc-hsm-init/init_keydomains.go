package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// domainShareFile is a --dkek-share value with its key domain.
type domainShareFile struct {
	domain int
	path   string
}

// parseDomainShareFile splits "D:FILE" into key domain D and FILE. A value
// without a decimal number before the first colon is a file of domain 0.
func parseDomainShareFile(value string) domainShareFile {
	prefix, path, found := strings.Cut(value, ":")
	if !found || path == "" {
		return domainShareFile{path: value}
	}
	n, err := strconv.Atoi(prefix)
	if err != nil || n < 0 || n > schsm.MaxKeyDomainNumber || strconv.Itoa(n) != prefix {
		return domainShareFile{path: value}
	}
	return domainShareFile{domain: n, path: path}
}

// takeKeyDomainShares prepares the key domains that init creates. With
// --key-domains it takes the share files out of f, so that the plain share
// import of init leaves them alone, and returns them with their domains.
// It returns nil when init creates no key domains.
func takeKeyDomainShares(cmd *cobra.Command, f *initFlags) ([]int, []domainShareFile, error) {
	fl := cmd.Flags()
	if f.keyDomains == 0 {
		if len(f.keyDomainShares) > 0 {
			return nil, nil, withExit(exitUsage, errors.New("--key-domain-shares needs --key-domains"))
		}
		for _, v := range f.shareFiles {
			if d := parseDomainShareFile(v); d.domain > 0 {
				return nil, nil, withExit(exitUsage, fmt.Errorf("--dkek-share %s names key domain %d, but no --key-domains are configured", v, d.domain))
			}
		}
		return nil, nil, nil
	}

	counts := f.keyDomainShares
	switch {
	case len(counts) == 0 && fl.Changed("dkek-shares") && f.dkekShares > 0:
		counts = []int{f.dkekShares} // domain 0 takes the DKEK share count
	case len(counts) > 0 && fl.Changed("dkek-shares") && f.dkekShares != counts[0]:
		return nil, nil, withExit(exitUsage, fmt.Errorf("--dkek-shares %d differs from key domain 0's --key-domain-shares %d; give only --key-domain-shares", f.dkekShares, counts[0]))
	}
	if len(counts) > f.keyDomains {
		return nil, nil, withExit(exitUsage, fmt.Errorf("%d --key-domain-shares values for %d --key-domains; give at most one per domain", len(counts), f.keyDomains))
	}
	for i, n := range counts {
		if n < 1 || n > schsm.MaxDKEKShares {
			return nil, nil, withExit(exitUsage, fmt.Errorf("--key-domain-shares: key domain %d: %d shares is out of range; use 1 to %d", i, n, schsm.MaxDKEKShares))
		}
	}

	files := make([]domainShareFile, 0, len(f.shareFiles))
	perDomain := make(map[int]int)
	for _, v := range f.shareFiles {
		d := parseDomainShareFile(v)
		if d.domain >= len(counts) {
			return nil, nil, withExit(exitUsage, fmt.Errorf("--dkek-share %s: key domain %d is not created by this run; give its share count with --key-domain-shares", v, d.domain))
		}
		perDomain[d.domain]++
		if perDomain[d.domain] > counts[d.domain] {
			return nil, nil, withExit(exitUsage, fmt.Errorf("more --dkek-share files for key domain %d than its %d shares", d.domain, counts[d.domain]))
		}
		files = append(files, d)
	}
	f.shareFiles = nil
	return counts, files, nil
}

// keyDomainSetups decrypts the share files of the key domains, in
// parallel, and builds the provision request's key domains.
func (a *app) keyDomainSetups(cmd *cobra.Command, f *initFlags, counts []int, files []domainShareFile) ([]provision.KeyDomainSetup, error) {
	if len(counts) == 0 {
		return nil, nil
	}
	paths := make([]string, len(files))
	for i, d := range files {
		paths[i] = d.path
	}
	read, err := readShareFiles(paths)
	if err != nil {
		return nil, err
	}
	var shares [][32]byte
	if len(read) > 0 {
		pw := passwordFlags{password: f.password}
		if shares, err = a.decryptShareFiles(cmd, read, &pw); err != nil {
			return nil, err
		}
		if err := checkDistinct(read, shares); err != nil {
			return nil, err
		}
	}

	setups := make([]provision.KeyDomainSetup, len(counts))
	for i, n := range counts {
		setups[i].Shares = n
	}
	for i, d := range files {
		setups[d.domain].Import = append(setups[d.domain].Import, shares[i])
	}
	return setups, nil
}
