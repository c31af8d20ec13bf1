#!/usr/bin/env bash
# Install the Debian packages supervise builds and tests with.
#   scripts/setup.sh        build + test dependencies
#   scripts/setup.sh --vm   also what the qemu pure-cgroup-v2 lane needs
# As root, missing packages are installed with apt-get; otherwise the script
# says what to install and fails.
set -euo pipefail

# libclang-rt-dev: libFuzzer and the sanitizer runtimes of Debian's default
# clang (tests/fuzz: make fuzz, and the corpus replay in make check).
pkgs=(gcc make clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
      libjson-c-dev libseccomp-dev libcap-dev libinih-dev libcriterion-dev libclang-rt-dev
      libmicrohttpd-dev libncurses-dev)
# What the operators' tests drive: a terminal, a Prometheus server, a browser.
pkgs+=(tmux prometheus chromium cmark curl)
vm_pkgs=(qemu-system-x86 busybox-static cpio gzip)
[ "${1:-}" = "--vm" ] && pkgs+=("${vm_pkgs[@]}")
# cmark-gfm, python3-yaml: test_ci (the step summary's tables, action.yml)
pkgs+=(cmark-gfm python3-yaml)
# The real build shapes (test_realbuild: cmake with both generators, an old
# ninja, libtool trees), the sandbox's tests (strace under --sandbox, setcap
# for a file-capability binary), users made by the multi-user tests.
pkgs+=(cmake ninja-build libtool strace libcap2-bin python3 passwd util-linux)
# A JVM: test_advice shows what its users see (the "Picked up
# JAVA_TOOL_OPTIONS" banner, and none with --advice all,-jvm).
pkgs+=(default-jre-headless)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages: ${missing[*]}" >&2
	echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "setup: missing packages ${missing[*]} and no apt-get on this host; install their equivalents" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
