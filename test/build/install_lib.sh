# test/build/install_lib.sh - sourced by the install and CMake tests:
# installs the build tree ($1) into a temporary directory and points
# pkg-config at it.  Sets tmp, dest, pcdir, libdir.
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
if ! meson install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "FAIL: meson install"
	exit 1
fi
pc=$(find "$dest" -name weft.pc | head -1)
if [ -z "$pc" ]; then
	echo "FAIL: no weft.pc installed"
	exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
# The .pc file names the configured prefix; the sysroot maps it into $dest.
export PKG_CONFIG_LIBDIR=$pcdir
export PKG_CONFIG_SYSROOT_DIR=$dest
