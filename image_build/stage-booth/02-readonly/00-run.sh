#!/bin/bash -e
# Read-only root: overlayroot puts a RAM overlay over it; recurse=0 leaves other mounts (the data
# partition) writable. The root is not grown at first boot: the rest of the card becomes the data
# partition (booth-datafs.service).
cmdline="${ROOTFS_DIR}/boot/firmware/cmdline.txt"
[ -f "${cmdline}" ] || cmdline="${ROOTFS_DIR}/boot/cmdline.txt"
sed -i -e 's| init=/usr/lib/raspberrypi-sys-mods/firstboot||' -e 's| init=/usr/lib/raspi-config/init_resize.sh||' \
	"${cmdline}"
if ! grep -q 'overlayroot=' "${cmdline}"; then
	sed -i '1 s|$| overlayroot=tmpfs:recurse=0|' "${cmdline}"
fi
install -D -m 0644 files/overlayroot.local.conf "${ROOTFS_DIR}/etc/overlayroot.local.conf"
