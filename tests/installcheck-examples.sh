# After `make install` (make installcheck; distcheck runs it): build and
# check each example of examples/ against the installed taskpool, as a
# user would from a copy of its directory: `make`, `make check` (its
# smoke test), then `make install` into the plugin directory, a run by
# name, and `make uninstall`.
#   installcheck-examples.sh EXAMPLES_DIR PREFIX
# The environment for the prefix is the tutorial's (PATH, PKG_CONFIG_PATH).
set -eu
examples=$(cd "$1" && pwd)
prefix=$2
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
export PATH="$prefix/bin:$PATH"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plugindir=$(pkg-config --variable=plugindir taskpool)

for ex in template files; do
    cp -R "$examples/$ex" "$tmp/$ex"
    chmod -R u+w "$tmp/$ex" # distcheck's source tree is read-only
    (cd "$tmp/$ex" && make >"$tmp/$ex.log" 2>&1 && make check >>"$tmp/$ex.log" 2>&1) ||
        fail "$(printf 'examples/%s: make check failed:\n%s' "$ex" "$(cat "$tmp/$ex.log")")"
    grep '^PASS' "$tmp/$ex.log" | sed "s|^PASS: |PASS: examples/$ex: make check: |"
done

# installed by its Makefile, found by name, removed again
(cd "$tmp/template" && make install >/dev/null) || fail "examples/template: make install"
out=$(cd / && taskpool --init-arg 3 scale:by 1 2) || { (cd "$tmp/template" && make uninstall >/dev/null); fail "scale:by from $plugindir"; }
(cd "$tmp/template" && make uninstall >/dev/null)
[ ! -e "$plugindir/scale.so" ] || fail "examples/template: make uninstall left $plugindir/scale.so"
[ "$out" = "$(printf '3\n6')" ] || fail "installed scale:by printed: $out"
echo "PASS: examples/template: make install puts it where taskpool finds it by name, make uninstall removes it"
