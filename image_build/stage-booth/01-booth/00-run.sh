#!/bin/bash -e
# The project (a `git archive` of the checkout that build.sh made) and its systemd units.
install -d -m 0755 "${ROOTFS_DIR}/opt/booth/src"
tar -xf files/booth-src.tar -C "${ROOTFS_DIR}/opt/booth/src"
install -m 0644 "${ROOTFS_DIR}/opt/booth/src/README.md" "${ROOTFS_DIR}/opt/booth/README.md"
for unit in booth.service booth-provision.service booth-unprovisioned.service booth-retention.service \
	booth-retention.timer; do
	install -m 0644 "${ROOTFS_DIR}/opt/booth/src/systemd/${unit}" "${ROOTFS_DIR}/etc/systemd/system/${unit}"
done
