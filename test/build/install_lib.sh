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
# Packages weft.pc requires (liburing when the io_uring driver is built)
# come from the system: their folders join the search path.
sys_pcdirs=
for req in $(sed -n 's/^Requires\(\.private\)\?: *//p' "$pc" | tr ',' ' '); do
	d=$(pkg-config --variable=pcfiledir "$req" 2>/dev/null) && sys_pcdirs=$sys_pcdirs:$d
	# The sysroot below prefixes their include folder too; CMake insists
	# that it exists (it stays empty: the real headers are found as usual).
	inc=$(pkg-config --variable=includedir "$req" 2>/dev/null) && mkdir -p "$dest$inc"
done
export PKG_CONFIG_LIBDIR=$pcdir$sys_pcdirs
export PKG_CONFIG_SYSROOT_DIR=$dest
