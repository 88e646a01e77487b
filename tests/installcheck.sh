# After `make install` (make installcheck; distcheck runs it): build the
# README's example plugin and embedding program out of tree with the
# README's exact commands, against the installed taskpool, and run them
# through the installed host and library.
# Needs: README, PKG_CONFIG_PATH and PATH pointing at the installation.
set -eu
readme=$1
tmp=$(mktemp -d)
plugindir=$(pkg-config --variable=plugindir taskpool)
trap 'rm -rf "$tmp"; rm -f "$plugindir/mine.so"' EXIT

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# the C block and the out-of-tree command block of "## Writing a plugin"
sed -n '/^## Writing a plugin/,/^## Embedding/p' "$readme" >"$tmp/guide"
awk '/^```c$/ {on = 1; next} /^```$/ {if (on) exit} on' "$tmp/guide" >"$tmp/mine.c"
awk '/^\*\*Out of tree\*\*/ {seen = 1} seen && /^```$/ {if (on) exit; on = 1; next} on' \
    "$tmp/guide" >"$tmp/recipe.sh"
grep -q TASKPOOL_PLUGIN "$tmp/mine.c" || fail "no plugin source in README"
grep -q 'pkg-config --cflags taskpool' "$tmp/recipe.sh" || fail "no recipe in README"

out=$(cd "$tmp" && sh -e recipe.sh)
want=$(printf '1\n4\n9')
[ "$out" = "$want" ] || fail "$(printf 'out-of-tree plugin printed:\n%s' "$out")"
echo "PASS: out-of-tree plugin built with the README recipe runs under the installed taskpool"

# the example's overflow check: a failed input with its message, exit 1
rc=0
out=$(taskpool mine:square 3 9223372036854775807 2>"$tmp/err") || rc=$?
[ "$rc" = 1 ] && [ "$out" = 9 ] ||
    fail "square of INT64_MAX: exit $rc, printed '$out'"
[ "$(cat "$tmp/err")" = "taskpool: input 2 (9223372036854775807): square out of range" ] ||
    fail "square of INT64_MAX said: $(cat "$tmp/err")"
# the kernel that needs libm loads: the recipe links what the plugin uses
out=$(taskpool mine:sine 0) || fail "mine:sine did not run"
[ "$out" = 0.000000 ] || fail "mine:sine 0 printed '$out'"
echo "PASS: the README plugin fails an input whose square overflows, and links libm"

# "## Embedding": the program and its build-and-run block, in a directory
# of their own beside a copy of the plugin (found through
# TASKPOOL_PLUGIN_PATH=$PWD, as the README runs it)
sed -n '/^## Embedding/,/^## Layout/p' "$readme" >"$tmp/embed"
mkdir "$tmp/e"
awk '/^```c$/ {on = 1; next} /^```$/ {if (on) exit} on' "$tmp/embed" >"$tmp/e/map.c"
awk '/^```c$/ {c = 1; next} c && /^```$/ {if (on) exit; if (done) on = 1; else done = 1; next} on' \
    "$tmp/embed" >"$tmp/e/recipe.sh"
grep -q tp_pool_open "$tmp/e/map.c" || fail "no embedding program in README"
grep -q 'pkg-config --libs taskpool' "$tmp/e/recipe.sh" || fail "no embedding recipe in README"
cp "$tmp/mine.so" "$tmp/e/mine.so"
rm -f "$plugindir/mine.so" # so that only TASKPOOL_PLUGIN_PATH finds it
out=$(cd "$tmp/e" && env -u LD_LIBRARY_PATH sh -e recipe.sh)
[ "$out" = "$want" ] || fail "$(printf 'embedding example printed:\n%s' "$out")"
rc=0
(cd "$tmp/e" && env -u TASKPOOL_PLUGIN_PATH ./map mine:square 1) >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "^map: plugin 'mine' not found" "$tmp/err" ||
    fail "map without TASKPOOL_PLUGIN_PATH: exit $rc, $(cat "$tmp/err")"
echo "PASS: the README embedding program builds with its rpath line and reads TASKPOOL_PLUGIN_PATH"
