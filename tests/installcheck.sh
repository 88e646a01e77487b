# After `make install` (make installcheck; distcheck runs it): build the
# README's example plugin out of tree with the README's exact commands,
# against the installed taskpool, and run it through the installed host.
# Needs: README, PKG_CONFIG_PATH and PATH pointing at the installation.
set -eu
readme=$1
tmp=$(mktemp -d)
plugindir=$(pkg-config --variable=plugindir taskpool)
trap 'rm -rf "$tmp"; rm -f "$plugindir/mine.so"' EXIT

# the C block and the out-of-tree command block of "## Writing a plugin"
sed -n '/^## Writing a plugin/,/^## Embedding/p' "$readme" >"$tmp/guide"
awk '/^```c$/ {on = 1; next} /^```$/ {if (on) exit} on' "$tmp/guide" >"$tmp/mine.c"
awk '/^\*\*Out of tree\*\*/ {seen = 1} seen && /^```$/ {if (on) exit; on = 1; next} on' \
    "$tmp/guide" >"$tmp/recipe.sh"
grep -q TASKPOOL_PLUGIN "$tmp/mine.c" || { echo "no plugin source in README" >&2; exit 1; }
grep -q 'pkg-config --cflags taskpool' "$tmp/recipe.sh" || { echo "no recipe in README" >&2; exit 1; }

out=$(cd "$tmp" && sh -e recipe.sh)
want=$(printf '1\n4\n9')
[ "$out" = "$want" ] || { printf 'FAIL: out-of-tree plugin printed:\n%s\n' "$out" >&2; exit 1; }
echo "PASS: out-of-tree plugin built with the README recipe runs under the installed taskpool"
