#!/usr/bin/env bash
# Installs the Debian packages that sc-hsm-init's tests and demo need:
# pcscd, the PC/SC client headers for cgo, the vpcd virtual reader driver
# and OpenSC with its PKCS#11 module. Installs only what is missing, so a
# second run changes nothing and needs no network.
set -euo pipefail

packages=(pcscd libpcsclite-dev vsmartcard-vpcd opensc opensc-pkcs11 softhsm2)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	cat >&2 <<MSG
install-deps: this is not a Debian-based system (no dpkg-query/apt-get).
Install these with your package manager, then run the command again:
  - pcscd 1.9 or later (PC/SC daemon)
  - the pcsc-lite development files (for cgo and github.com/ebfe/scard)
  - vsmartcard's vpcd reader driver (libifdvpcd.so)
  - OpenSC with opensc-tool, sc-hsm-tool, pkcs11-tool and opensc-pkcs11.so
MSG
	exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all packages present (${packages[*]})"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
if ((EUID == 0)); then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: root or sudo is needed to run: apt-get install ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
