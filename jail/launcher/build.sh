#!/bin/sh
# Rebuilds launcher.bin from launcher.c. Needs gcc for x86-64; the output is
# reproducible (no build id, no timestamps) and committed, so `go build` works
# without a C compiler. jail's TestLauncher_reproducible checks that this
# script's output matches the committed file whenever gcc is available.
set -eu
cd "$(dirname "$0")"
out=${1:-launcher.bin}
${CC:-gcc} -std=c11 -Os -static -nostdlib -ffreestanding -fno-builtin \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-pie -no-pie -fcf-protection=none -fno-ident \
	-Wall -Wextra -Werror \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,norelro -Wl,--gc-sections \
	-Wl,-z,max-page-size=4096 -s \
	-o "$out" launcher.c
