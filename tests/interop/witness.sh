#!/usr/bin/env bash
# Runs a real C2SP tlog-witness: litewitness from filippo.io/torchwood (pinned
# in tests/interop/go/go.mod as a `tool`), on a free loopback port, with a fresh
# Ed25519 witness key held by a private ssh-agent, and with the given logs
# registered through witnessctl.
#
# usage: tests/interop/witness.sh ORIGIN LOG_VKEY [ORIGIN LOG_VKEY ...]
#   ORIGIN    the log's origin line (e.g. evident.example/acme)
#   LOG_VKEY  the log's C2SP signed-note verifier key, whose name must equal
#             ORIGIN (e.g. evident.example/acme+1a2b3c4d+AU4...)
# environment (all optional):
#   WITNESS_NAME     the witness's name in its cosignature lines
#                    (default: witness.evident.test/litewitness; no spaces or '+')
#   WITNESS_BIN_DIR  where litewitness and witnessctl are (built there with
#                    `go build` from tests/interop/go when missing;
#                    default: tests/interop/go/bin)
#
# Prints, once the witness answers on its port (one KEY=VALUE line each):
#   WITNESS_URL=http://127.0.0.1:PORT    POST $WITNESS_URL/add-checkpoint
#   WITNESS_VKEY=NAME+KEYHASH+BASE64     cosignature/v1 verifier key (type 0x04)
#   WITNESS_NAME=NAME
#   WITNESS_DB=PATH        the SQLite state; `witnessctl add-log|add-key|list-logs
#                          -db PATH` work on it while the witness runs
#   WITNESS_CTL=PATH       that witnessctl binary
#   WITNESS_LOG=PATH       litewitness's own log (stderr)
#   WITNESS_READY=1        always last
# then stays in the foreground until it gets SIGTERM/SIGINT, when it stops
# litewitness and the ssh-agent and deletes its temporary directory.
# Exits non-zero, with the reason on stderr, if anything fails on the way.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 2 ] || [ $(($# % 2)) -ne 0 ]; then
  echo "usage: $0 ORIGIN LOG_VKEY [ORIGIN LOG_VKEY ...]" >&2
  exit 64
fi
name="${WITNESS_NAME:-witness.evident.test/litewitness}"
bindir="${WITNESS_BIN_DIR:-$here/go/bin}"
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"

if [ ! -x "$bindir/litewitness" ] || [ ! -x "$bindir/witnessctl" ]; then
  echo "witness.sh: building litewitness and witnessctl into $bindir" >&2
  mkdir -p "$bindir"
  (cd "$here/go" && go build -o "$bindir/" \
    filippo.io/torchwood/cmd/litewitness filippo.io/torchwood/cmd/witnessctl) >&2
fi
for tool in ssh-agent ssh-add ssh-keygen; do
  command -v "$tool" >/dev/null 2>&1 || { echo "witness.sh: $tool missing (Debian package openssh-client)" >&2; exit 1; }
done

# A short directory: ssh-agent's socket path must fit in sun_path (108 bytes).
dir="$(mktemp -d /tmp/lw.XXXXXX)"
agent_pid="" witness_pid=""
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$witness_pid" ]; then kill "$witness_pid" 2>/dev/null; wait "$witness_pid" 2>/dev/null; fi
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

db="$dir/witness.db"
sock="$dir/agent.sock"

# The witness key: a fresh Ed25519 key, given to litewitness only through the
# ssh-agent protocol; litewitness picks it by its SHA256 fingerprint.
ssh-keygen -q -t ed25519 -N '' -C litewitness -f "$dir/witness_key"
fingerprint="$(ssh-keygen -l -E sha256 -f "$dir/witness_key.pub" | awk '{print $2}')"
ssh-agent -D -a "$sock" >/dev/null 2>&1 &
agent_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "witness.sh: ssh-agent did not start" >&2; exit 1; }
SSH_AUTH_SOCK="$sock" ssh-add -q "$dir/witness_key" 2>/dev/null

while [ $# -gt 0 ]; do
  "$bindir/witnessctl" add-log -db "$db" -origin "$1" 2>>"$dir/witnessctl.log"
  "$bindir/witnessctl" add-key -db "$db" -origin "$1" -key "$2" 2>>"$dir/witnessctl.log"
  if grep -q '^.*Warning' "$dir/witnessctl.log"; then
    echo "witness.sh: $(grep Warning "$dir/witnessctl.log")" >&2
    exit 1
  fi
  shift 2
done

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bindir/litewitness" -db "$db" -name "$name" -key "$fingerprint" \
  -ssh-agent "$sock" -listen "127.0.0.1:$port" 2>"$dir/litewitness.log" &
witness_pid=$!
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$witness_pid" 2>/dev/null || break
  sleep 0.05
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "witness.sh: litewitness did not come up:" >&2
  cat "$dir/litewitness.log" >&2
  exit 1
fi
# litewitness logs `msg="verifier key" vkey=NAME+HASH+BASE64` (slog text).
vkey="$(sed -n 's/.*msg="verifier key" vkey=\("\{0,1\}\)\([^ "]*\)\1.*/\2/p' "$dir/litewitness.log" | head -n1)"
[ -n "$vkey" ] || { echo "witness.sh: no verifier key in litewitness log" >&2; cat "$dir/litewitness.log" >&2; exit 1; }

echo "WITNESS_URL=http://127.0.0.1:$port"
echo "WITNESS_VKEY=$vkey"
echo "WITNESS_NAME=$name"
echo "WITNESS_DB=$db"
echo "WITNESS_CTL=$bindir/witnessctl"
echo "WITNESS_LOG=$dir/litewitness.log"
echo "WITNESS_READY=1"

# Stay up until told to stop, or until litewitness dies on its own.
set +e
wait "$witness_pid"
rc=$?
witness_pid=""
echo "witness.sh: litewitness exited ($rc):" >&2
tail -n 20 "$dir/litewitness.log" >&2
exit 1
