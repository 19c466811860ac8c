#!/usr/bin/env bash
# End-to-end demo on the virtual SmartCard-HSM: starts a private pcscd with
# the vpcd reader, runs the virtual card, creates a DKEK share file,
# initializes the token with it, verifies it through OpenSC's PKCS#11
# module, and lets OpenSC's sc-hsm-tool read the result back.
#
# The pcscd started here runs in its own mount namespace (see stack.sh), so
# a system pcscd serving real tokens is not disturbed. Everything lives in
# SC_HSM_DEMO_DIR (default .demo in the repository), which is recreated on
# each run; the demo's random PINs and password are kept there in files
# with mode 0600 and are never printed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
bin="$root/bin/sc-hsm-init"
dir=${SC_HSM_DEMO_DIR:-$root/.demo}

[[ -x "$bin" ]] || { echo "demo.sh: $bin is missing; run make build first" >&2; exit 1; }

# A previous run may have left its stack running; stop it by PID before
# the folder goes away.
if [[ -d "$dir" ]]; then
	scripts/stack.sh stop "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
fi
mkdir -p "$dir"

step() { printf '\n== %s\n' "$*"; }

step "Starting a private pcscd and the virtual SmartCard-HSM"
scripts/stack.sh start "$dir"
trap 'scripts/stack.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
scripts/stack.sh card-start "$dir" -- "$bin" simulate --state "$dir/card.json" --port '{PORT}'
eval "$(scripts/stack.sh env "$dir")"

# Random demo secrets, kept in files only the owner can read.
umask 077
secret_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F'; }
secret_hex 8 >"$dir/so-pin"
printf '%06d\n' "$((0x$(secret_hex 3) % 1000000))" >"$dir/pin"
secret_hex 12 >"$dir/share-password"
echo "Demo secrets are in $dir/so-pin, $dir/pin and $dir/share-password (mode 0600)."

step "Creating a DKEK share file"
"$bin" dkek create "$dir/share-1.pbe" --password "file:$dir/share-password"

step "Initializing the token with that share and verifying it through PKCS#11"
"$bin" init \
	--so-pin "file:$dir/so-pin" \
	--pin "file:$dir/pin" \
	--dkek-shares 1 \
	--label "sc-hsm-init demo" \
	--dkek-share "$dir/share-1.pbe" \
	--password "file:$dir/share-password"

step "Token status as sc-hsm-init reads it"
"$bin" status

step "Token status as OpenSC's sc-hsm-tool reads it"
sc-hsm-tool

step "Done"
echo "The demo stack stops now. To rehearse on your own, keep one running with:"
echo "  scripts/stack.sh start DIR && scripts/stack.sh card-start DIR -- $bin simulate --state DIR/card.json --port {PORT}"
echo '  eval "$(scripts/stack.sh env DIR)"'
