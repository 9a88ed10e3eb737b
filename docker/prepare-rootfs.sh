#!/usr/bin/env bash
# prepare-rootfs.sh BINARY DIR: lays out DIR/rootfs, the whole file system of
# the ecsbox image, which is FROM scratch:
#
#   usr/local/bin/ecsbox        BINARY, stripped
#   lib.../, lib64/...          exactly the shared libraries `ldd` lists for
#                               it, and the dynamic loader, at the same paths
#   etc/passwd, etc/group       root and `nonroot` (65532, as distroless names it)
#   tmp/                        mode 1777
#
# Used by scripts/build-image.sh on the host and by the top-level Dockerfile
# in its build stage, so both images have the same layout.
set -euo pipefail

binary=${1:?usage: prepare-rootfs.sh BINARY DIR}
root=${2:?usage: prepare-rootfs.sh BINARY DIR}/rootfs

die() { echo "prepare-rootfs: $*" >&2; exit 1; }

# The absolute paths of the libraries ldd resolves, and the loader. A library
# ldd cannot find is an error: the image would not start.
shared_libraries() {
    local out
    out="$(ldd "$binary")" || die "ldd $binary failed: $out"
    if grep -q 'not found' <<<"$out"; then
        die "ldd cannot resolve every library of $binary:"$'\n'"$out"
    fi
    # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out" | sort -u
}

mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp"
cp "$binary" "$root/usr/local/bin/ecsbox"
strip "$root/usr/local/bin/ecsbox"
while read -r lib; do
    # Following symlinks: the file itself, at the path the loader looks for.
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done < <(shared_libraries)
chmod 1777 "$root/tmp"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
    > "$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' > "$root/etc/group"
