#!/bin/bash -e
# Runs inside the image (arm64, under qemu on an x86 host).
# The fixed booth user: camera and screen (video, render), button and LEDs (gpio), touch screen and
# keyboard-wedge readers (input), USB-serial SAM readers (dialout). No login, no home.
if ! id booth >/dev/null 2>&1; then
	useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin booth
fi
for group in video render gpio input dialout; do
	getent group "${group}" >/dev/null || groupadd --system "${group}"
done
usermod --append --groups video,render,gpio,input,dialout booth

# No swap: swapping wears out the SD card, and the booth's memory is known (peak RSS ~210 MB).
for package in dphys-swapfile rpi-swap; do
	if dpkg -s "${package}" >/dev/null 2>&1; then
		apt-get purge -y "${package}"
	fi
done
systemctl mask swap.target

# Console autologin off (raspi-config's B1: console, login required).
rm -f /etc/systemd/system/getty@tty1.service.d/autologin.conf
if command -v raspi-config >/dev/null; then
	raspi-config nonint do_boot_behaviour B1
fi

systemctl enable ssh booth-datafs.service pcscd.socket
