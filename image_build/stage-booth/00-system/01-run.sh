#!/bin/bash -e
# Appliance settings copied into the image (run on the build host; ROOTFS_DIR is the image's root).
# Hardware watchdog: systemd pets /dev/watchdog and the Pi resets if systemd itself hangs.
install -D -m 0644 files/watchdog.conf "${ROOTFS_DIR}/etc/systemd/system.conf.d/booth-watchdog.conf"
# journald in RAM only (an SD card wears out under log writes), size-capped so it rotates.
install -D -m 0644 files/journald.conf "${ROOTFS_DIR}/etc/systemd/journald.conf.d/booth.conf"
# SSH by key only, no root login.
install -D -m 0644 files/sshd.conf "${ROOTFS_DIR}/etc/ssh/sshd_config.d/booth.conf"
# The booth user may use the PC/SC readers through pcscd (polkit decides for session-less users).
install -D -m 0644 files/pcscd-booth.rules "${ROOTFS_DIR}/etc/polkit-1/rules.d/50-booth-pcscd.rules"
# The data partition: created on first boot in the rest of the card, mounted noatime.
install -D -m 0755 files/booth-datafs "${ROOTFS_DIR}/usr/local/sbin/booth-datafs"
install -D -m 0644 files/booth-datafs.service "${ROOTFS_DIR}/etc/systemd/system/booth-datafs.service"
if ! grep -q ' /var/lib/booth ' "${ROOTFS_DIR}/etc/fstab"; then
	cat files/fstab-data >> "${ROOTFS_DIR}/etc/fstab"
fi
install -d -m 0755 "${ROOTFS_DIR}/var/lib/booth"
