#!/bin/bash -e
# overlayroot works from the initramfs: make sure the image boots one that contains its hook.
if ! grep -q '^auto_initramfs=1' /boot/firmware/config.txt 2>/dev/null; then
	echo 'auto_initramfs=1' >> /boot/firmware/config.txt
fi
update-initramfs -u -k all
