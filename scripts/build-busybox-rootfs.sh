#!/usr/bin/env bash
# Builds a minimal busybox rootfs tar (static busybox, one symlink per applet, users root/daemon/nobody/berth)
# for tests and demos. Deterministic: the same machine and busybox binary produce the same bytes.
# Usage: scripts/build-busybox-rootfs.sh OUT.tar   (as root: it may install busybox-static and it chowns)
set -euo pipefail

die() {
  echo "build-busybox-rootfs: $*" >&2
  exit 1
}

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 OUT.tar"
out_dir=$(cd "$(dirname "$1")" 2>/dev/null && pwd) || die "output directory $(dirname "$1") does not exist"
out="$out_dir/$(basename "$1")"
[[ $EUID -eq 0 ]] || die "must run as root (installs busybox-static, sets owners in the staging tree)"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is required (--sort, --owner-map)"

busybox=/bin/busybox

# ldd says "not a dynamic executable" (static) or "statically linked" (static-pie); anything else needs a loader
# and libc that the rootfs does not have.
# ldd exits non-zero for static binaries, so look at its words, not its status.
is_static() {
  local report
  [[ -x "$busybox" ]] || return 1
  report=$(ldd "$busybox" 2>&1 || true)
  grep -qE 'not a dynamic executable|statically linked' <<<"$report"
}

if ! is_static; then
  echo "build-busybox-rootfs: $busybox missing or not static; installing busybox-static" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Retry after refreshing the package lists: a fresh container often has none.
  apt-get install -y busybox-static >&2 || { apt-get update >&2 && apt-get install -y busybox-static >&2; } ||
    die "apt-get install busybox-static failed"
  is_static || die "$busybox is still not a static binary after installing busybox-static"
fi

work=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
umask 022

# Directories first, with explicit modes so the host umask and defaults never leak into the image.
mkdir -p "$root"
for d in bin dev etc home proc root run sbin sys tmp usr usr/bin usr/sbin var; do
  mkdir -p "$root/$d"
  chmod 0755 "$root/$d"
done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
mkdir -m 0755 "$root/home/berth"
chown 1000:1000 "$root/home/berth"

install -m 0755 "$busybox" "$root/bin/busybox"

# One absolute symlink per applet, at the path busybox itself reports (bin/sh, usr/bin/env, sbin/ifconfig, ...).
applets=$("$root/bin/busybox" --list-full) || die "busybox --list-full failed"
while IFS= read -r applet; do
  [[ -n "$applet" && "$applet" != bin/busybox ]] || continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sfn /bin/busybox "$root/$applet"
done <<<"$applets"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
berth:x:1000:1000:berth:/home/berth:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
wheel:x:10:berth
nogroup:x:65534:
berth:x:1000:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"

# Every file belongs to root (--owner/--group) except what the maps name: uid/gid 1000 stays berth's.
echo '+1000 berth:1000' >"$work/owner-map"
echo '+1000 berth:1000' >"$work/group-map"

tmp_out="$out.tmp-$$"
tar -C "$root" --create --file "$tmp_out" --format=gnu --sort=name \
  --mtime='2024-01-01 00:00:00Z' --numeric-owner --owner=0 --group=0 \
  --owner-map="$work/owner-map" --group-map="$work/group-map" . ||
  { rm -f "$tmp_out"; die "tar failed"; }
mv -f "$tmp_out" "$out"
echo "$out"
