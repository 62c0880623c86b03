#!/usr/bin/env bash
# `make demo`'s daemon run against a local OpenSSH sshd, when one can be started here: a
# server on 127.0.0.1 (a free port, a generated host key pinned in known_hosts, a generated
# user key) holds the platform's files; a copy of reckon.yaml in var/demo-sftp/ fetches them
# over SFTP and delivers the platform's outbound set back to the server. The earlier days
# run as batches, then `reckon run --date 2024-12-16 --settle --exit-when-idle`. Everything
# it makes stays in var/demo-sftp/; the server is stopped at the end.
set -euo pipefail
reckon=$(realpath "${1:-.build/debug/reckon}")
cd "$(dirname "$0")/.."
root=$PWD

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null || ! command -v python3 >/dev/null; then
  echo "   (no sshd, ssh-keygen or python3 here: the SFTP part of the demo is skipped; make deps installs openssh-server)"
  exit 0
fi

demo=$root/var/demo-sftp
rm -rf "$demo"
mkdir -p "$demo/sshd" "$demo/remote/outgoing" "$demo/remote/incoming" "$demo/inbox/platform"
ssh-keygen -q -t ed25519 -N "" -C reckon-demo-host -f "$demo/sshd/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -C reckon-demo-user -f "$demo/user_ed25519"
cp "$demo/user_ed25519.pub" "$demo/sshd/authorized_keys"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$demo/sshd/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $demo/sshd/host_ed25519
PidFile $demo/sshd/sshd.pid
AuthorizedKeysFile $demo/sshd/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
LogLevel ERROR
CONFIG
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$demo/sshd/sshd_config" 2>"$demo/sshd/sshd.log" &
sshd_pid=$!
trap 'kill "$sshd_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  kill -0 "$sshd_pid" 2>/dev/null || { echo "   (sshd would not start here: the SFTP part of the demo is skipped)"; cat "$demo/sshd/sshd.log"; exit 0; }
  sleep 0.1
done
echo "[127.0.0.1]:$port $(cat "$demo/sshd/host_ed25519.pub")" > "$demo/known_hosts"
cp inbox/platform/* "$demo/remote/outgoing/"

# reckon.yaml with absolute paths, the platform's drop on the server, its set delivered there.
awk -v root="$root" -v demo="$demo" -v port="$port" -v user="$(id -un)" '
  /^    drop: inbox\/platform$/ {
    print "    drop:"
    print "      folder: " demo "/inbox/platform"
    print "      sftp: {host: 127.0.0.1, port: " port ", user: " user ", key: " demo "/user_ed25519, known_hosts: " demo "/known_hosts, path: " demo "/remote/outgoing}"
    next
  }
  /^      done: "RECKON_\{yyyyMMdd\}.done"$/ && !delivered { print; print "      deliver: {path: " demo "/remote/incoming}"; delivered = 1; next }
  { gsub("spec: mappings/", "spec: " root "/mappings/"); gsub(" data/", " " root "/data/"); gsub("drop: inbox/", "drop: " root "/inbox/"); print }
' reckon.yaml > "$demo/reckon.yaml"

for day in 20241106 20241113 20241116; do
  "$reckon" batch --date "$day" --config "$demo/reckon.yaml" 2>/dev/null | tail -1 | cut -c1-100
done
"$reckon" run --date 2024-12-16 --settle --exit-when-idle --config "$demo/reckon.yaml" 2>&1 | sed 's/^/  /'
echo "   delivered to the platform's server ($demo/remote/incoming):"
ls -l "$demo/remote/incoming" | grep -v '^total' | sed 's/^/     /'
