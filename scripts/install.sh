#!/usr/bin/env bash
# Quick start, as root on Debian 12: installs what the machine lacks, builds Berth (addon, monitor,
# TypeScript), puts berth and berthd on PATH, starts berthd, and imports the busybox image.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "install: run as root (berthd creates namespaces and mounts)" >&2; exit 1; }

need=()
for tool in g++ make python3; do command -v "$tool" >/dev/null || need+=("$tool"); done
command -v busybox >/dev/null && ldd "$(command -v busybox)" 2>&1 | grep -qE 'not a dynamic|statically' || need+=(busybox-static)
# The bridge network's NAT and published ports.
command -v iptables >/dev/null || need+=(iptables)
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
ln -sf "$PWD/bin/berth" /usr/local/bin/berth
ln -sf "$PWD/bin/berthd" /usr/local/bin/berthd

root=${BERTH_ROOT:-/var/lib/berth}
sock=${BERTH_SOCKET:-/run/berth/berth.sock}
if ! berth --host "unix://$sock" version >/dev/null 2>&1; then
  mkdir -p /var/log
  # A session of its own: berthd outlives the shell (and the process group) that ran this script.
  setsid nohup berthd --root "$root" --listen "unix://$sock" >>/var/log/berthd.log 2>&1 < /dev/null &
  # Wait until it answers: a socket file alone may be one a killed daemon left behind.
  for _ in $(seq 100); do berth --host "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  berth --host "unix://$sock" version >/dev/null 2>&1 || { echo "install: berthd did not start; see /var/log/berthd.log" >&2; exit 1; }
fi
echo "install: berthd is serving on unix://$sock (log: /var/log/berthd.log)"

if ! berth --host "unix://$sock" inspect busybox >/dev/null 2>&1; then
  mkdir -p test/.cache
  [[ -f test/.cache/busybox.tar ]] || bash scripts/build-busybox-rootfs.sh test/.cache/busybox.tar >/dev/null
  berth --host "unix://$sock" import test/.cache/busybox.tar busybox --change 'CMD ["sh"]' >/dev/null
fi
echo "install: try: berth run --rm busybox echo hello"
