#!/usr/bin/env bash
# Runs an isolated pcscd with the vpcd virtual reader for the demo, the same
# way Go package sc-hsm/teststack does for tests.
#
#   stack.sh start DIR [--port PORT] [-- CARD-COMMAND...]
#   stack.sh card-start DIR -- CARD-COMMAND...
#   stack.sh card-stop DIR
#   stack.sh stop DIR
#   stack.sh status DIR
#   stack.sh env DIR
#
# pcscd runs in its own mount namespace: DIR/run is bind-mounted over
# /run/pcscd and a tmpfs hides /usr/lib/pcsc/drivers, so it never opens USB
# readers and never touches a system pcscd. Clients find it through
# PCSCLITE_CSOCK_NAME, which "env" prints as an export line.
#
# A card command runs in the background with its output in DIR/card.log.
# Each argument "{PORT}" is replaced by the vpcd port, for example:
#   stack.sh card-start DIR -- bin/sc-hsm-init simulate --state card.json --port {PORT}
# card-start returns once opensc-tool lists a card in "Virtual PCD 00 00".
#
# Set STACK_PCSCD_APDU_LOG=1 to have pcscd log every APDU in DIR/pcscd.log
# while debugging. That log then contains PIN and share bytes, so every file
# the script creates is private to its owner (umask 077, logs mode 0600).
#
# start reuses the port in DIR/port from an earlier start when that port
# pair is free, so a card command still running from then (simulate retries
# its connection) finds the new pcscd.
#
# PIDs are kept in DIR/pcscd.pid and DIR/card.pid, and only those processes
# are ever signalled.
set -euo pipefail
umask 077

readonly vpcd_driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
readonly pcsc_driver_dir=/usr/lib/pcsc/drivers
readonly reader="Virtual PCD 00 00"
readonly start_timeout_s=15
readonly card_timeout_s=20
# Below Linux's default ephemeral port range (32768-60999).
readonly min_port=20000 max_port=32000

die() {
	echo "stack.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

find_pcscd() {
	command -v pcscd 2>/dev/null || { [[ -x /usr/sbin/pcscd ]] && echo /usr/sbin/pcscd; } ||
		die "pcscd not found; run scripts/install-deps.sh"
}

# alive PIDFILE: succeeds when PIDFILE names a running process.
alive() {
	[[ -s "$1" ]] && kill -0 "$(<"$1")" 2>/dev/null
}

# is_our_pcscd PID: succeeds when PID is the pcscd of this stack (its
# command line names our conf folder), so a recycled PID or a system pcscd
# is never signalled.
is_our_pcscd() {
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ "$cmdline" == *pcscd*"$dir/conf"* ]]
}

# listener_pid_owns PID PORT: succeeds when PID owns a TCP socket listening
# on PORT. Reads /proc instead of connecting, because vpcd takes any
# connection for a card.
listener_pid_owns() {
	local pid=$1 port_hex inode
	port_hex=$(printf '%04X' "$2")
	for inode in $(awk -v p=":$port_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"; then
			return 0
		fi
	done
	return 1
}

port_in_use() {
	local port_hex
	port_hex=$(printf '%04X' "$1")
	awk -v p=":$port_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_port() {
	local port i
	for i in $(seq 200); do
		port=$((min_port + 2 * (RANDOM % ((max_port - min_port) / 2))))
		if ! port_in_use "$port" && ! port_in_use $((port + 1)); then
			echo "$port"
			return
		fi
	done
	die "no free TCP port pair in $min_port-$max_port"
}

# private_log FILE: creates FILE, or makes an existing one, mode 0600, since
# logs from before the umask may be world-readable.
private_log() {
	touch "$1"
	chmod 600 "$1"
}

# previous_port: prints the port of an earlier start in this folder when
# that port pair is free; warns and prints nothing when it is taken.
previous_port() {
	local old
	[[ -s "$dir/port" ]] || return 0
	old=$(<"$dir/port")
	[[ "$old" =~ ^[0-9]+$ ]] || return 0
	if port_in_use "$old" || port_in_use $((old + 1)); then
		echo "stack.sh: warning: port $old of the earlier start is in use, so a new port is picked;" \
			"restart a card command that still uses port $old" >&2
		return 0
	fi
	echo "$old"
}

# wait_until TIMEOUT_S DESCRIPTION COMMAND...: polls COMMAND every 50 ms.
wait_until() {
	local timeout_s=$1 what=$2
	shift 2
	local deadline=$((SECONDS + timeout_s))
	until "$@"; do
		if ((SECONDS >= deadline)); then
			echo "stack.sh: timed out after ${timeout_s}s waiting for $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

pcscd_ready() {
	local pid
	pid=$(<"$dir/pcscd.pid")
	kill -0 "$pid" 2>/dev/null || die "pcscd exited during start; log: $dir/pcscd.log"$'\n'"$(tail -n 20 "$dir/pcscd.log")"
	[[ -S "$dir/run/pcscd.comm" ]] && listener_pid_owns "$pid" "$(<"$dir/port")"
}

card_present() {
	PCSCLITE_CSOCK_NAME="$dir/run/pcscd.comm" opensc-tool -l 2>/dev/null |
		awk -v r="$reader" 'index($0, r) && $2 == "Yes" { found = 1 } END { exit !found }'
}

cmd_start() {
	local port=""
	while (($#)); do
		case $1 in
		--port)
			port=${2:?--port needs a value}
			shift 2
			;;
		--)
			shift
			break
			;;
		*) die "unknown option $1" ;;
		esac
	done

	[[ -f "$vpcd_driver" ]] || die "$vpcd_driver not found; run scripts/install-deps.sh"
	local pcscd
	pcscd=$(find_pcscd)
	if alive "$dir/pcscd.pid"; then
		die "a stack already runs in $dir (pcscd pid $(<"$dir/pcscd.pid")); run: $0 stop $dir"
	fi
	((${#dir} + 16 < 108)) || die "folder path too long for a Unix socket: $dir"

	mkdir -p "$dir/conf" "$dir/run" "$dir/drivers"
	rm -f "$dir/run/pcscd.comm"
	[[ -n "$port" ]] || port=$(previous_port)
	[[ -n "$port" ]] || port=$(pick_port)
	echo "$port" >"$dir/port"
	private_log "$dir/pcscd.log"
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:%s\nLIBPATH      %s\nCHANNELID    %s\n' \
		"$port" "$dir/drivers/$(basename "$vpcd_driver")" "$port" >"$dir/conf/vpcd"

	local userns=()
	((EUID == 0)) || userns=(-r)
	# The inner script runs in the new mount namespace; see the header.
	# shellcheck disable=SC2016
	setsid env -u PCSCLITE_CSOCK_NAME unshare "${userns[@]}" -m --propagation private sh -c '
		set -e
		mount --bind "$1" "$2/drivers"
		mount -t tmpfs tmpfs "$3"
		[ -d /run/pcscd ] || mkdir -p /run/pcscd
		mount --bind "$2/run" /run/pcscd
		shift 3
		exec "$@"' sh "$(dirname "$vpcd_driver")" "$dir" "$pcsc_driver_dir" \
		"$pcscd" --foreground ${STACK_PCSCD_APDU_LOG:+--apdu} --config "$dir/conf" \
		>>"$dir/pcscd.log" 2>&1 </dev/null &
	echo $! >"$dir/pcscd.pid"

	wait_until "$start_timeout_s" "pcscd to listen on port $port" pcscd_ready ||
		{ cmd_stop; die "pcscd did not start; log: $dir/pcscd.log"; }
	echo "stack.sh: pcscd pid $(<"$dir/pcscd.pid"), vpcd reader \"$reader\" on 127.0.0.1:$port" >&2
	cmd_env

	if (($#)); then
		cmd_card_start "$@"
	fi
}

cmd_card_start() {
	[[ "${1:-}" == "--" ]] && shift
	(($#)) || die "card-start needs a command"
	alive "$dir/pcscd.pid" || die "no pcscd runs in $dir; run: $0 start $dir"
	if alive "$dir/card.pid"; then
		die "a card already runs (pid $(<"$dir/card.pid")); run: $0 card-stop $dir"
	fi

	local port args=() arg
	port=$(<"$dir/port")
	for arg in "$@"; do
		args+=("${arg//\{PORT\}/$port}")
	done

	private_log "$dir/card.log"
	PCSCLITE_CSOCK_NAME="$dir/run/pcscd.comm" setsid "${args[@]}" >>"$dir/card.log" 2>&1 </dev/null &
	echo $! >"$dir/card.pid"

	card_running_and_present() {
		alive "$dir/card.pid" || die "card command exited; log: $dir/card.log"$'\n'"$(tail -n 20 "$dir/card.log")"
		card_present
	}
	command -v opensc-tool >/dev/null 2>&1 || die "opensc-tool not found; run scripts/install-deps.sh"
	wait_until "$card_timeout_s" "a card in \"$reader\"" card_running_and_present ||
		die "card not present; log: $dir/card.log"
	echo "stack.sh: card pid $(<"$dir/card.pid") present in \"$reader\"" >&2
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
	local pidfile=$1 name=$2 pid
	alive "$pidfile" || { rm -f "$pidfile"; return 0; }
	pid=$(<"$pidfile")
	kill -TERM "$pid"
	if ! wait_until 10 "$name (pid $pid) to exit" bash -c "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	echo "stack.sh: stopped $name (pid $pid)" >&2
}

cmd_card_stop() {
	stop_pid "$dir/card.pid" card
}

cmd_stop() {
	cmd_card_stop
	if alive "$dir/pcscd.pid" && ! is_our_pcscd "$(<"$dir/pcscd.pid")"; then
		die "pid $(<"$dir/pcscd.pid") in $dir/pcscd.pid is not this stack's pcscd; not stopping it"
	fi
	stop_pid "$dir/pcscd.pid" pcscd
}

cmd_status() {
	local state=0
	if alive "$dir/pcscd.pid"; then
		echo "pcscd: running (pid $(<"$dir/pcscd.pid"), vpcd port $(<"$dir/port"))"
	else
		echo "pcscd: stopped"
		state=3
	fi
	if alive "$dir/card.pid"; then
		echo "card: running (pid $(<"$dir/card.pid"))"
	else
		echo "card: stopped"
	fi
	if ((state == 0)) && command -v opensc-tool >/dev/null 2>&1; then
		if card_present; then echo "reader \"$reader\": card present"; else echo "reader \"$reader\": empty"; fi
	fi
	return "$state"
}

cmd_env() {
	echo "export PCSCLITE_CSOCK_NAME=$dir/run/pcscd.comm"
}

(($# >= 2)) || usage
command=$1
if [[ "$command" == start ]]; then
	mkdir -p "$2"
fi
[[ -d "$2" ]] || die "no stack folder $2"
dir=$(cd "$2" && pwd -P)
shift 2

case $command in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
card-start) cmd_card_start "$@" ;;
card-stop) cmd_card_stop ;;
*) usage ;;
esac
