#!/bin/bash
# Build the booth's SD-card image with pi-gen: Raspberry Pi OS Lite (arm64) + stage-booth.
#
#   image_build/build.sh --pi-gen DIR --ssh-key FILE [--release bookworm|trixie] [--check]
#
# Checks every prerequisite first and, when one is missing, names each missing piece and how to get
# it, then exits 2 without building. --check stops after the checks. The image lands in DIR/deploy/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "${here}/.." && pwd)
pigen=${PI_GEN_DIR:-}
ssh_key=${BOOTH_SSH_KEY:-}
release=bookworm
check_only=0
min_free_gb=12  # pi-gen's work folder for a Lite image plus one stage: ~8 GB, with room to spare

usage() {
	sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
	case "$1" in
		--pi-gen) pigen=${2:?--pi-gen needs a folder}; shift 2 ;;
		--ssh-key) ssh_key=${2:?--ssh-key needs a file}; shift 2 ;;
		--release) release=${2:?--release needs bookworm or trixie}; shift 2 ;;
		--check) check_only=1; shift ;;
		-h|--help) usage; exit 0 ;;
		*) echo "build.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

missing=()
need() {  # need WHAT HOW: record a missing prerequisite
	missing+=("$1: $2")
}

case "${release}" in
	bookworm|trixie) ;;
	*) need "release '${release}'" "use --release bookworm or --release trixie" ;;
esac

if [ -z "${pigen}" ]; then
	need "pi-gen checkout" "git clone --branch arm64 https://github.com/RPi-Distro/pi-gen (bookworm; master for trixie), then --pi-gen DIR"
elif [ ! -x "${pigen}/build.sh" ] || [ ! -f "${pigen}/depends" ]; then
	need "pi-gen checkout at ${pigen}" "no build.sh and depends there: clone pi-gen into it"
else
	# pi-gen's own list of host tools: words "tool[:debian-package]", '#' starts a comment.
	while IFS= read -r line; do
		for dep in ${line%%#*}; do
			tool=${dep%%:*}
			package=${dep#*:}
			command -v "${tool}" >/dev/null 2>&1 || need "host tool ${tool}" "apt-get install ${package}"
		done
	done < "${pigen}/depends"
	avail_kb=$(df --output=avail -k "${pigen}" | tail -n 1 | tr -d ' ')
	if [ "${avail_kb}" -lt $((min_free_gb * 1024 * 1024)) ]; then
		need "free disk space" "$((avail_kb / 1024 / 1024)) GB free under ${pigen}, pi-gen needs about ${min_free_gb} GB"
	fi
fi

if [ "$(id -u)" -ne 0 ]; then
	need "root" "pi-gen mounts loop devices and chroots: run build.sh with sudo"
fi
if [ "$(uname -m)" != "aarch64" ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
	need "arm64 emulation (binfmt qemu-aarch64)" "apt-get install qemu-user-static binfmt-support; then update-binfmts --enable qemu-aarch64"
fi
if [ -z "${ssh_key}" ]; then
	need "technician SSH public key" "--ssh-key ~/.ssh/id_ed25519.pub (SSH is by key only)"
elif ! grep -qE '^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp[0-9]+) ' "${ssh_key}" 2>/dev/null; then
	need "technician SSH public key ${ssh_key}" "not readable or not an OpenSSH public key (ssh-keygen -t ed25519)"
fi
command -v git >/dev/null 2>&1 || need "git" "apt-get install git (the image gets a git archive of this checkout)"

if [ "${#missing[@]}" -gt 0 ]; then
	echo "build.sh: cannot build the booth image; missing:" >&2
	for item in "${missing[@]}"; do
		echo "  - ${item}" >&2
	done
	exit 2
fi
echo "build.sh: all prerequisites present (pi-gen at ${pigen}, ${release}, arm64)"
if [ "${check_only}" -eq 1 ]; then
	exit 0
fi

# The project as committed (uncommitted changes are not part of an image).
git -C "${repo}" archive --format=tar -o "${here}/stage-booth/01-booth/files/booth-src.tar" HEAD
# stage2 is Raspberry Pi OS Lite; its own image is not needed, only ours.
touch "${pigen}/stage2/SKIP_IMAGES"
cat > "${pigen}/config" <<CONFIG
IMG_NAME=diploma-booth
RELEASE=${release}
ARCH=arm64
DEPLOY_COMPRESSION=xz
STAGE_LIST="stage0 stage1 stage2 ${here}/stage-booth"
TARGET_HOSTNAME=booth
LOCALE_DEFAULT=zh_CN.UTF-8
KEYBOARD_KEYMAP=us
KEYBOARD_LAYOUT="English (US)"
TIMEZONE_DEFAULT=Asia/Shanghai
FIRST_USER_NAME=technician
FIRST_USER_PASS=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
DISABLE_FIRST_BOOT_USER_RENAME=1
ENABLE_SSH=1
PUBKEY_SSH_FIRST_USER="$(cat "${ssh_key}")"
PUBKEY_ONLY_SSH=1
CONFIG
chmod 0600 "${pigen}/config"
cd "${pigen}"
./build.sh -c config
echo "build.sh: done; the image is in ${pigen}/deploy/"
