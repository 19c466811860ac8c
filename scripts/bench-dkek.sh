#!/usr/bin/env bash
# Times the DKEK share key derivation. It runs the Go benchmarks of
# sc-hsm/dkek, then times OpenSC's sc-hsm-tool importing share files into
# the virtual SmartCard-HSM on an isolated pcscd (scripts/stack.sh).
#
#   scripts/bench-dkek.sh [WORKDIR]
#
# Prints a summary table with the ratios against the targets:
#   derivation <= 1.05 x a plain md5.Sum loop over the same 30,000,000 blocks
#   derivation >= 3 x faster than sc-hsm-tool importing one share file
#   three files (sc-hsm-init dkek import, in parallel) <= 0.25 x sc-hsm-tool
#   importing three files one after another
# The library figure for three files (DecryptFiles) is printed as well.
# The share password is a throwaway value for the benchmark only; it is
# passed to sc-hsm-tool with --password because sc-hsm-tool has no other
# non-interactive input.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
work=${1:-$(mktemp -d /tmp/bench-dkek.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
stack="$work/stack"
password="bench-dkek-throwaway"

if [[ -x /usr/local/go/bin/go ]]; then
	export PATH=/usr/local/go/bin:$PATH
fi

cleanup() {
	"$root/scripts/stack.sh" stop "$stack" >/dev/null 2>&1 || true
}
trap cleanup EXIT

seconds() { # seconds COMMAND...: runs COMMAND quietly, prints wall seconds
	local start end
	start=$(date +%s.%N)
	"$@" >>"$work/commands.log" 2>&1
	end=$(date +%s.%N)
	echo "$end - $start" | bc -l
}

echo "== machine"
echo "nproc: $(nproc)"
echo "cpu:   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "go:    $(go version)"
echo "load:  $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== Go benchmarks (sc-hsm/dkek)"
(cd "$root" && go test -run '^$' -bench 'DeriveKey$|MD5SumLoop|DecryptThreeFiles' -benchtime 3x -count 1 ./sc-hsm/dkek/) |
	tee "$work/go-bench.txt"
ns_of() { awk -v b="$1" '$1 ~ "^"b"(-[0-9]+)?$" { print $3 }' "$work/go-bench.txt"; }
derive_s=$(echo "$(ns_of BenchmarkDeriveKey) / 1000000000" | bc -l)
md5loop_s=$(echo "$(ns_of BenchmarkMD5SumLoop) / 1000000000" | bc -l)
three_s=$(echo "$(ns_of BenchmarkDecryptThreeFiles) / 1000000000" | bc -l)

echo "== sc-hsm-tool on the virtual card"
(cd "$root" && go build -o "$work/sc-hsm-init" ./cmd/sc-hsm-init)
"$root/scripts/stack.sh" start "$stack" -- "$work/sc-hsm-init" simulate --port '{PORT}' >/dev/null
export PCSCLITE_CSOCK_NAME="$stack/run/pcscd.comm"
export BENCH_DKEK_PASSWORD=$password
export BENCH_DKEK_PIN=482913
for i in 1 2 3; do
	rm -f "$work/share$i.pbe"
	"$work/sc-hsm-init" dkek create "$work/share$i.pbe" --no-token --password env:BENCH_DKEK_PASSWORD >>"$work/commands.log" 2>&1
done

initialize() {
	sc-hsm-tool --initialize --so-pin 0F1E2D3C4B5A6978 --pin 482913 --dkek-shares 3 >>"$work/commands.log" 2>&1
}
import_one() { sc-hsm-tool --import-dkek-share "$1" --password "$password"; }
import_three() {
	import_one "$work/share1.pbe" && import_one "$work/share2.pbe" && import_one "$work/share3.pbe"
}

our_import_three() {
	"$work/sc-hsm-init" dkek import "$work/share1.pbe" "$work/share2.pbe" "$work/share3.pbe" \
		--password env:BENCH_DKEK_PASSWORD --pin env:BENCH_DKEK_PIN
}

initialize
tool_one_s=$(seconds import_one "$work/share1.pbe")
initialize
tool_three_s=$(seconds import_three)
if ! grep -q 'DKEK key check value' "$work/commands.log"; then
	echo "bench-dkek.sh: sc-hsm-tool did not complete the three imports; see $work/commands.log" >&2
	exit 1
fi
initialize
ours_three_s=$(seconds our_import_three)
if ! grep -q '^Key check value:' "$work/commands.log"; then
	echo "bench-dkek.sh: sc-hsm-init dkek import did not complete the three imports; see $work/commands.log" >&2
	exit 1
fi

echo "== summary"
ratio() { printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }
verdict() { if (($(echo "$1" | bc -l))); then echo met; else echo "NOT met"; fi; }
r1=$(ratio "$derive_s" "$md5loop_s")
r2=$(ratio "$tool_one_s" "$derive_s")
r3=$(ratio "$ours_three_s" "$tool_three_s")
r4=$(ratio "$three_s" "$tool_three_s")
printf '%-52s %10s\n' "measurement" "seconds"
printf '%-52s %10.3f\n' "DeriveKey, 10,000,000 iterations (Go)" "$derive_s"
printf '%-52s %10.3f\n' "md5.Sum loop, 30,000,000 blocks (Go)" "$md5loop_s"
printf '%-52s %10.3f\n' "DecryptFiles, three files in parallel (Go)" "$three_s"
printf '%-52s %10.3f\n' "sc-hsm-init dkek import, three files" "$ours_three_s"
printf '%-52s %10.3f\n' "sc-hsm-tool --import-dkek-share, one file" "$tool_one_s"
printf '%-52s %10.3f\n' "sc-hsm-tool --import-dkek-share, three files" "$tool_three_s"
echo
printf '%-52s %10s %8s\n' "target" "ratio" "result"
printf '%-52s %10s %8s\n' "DeriveKey / md5.Sum loop <= 1.05" "$r1" "$(verdict "$r1 <= 1.05")"
printf '%-52s %10s %8s\n' "sc-hsm-tool one file / DeriveKey >= 3" "$r2" "$(verdict "$r2 >= 3")"
printf '%-52s %10s %8s\n' "dkek import three / sc-hsm-tool three <= 0.25" "$r3" "$(verdict "$r3 <= 0.25")"
printf '%-52s %10s %8s\n' "DecryptFiles three / sc-hsm-tool three <= 0.25" "$r4" "$(verdict "$r4 <= 0.25")"
echo "logs: $work"
