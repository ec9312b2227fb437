#!/usr/bin/env bash
# Real-Docker benchmark: the wall time of a scripted admin/CI session of
# docker CLI commands against three throwaway dockerds running side by side,
#   A  without any authorization plugin,
#   C  with --authorization-plugin pointing at the floor server
#      (`bench-server floor`: {"Allow":true} to everything, on the same HTTP
#      stack as Portcullis), what dockerd's plugin calls cost by themselves,
#   B  with --authorization-plugin pointing at Portcullis serving plugin.toml
#      (the example chain: no-privileged -> read-only),
# sessions interleaved in rounds whose order rotates (ABC, BCA, CAB, ...), N
# sessions each after one untimed warm-up. Prints a markdown table of medians
# and the added time: C - A (any plugin), B - A (Portcullis), and B - C (what
# Portcullis costs beyond a plugin that decides nothing).
#
#   benches/docker.sh                 10 sessions per daemon
#   benches/docker.sh -n 30           30 (or RUNS=30 benches/docker.sh)
#   benches/docker.sh --no-build      use the binaries already in target/
#
# Needs root. Installs docker.io and busybox-static when they are missing
# (.ci/setup --docker). The docker client is the first `docker` on PATH, or
# $DOCKER. Every daemon, socket and temp dir is removed on every exit path.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME's decimal point, sort order

usage() {
  echo "usage: $0 [-n RUNS] [--no-build]" >&2
  exit 2
}
runs=${RUNS:-10} build=yes
while [ $# -gt 0 ]; do
  case $1 in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --no-build) build=no; shift ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, not '$runs'" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (dockerd, /run/docker/plugins)" >&2; exit 1; }

cd "$(dirname "$0")/.."
repo=$PWD
docker=${DOCKER:-docker}

# --- state, and its cleanup on every exit path -------------------------------

plugin_name=portcullis-bench-$$
plugin_socket=/run/docker/plugins/$plugin_name.sock
floor_name=portcullis-bench-floor-$$
floor_socket=/run/docker/plugins/$floor_name.sock
# Short: containerd's socket lives under each daemon's exec root.
tmp=$(mktemp -d /tmp/pdb.XXXXXX)
plugin_pid="" floor_pid="" dockerd_a_pid="" dockerd_b_pid="" dockerd_c_pid=""

# SIGTERM, then SIGKILL after 30 s; $1 is a child of this shell or empty.
stop() {
  local pid=$1 waited=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 300 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e # clean up as much as possible whatever fails
  # The daemons before the plugins they consult.
  stop "$dockerd_a_pid"
  stop "$dockerd_b_pid"
  stop "$dockerd_c_pid"
  stop "$plugin_pid"
  stop "$floor_pid"
  rm -f "$plugin_socket" "$floor_socket"
  # Whatever a daemon left mounted under its roots, innermost first.
  findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | while read -r target; do
    umount -l "$target"
  done
  rm -rf --one-file-system "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "docker.sh: $*" >&2
  exit 1
}

# --- prerequisites and builds -------------------------------------------------

if ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ]; then
  bash .ci/setup --docker
fi
command -v "$docker" >/dev/null || fail "no docker client ($docker)"
if [ $build = yes ]; then
  cargo build --release -q -p portcullis
  cargo build --release -q -p portcullis-bench --bin bench-server
  cargo build --release -q --target wasm32-wasip1 -p no-privileged -p rbac \
    -p hardening -p read-only -p api-allowlist -p read-only-users
fi
[ -x target/release/portcullis ] || fail "target/release/portcullis missing (drop --no-build)"
[ -x target/release/bench-server ] || fail "target/release/bench-server missing (drop --no-build)"

# A clean client: no user config, contexts or environment pointing elsewhere.
export DOCKER_CONFIG=$tmp/cli
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
mkdir -p "$DOCKER_CONFIG"

# --- Portcullis and the floor server, then the three daemons -----------------

# wait_socket SOCKET PID LOG WHAT
wait_socket() {
  for _ in $(seq 300); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || fail "$4 exited:$(printf '\n'; cat "$3")"
    sleep 0.1
  done
  fail "$4 did not bind $1 in 30 s"
}

mkdir -p /run/docker/plugins
[ ! -e "$plugin_socket" ] || fail "$plugin_socket already exists"
[ ! -e "$floor_socket" ] || fail "$floor_socket already exists"
target/release/portcullis serve -c "$repo/plugin.toml" --socket "$plugin_socket" \
  2>"$tmp/portcullis.log" &
plugin_pid=$!
target/release/bench-server floor --socket "$floor_socket" 2>"$tmp/floor.log" &
floor_pid=$!
wait_socket "$plugin_socket" "$plugin_pid" "$tmp/portcullis.log" portcullis
wait_socket "$floor_socket" "$floor_pid" "$tmp/floor.log" "bench-server floor"

# start_dockerd DIR [EXTRA-ARGS...]: a throwaway daemon on unix://DIR/docker.sock;
# sets $started_pid (not an echo: the daemon must be this shell's child).
start_dockerd() {
  local dir=$1
  shift
  mkdir -p "$dir"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --data-root="$dir/data" --exec-root="$dir/exec" --pidfile="$dir/docker.pid" \
    --host="unix://$dir/docker.sock" --shutdown-timeout=1 \
    --containerd-namespace="pdb-$$-${dir##*/}" \
    --containerd-plugins-namespace="pdb-$$-${dir##*/}-plugins" \
    "$@" >"$dir/dockerd.log" 2>&1 &
  started_pid=$!
}

start_dockerd "$tmp/a"
dockerd_a_pid=$started_pid
start_dockerd "$tmp/b" --authorization-plugin="$plugin_name"
dockerd_b_pid=$started_pid
start_dockerd "$tmp/c" --authorization-plugin="$floor_name"
dockerd_c_pid=$started_pid
host_a=unix://$tmp/a/docker.sock
host_b=unix://$tmp/b/docker.sock
host_c=unix://$tmp/c/docker.sock

# wait_ready HOST PID LOG
wait_ready() {
  for _ in $(seq 450); do
    "$docker" -H "$1" version >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || fail "dockerd exited:$(printf '\n'; cat "$3")"
    sleep 0.2
  done
  fail "dockerd not ready in 90 s:$(printf '\n'; cat "$3")"
}
wait_ready "$host_a" "$dockerd_a_pid" "$tmp/a/dockerd.log"
wait_ready "$host_b" "$dockerd_b_pid" "$tmp/b/dockerd.log"
wait_ready "$host_c" "$dockerd_c_pid" "$tmp/c/dockerd.log"
[ "$("$docker" -H "$host_b" info --format '{{.Plugins.Authorization}}')" = "[$plugin_name]" ] ||
  fail "daemon B does not consult $plugin_name"
[ "$("$docker" -H "$host_c" info --format '{{.Plugins.Authorization}}')" = "[$floor_name]" ] ||
  fail "daemon C does not consult $floor_name"
[ "$("$docker" -H "$host_a" info --format '{{.Plugins.Authorization}}')" = "[]" ] ||
  fail "daemon A has an authorization plugin"

# A one-binary busybox image, mini:latest, in each (no registry needed).
mkdir -p "$tmp/rootfs/bin"
cp /bin/busybox "$tmp/rootfs/bin/busybox"
for applet in sh true echo sleep; do ln -s busybox "$tmp/rootfs/bin/$applet"; done
for host in "$host_a" "$host_b" "$host_c"; do
  tar -C "$tmp/rootfs" -c . | "$docker" -H "$host" import - mini:latest >/dev/null
done

# --- the session --------------------------------------------------------------

times=$tmp/times # tab-separated lines: RUN DAEMON STEP MICROSECONDS

# step RUN DAEMON STEP COMMAND...: runs and times one command; any failure
# (a refused call included) stops the benchmark.
step() {
  local run=$1 who=$2 name=$3 t0 t1
  shift 3
  t0=${EPOCHREALTIME/./}
  "$@" >"$tmp/out" 2>"$tmp/err" ||
    fail "run $run, daemon $who: '$*' failed:$(printf '\n'; cat "$tmp/err")"
  t1=${EPOCHREALTIME/./}
  printf '%s\t%s\t%s\t%s\n' "$run" "$who" "$name" $((t1 - t0)) >>"$times"
}

# session RUN DAEMON HOST: the scripted admin/CI session, timed as a whole.
session() {
  local run=$1 who=$2 t0 t1 c=bench-$1 v=bench-$1
  local d=("$docker" -H "$3")
  t0=${EPOCHREALTIME/./}
  step "$run" "$who" version "${d[@]}" version
  step "$run" "$who" info "${d[@]}" info
  step "$run" "$who" "ps -a" "${d[@]}" ps -a
  step "$run" "$who" images "${d[@]}" images
  step "$run" "$who" "run --rm" "${d[@]}" run --rm mini true
  step "$run" "$who" create "${d[@]}" create --name "$c" mini sh -c 'echo ready; exec sleep 600'
  step "$run" "$who" start "${d[@]}" start "$c"
  step "$run" "$who" exec "${d[@]}" exec "$c" echo hi
  step "$run" "$who" logs "${d[@]}" logs "$c"
  step "$run" "$who" inspect "${d[@]}" inspect "$c"
  step "$run" "$who" "rm -f" "${d[@]}" rm -f "$c"
  step "$run" "$who" "volume create" "${d[@]}" volume create "$v"
  step "$run" "$who" "volume ls" "${d[@]}" volume ls
  step "$run" "$who" "volume rm" "${d[@]}" volume rm "$v"
  step "$run" "$who" "network ls" "${d[@]}" network ls
  t1=${EPOCHREALTIME/./}
  printf '%s\t%s\tsession\t%s\n' "$run" "$who" $((t1 - t0)) >>"$times"
}

audit_lines() { grep -c 'portcullis::audit' "$tmp/portcullis.log" || true; }

declare -A host=([A]=$host_a [B]=$host_b [C]=$host_c)
order=(A B C)
for who in "${order[@]}"; do session 0 "$who" "${host[$who]}"; done
: >"$times" # the warm-up does not count
audit_before=$(audit_lines)
# Round r runs the three daemons in ABC rotated left by (r - 1) mod 3:
# ABC, BCA, CAB, ABC, ... so each daemon takes each place equally often.
for run in $(seq "$runs"); do
  for i in 0 1 2; do
    who=${order[$(((run - 1 + i) % 3))]}
    session "$run" "$who" "${host[$who]}"
  done
  printf '\rround %d/%d' "$run" "$runs" >&2
done
printf '\n' >&2
kill -0 "$floor_pid" 2>/dev/null || fail "bench-server floor exited:$(printf '\n'; cat "$tmp/floor.log")"
audit_after=$(audit_lines)
decisions=$((audit_after - audit_before))
# The time the chain itself took in those decisions: the modules' "(NNus,"
# in each audit line, summed.
module_us=$(grep 'portcullis::audit' "$tmp/portcullis.log" | tail -n "+$((audit_before + 1))" |
  head -n "$decisions" | awk '{
    while (match($0, /\([0-9]+us,/)) {
      sum += substr($0, RSTART + 1, RLENGTH - 4); $0 = substr($0, RSTART + RLENGTH)
    } } END { print sum + 0 }')
denied=$(grep 'portcullis::audit' "$tmp/portcullis.log" | grep -vc 'allow=true' || true)
[ "$denied" = 0 ] || fail "Portcullis denied or refused $denied calls:$(printf '\n'; grep 'portcullis::audit' "$tmp/portcullis.log" | grep -v 'allow=true')"
[ "$decisions" -gt 0 ] || fail "Portcullis decided nothing during B's sessions"

# --- report -------------------------------------------------------------------

# Numbers on stdin -> "median min max q1 q3" (the median of an even count:
# the mean of the middle two; quartiles: nearest rank).
stats() {
  sort -g | awk '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          q1 = int((NR + 3) / 4); q3 = NR + 1 - q1
          print m, v[1], v[NR], v[q1], v[q3] }'
}
# samples DAEMON STEP -> the microseconds of that step, one a line
samples() { awk -F'\t' -v who="$1" -v name="$2" '$2 == who && $3 == name { print $4 }' "$times"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
sms() { awk -v us="$1" 'BEGIN { printf "%+.1f", us / 1000 }'; } # signed
# added FROM TO -> "+1.2 ms (+3.4 %)": TO - FROM, and relative to FROM
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f ms (%+.1f %%)", (b - a) / 1000, (b / a - 1) * 100 }'; }
# rounds FROM TO ratio|difference -> per round (the three sessions of one
# round run back to back): TO/FROM - 1 in %, or TO - FROM in us; one a line
rounds() {
  awk -F'\t' -v from="$1" -v to="$2" -v expr="$3" '$3 == "session" { t[$1, $2] = $4; n[$1] = 1 }
    END { for (r in n) printf "%.3f\n", expr == "ratio" ? (t[r, to] / t[r, from] - 1) * 100 : t[r, to] - t[r, from] }' "$times"
}

server_version=$("$docker" -H "$host_a" version --format '{{.Server.Version}}')
client_version=$("$docker" version --format '{{.Client.Version}}' 2>/dev/null || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev (dirty tree)"

echo
echo "## Real Docker: $runs sessions per daemon, in rotated rounds (ABC, BCA, CAB, ...)"
echo
echo "Machine: $(nproc) CPUs ($cpu), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "dockerd $server_version" \
  "(vfs, --bridge=none), docker client $client_version ($(command -v "$docker"));" \
  "Portcullis $rev serving plugin.toml (no-privileged -> read-only);" \
  "the floor: bench-server floor, {\"Allow\":true} to every call."
echo
echo "| step | A: no plugin (ms) | C: floor plugin (ms) | B: Portcullis (ms) | C vs A | B vs A | B vs C (Portcullis itself) | A q1-q3 (ms) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
steps=$(awk -F'\t' '$1 == 1 && $2 == "A" { print $3 }' "$times")
while read -r name; do
  read -r a _ _ a_q1 a_q3 < <(samples A "$name" | stats)
  read -r b _ < <(samples B "$name" | stats)
  read -r c _ < <(samples C "$name" | stats)
  label=$name
  [ "$name" = session ] && label="**whole session**"
  echo "| $label | $(ms "$a") | $(ms "$c") | $(ms "$b") | $(added "$a" "$c") | $(added "$a" "$b") |" \
    "$(added "$c" "$b") | $(ms "$a_q1")-$(ms "$a_q3") |"
done <<<"$steps"

echo
echo "Medians of $runs; each \"X vs Y\" is X's median minus Y's, and in % relative to Y's." \
  "The last column is A's interquartile range, the run-to-run noise to read them against."
echo
echo "The whole session, difference within each round (its three sessions back to back, which" \
  "takes out drift between rounds):"
echo
echo "| per round | median | interquartile | min | max |"
echo "|---|---:|---:|---:|---:|"
declare -A round_us
for pair in "A C" "A B" "C B"; do
  read -r from to <<<"$pair"
  read -r r_med r_min r_max r_q1 r_q3 < <(rounds "$from" "$to" ratio | stats)
  read -r t_med t_min t_max t_q1 t_q3 < <(rounds "$from" "$to" difference | stats)
  round_us[$to$from]=$t_med
  echo "| $to - $from | $(sms "$t_med") ms ($(printf '%+.1f' "$r_med") %)" \
    "| $(sms "$t_q1") to $(sms "$t_q3") ms ($(printf '%+.1f' "$r_q1") to $(printf '%+.1f' "$r_q3") %)" \
    "| $(sms "$t_min") ms ($(printf '%+.1f' "$r_min") %) | $(sms "$t_max") ms ($(printf '%+.1f' "$r_max") %) |"
done

read -r _ a_min a_max < <(samples A session | stats)
read -r _ b_min b_max < <(samples B session | stats)
read -r _ c_min c_max < <(samples C session | stats)
calls=$(awk -v d="$decisions" -v r="$runs" 'BEGIN { printf "%.1f", d / r }')
commands=$(($(wc -l <<<"$steps") - 1)) # the steps but the session
per_call() { awk -v us="$1" -v d="$decisions" -v r="$runs" 'BEGIN { printf "%+.0f", us * r / d }'; }

echo
echo "- Session spread (min-max): A $(ms "$a_min")-$(ms "$a_max") ms," \
  "C $(ms "$c_min")-$(ms "$c_max") ms, B $(ms "$b_min")-$(ms "$b_max") ms."
echo "- Portcullis decided $decisions authz calls during B's $runs sessions" \
  "($calls a session, $(awk -v c="$calls" -v n="$commands" 'BEGIN { printf "%.1f", c / n }') a command," \
  "request and response phases), all allowed; every command succeeded on all three daemons." \
  "The modules' own time in them: $(ms $((module_us / runs))) ms a session," \
  "$((module_us / decisions)) us a call."
echo "- Per plugin call (the per-round medians above over $calls calls a session; the floor gets" \
  "the same calls from the same commands): C - A $(per_call "${round_us[CA]}") us" \
  "(dockerd's round trip to a plugin that decides nothing), B - C $(per_call "${round_us[BC]}") us" \
  "(Portcullis beyond that), B - A $(per_call "${round_us[BA]}") us."
