#!/usr/bin/env bash
# Runs test files in a VM whose only cgroup hierarchy is cgroup v2 with every controller: this machine
# has v1 controllers, so the v2 paths of src/cgroups can only be exercised this way. On demand, not CI.
#
#   bash scripts/cgroup-v2-vm.sh test/integration/lifecycle.test.ts test/integration/cgroups.test.ts ...
#
# The VM (qemu, software emulation) boots Debian's kernel with cgroup_no_v1=all and this machine's own
# root as a read-only 9p filesystem; a tmpfs copy of the project (with its build) runs the tests. It
# needs apt (qemu-system-x86, kmod, a linux-image .deb) and busybox-static; it writes only under $WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$(pwd)
WORK=${BERTH_VM_DIR:-/var/tmp/berth-v2-vm}
(($#)) || { echo "usage: $0 TEST_FILE... [-t PATTERN]" >&2; exit 2; }
mkdir -p "$WORK"

command -v qemu-system-x86_64 >/dev/null || apt-get install -y -qq qemu-system-x86 >/dev/null
command -v depmod >/dev/null || apt-get install -y -qq kmod >/dev/null
if [ ! -d "$WORK/kernel" ]; then
  # The newest Debian 12 kernel image; only its vmlinuz and a few modules are used.
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  (cd "$WORK" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg-deb -x ./"$pkg"_*.deb kernel && rm -f ./"$pkg"_*.deb)
fi
KVER=$(ls "$WORK/kernel/lib/modules")
MODS="$WORK/kernel/lib/modules/$KVER/kernel"

# The initramfs: busybox, the modules for virtio 9p and overlayfs, and an init that mounts our root.
rm -rf "$WORK/initrd" && mkdir -p "$WORK/initrd"/{bin,mod,proc,sys,dev,host}
cp /bin/busybox "$WORK/initrd/bin/"
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_legacy_dev \
         drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/fscache/fscache fs/netfs/netfs \
         net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
  cp "$MODS/$m.ko" "$WORK/initrd/mod/"
done
cat > "$WORK/initrd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# The modules need each other; a few passes load them in an order that works.
for pass in 1 2 3 4; do for m in /mod/*.ko; do insmod "\$m" 2>/dev/null && rm "\$m"; done; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host || { echo "vm: 9p mount failed"; poweroff -f; }
umount /proc /sys; mount --move /dev /host/dev
exec switch_root /host /bin/bash $WORK/stage2.sh
INIT
chmod +x "$WORK/initrd/init"
(cd "$WORK/initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip > ../initrd.gz)

# Stage 2 runs as pid 1 on our root: a writable copy of the project, then the tests, then power off.
printf '%s\n' "$@" > "$WORK/tests"
cat > "$WORK/stage2.sh" <<STAGE2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t cgroup2 none /sys/fs/cgroup
for d in /tmp /run /var/lib; do mount -t tmpfs tmpfs \$d; done
mkdir -p /dev/pts /dev/shm; mount -t devpts -o ptmxmode=0666,newinstance devpts /dev/pts; mount -t tmpfs shm /dev/shm
# The kernel's own modules (bridge, veth, nf_tables...): our root has no /lib/modules, so they go under
# /tmp, and the kernel's module requests go through a modprobe that looks there.
mkdir -p /tmp/kmods/lib/modules && cp -a "$WORK/kernel/lib/modules/$KVER" /tmp/kmods/lib/modules/
depmod -b /tmp/kmods "$KVER"
printf '#!/bin/sh\nexec /sbin/modprobe -d /tmp/kmods "\$@"\n' > /tmp/kmods/modprobe && chmod +x /tmp/kmods/modprobe
echo /tmp/kmods/modprobe > /proc/sys/kernel/modprobe
for m in bridge veth nf_tables nft_chain_nat nft_compat xt_MASQUERADE xt_nat xt_addrtype xt_conntrack xt_comment xt_tcpudp; do
  /tmp/kmods/modprobe "\$m" || echo "vm: modprobe \$m failed"
done
ip link set lo up 2>/dev/null || true
echo "vm: kernel \$(uname -r); cgroup v2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
mkdir /tmp/berth && (cd "$PROJECT" && tar --exclude=.git -cf - .) | tar -C /tmp/berth -xf -
cd /tmp/berth
mapfile -t args < "$WORK/tests"
timeout 3000 node node_modules/vitest/vitest.mjs run "\${args[@]}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
echo "vm: done"
poweroff -f
STAGE2

timeout 3600 qemu-system-x86_64 -m 4096 -smp 2 -nographic -no-reboot \
  -kernel "$WORK/kernel/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap 2>&1 \
  | sed -n '/vm: kernel/,$p'
