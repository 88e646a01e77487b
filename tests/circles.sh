# No circle between the source files of core/: A -> B when an object built
# from A needs (nm: undefined) a symbol that an object built from B defines.
# Every object under the build tree's core/, at any depth, is a node named
# by its source file: core/pool/.libs/libtpcore_la-sched.o and
# core/pool/libtpcore_la-sched.o are both core/pool/sched.c (automake's
# "TARGET-" prefix dropped, libtool's .libs/ too, the directory kept).  No
# file or folder is named here, so files can move.  Prints every shortest
# circle through an edge that is on one ("circle: a.c -> b.c -> a.c"),
# then those edges with the symbols that make them.  Exit 1 if there is a
# circle (or a symbol two files define that link together), 0 if none, 77
# if there is no nm or no object.  A self-test first builds throwaway
# objects with $CC, so that the check cannot pass by seeing nothing.
# Standalone: top_builddir=. bash tests/circles.sh
: "${top_builddir:?run through make check, or: top_builddir=. bash tests/circles.sh}"
# lib.sh wants the host's path; this test does not run it
: "${TASKPOOL:=$top_builddir/taskpool}"
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v nm >/dev/null 2>&1; then
    echo "SKIP: no nm (binutils)"
    exit 77
fi

# symbols ROOT SRC: "NODE TARGET TYPE SYMBOL" for every external symbol of
# every object under ROOT/core; TARGET is "-" for an object without the
# prefix (a target with no per-target flags).  An object whose source is
# not in SRC (when SRC is given) is left from before a move: it is skipped,
# saying so on stderr.
symbols() {
    find "$1/core" -name '*.o' -type f 2>/dev/null | LC_ALL=C sort |
    while IFS= read -r obj; do
        rel=${obj#"$1"/}
        dir=$(dirname "$rel" | sed -E 's#(^|/)[._]libs$##; s#/[._]libs/#/#g')
        base=$(basename "$rel" .o)
        target=-
        name=$base
        # automake's canonical target names have no "-": the first one ends
        # the prefix, unless the whole name is the source's
        case $base in
        *-*)
            if [ -z "$2" ] || [ ! -f "$2/$dir/$base.c" ]; then
                target=${base%%-*}
                name=${base#*-}
            fi
            ;;
        esac
        node=$dir/$name.c
        if [ -n "$2" ] && [ ! -f "$2/$node" ]; then
            printf 'note: %s skipped: no source %s (left from a move?)\n' \
                "$rel" "$node" >&2
            continue
        fi
        nm -g -P "$obj" >"$tmp/nm" || fail "nm $obj"
        awk -v node="$node" -v target="$target" \
            'NF >= 2 { print node, target, $2, $1 }' "$tmp/nm"
    done
}

# circles: reads symbols' lines, prints the circles and their edges; exit 1
# if there is one (or a duplicate definition), 0 if none
circles() {
    awk '
    function add(list, word) { return list == "" ? word : list " " word }
    # the words of a list, sorted (insertion sort: the lists are short)
    function sorted(list,   w, n, i, j, t, out) {
        n = split(list, w, " ")
        for (i = 2; i <= n; i++) {
            t = w[i]
            for (j = i - 1; j >= 1 && w[j] > t; j--) w[j + 1] = w[j]
            w[j + 1] = t
        }
        out = ""
        for (i = 1; i <= n; i++) if (i == 1 || w[i] != w[i - 1]) out = add(out, w[i])
        return out
    }
    # files A and B built for a same program or library?
    function shared(a, b,   t, n, i) {
        n = split(tg[a], t, " ")
        for (i = 1; i <= n; i++) if ((b, t[i]) in has) return 1
        return 0
    }
    # a program-only node: every target known and none a libtool library
    function program(a,   t, n, i) {
        if (notarget[a] || tg[a] == "") return 0
        n = split(tg[a], t, " ")
        for (i = 1; i <= n; i++) if (t[i] ~ /_la$/) return 0
        return 1
    }
    {
        node = $1; target = $2; type = $3; sym = $4
        if (!(node in seen)) { seen[node] = 1; nodes = add(nodes, node) }
        if (target == "-") notarget[node] = 1
        else if (!((node, target) in has)) {
            has[node, target] = 1; tg[node] = add(tg[node], target)
        }
        # with nm -g: U, w and v are undefined; anything else is defined
        # here (T, D, B, R, ... also when hidden: visibility is not a type)
        if (type == "U" || type == "w" || type == "v") und[node, sym] = 1
        else if (!((node, sym) in def)) {
            def[node, sym] = 1; defs[sym] = add(defs[sym], node)
        }
    }
    END {
        n = split(sorted(nodes), name, " ")
        for (i = 1; i <= n; i++) id[name[i]] = i
        bad = 0
        # a symbol defined in several files: legitimate only if they are
        # files of different programs (each its own main), never linked
        # together; then A needs it from the one in its own program
        for (sym in defs) {
            k = split(defs[sym], d, " ")
            if (k < 2) continue
            legit = 1
            for (i = 1; i <= k && legit; i++) {
                if (!program(d[i])) legit = 0
                for (j = i + 1; j <= k && legit; j++)
                    if (shared(d[i], d[j])) legit = 0
            }
            if (legit) dup[sym] = 1
            else {
                printf "duplicate: %s is defined in %s\n", sym, sorted(defs[sym])
                bad = 1
            }
        }
        for (key in und) {
            split(key, p, SUBSEP); a = p[1]; sym = p[2]
            if (!(sym in defs) || ((a, sym) in def)) continue
            k = split(defs[sym], d, " ")
            for (i = 1; i <= k; i++) {
                if (d[i] == a || (sym in dup && !shared(a, d[i]))) continue
                u = id[a]; v = id[d[i]]
                edge[u, v] = 1; esym[u, v] = add(esym[u, v], sym)
            }
        }
        for (u = 1; u <= n; u++)
            for (v = 1; v <= n; v++)
                if ((u, v) in edge) adj[u] = add(adj[u], v)
        # breadth first from every node: dist[s, x], and prev[s, x] on a
        # shortest path from s to x (neighbours in name order: stable)
        for (s = 1; s <= n; s++) {
            head = 1; tail = 0; q[++tail] = s; dist[s, s] = 0
            while (head <= tail) {
                x = q[head++]
                k = split(adj[x], nb, " ")
                for (i = 1; i <= k; i++) {
                    y = nb[i] + 0
                    if ((s, y) in dist) continue
                    dist[s, y] = dist[s, x] + 1; prev[s, y] = x; q[++tail] = y
                }
            }
        }
        # for every edge u -> v on a circle (v reaches u), the shortest
        # circle through it, written from its first file in name order
        ncirc = 0
        for (u = 1; u <= n; u++) {
            k = split(adj[u], nb, " ")
            for (i = 1; i <= k; i++) {
                v = nb[i] + 0
                if (!((v, u) in dist)) continue
                onc[u, v] = 1
                # the path v ... u, backwards from u
                m = 0
                for (x = u; x != v; x = prev[v, x]) path[++m] = x
                path[++m] = v
                c = 0; cyc[++c] = u
                for (j = m; j >= 2; j--) cyc[++c] = path[j]
                # rotate to start at the smallest
                lo = 1
                for (j = 2; j <= c; j++) if (cyc[j] < cyc[lo]) lo = j
                line = ""
                for (j = 0; j < c; j++) line = line name[cyc[(lo - 1 + j) % c + 1]] " -> "
                line = line name[cyc[lo]]
                if (line in printed) continue
                printed[line] = 1
                circ[++ncirc] = line; clen[ncirc] = c
            }
        }
        # shortest first, then by name
        for (i = 2; i <= ncirc; i++) {
            t = circ[i]; tl = clen[i]
            for (j = i - 1; j >= 1 && (clen[j] > tl || (clen[j] == tl && circ[j] > t)); j--) {
                circ[j + 1] = circ[j]; clen[j + 1] = clen[j]
            }
            circ[j + 1] = t; clen[j + 1] = tl
        }
        for (i = 1; i <= ncirc; i++) print "circle: " circ[i]
        if (ncirc) {
            print "the edges on a circle, with the symbols that make them:"
            for (u = 1; u <= n; u++)
                for (v = 1; v <= n; v++)
                    if ((u, v) in onc)
                        printf "  %s -> %s: %s\n", name[u], name[v], sorted(esym[u, v])
        }
        exit ((ncirc || bad) ? 1 : 0)
    }'
}

# --- the self-test: throwaway objects laid out like the build's
CC=${CC:-cc}
self=$tmp/self
# obj DIR/OBJECT.o SOURCE-TEXT [CFLAGS]: compile the text to that object
obj() {
    mkdir -p "$(dirname "$self/$1")" &&
    printf '%s\n' "$2" >"$tmp/t.c" &&
    $CC ${3:-} -c "$tmp/t.c" -o "$self/$1" || fail "self-test: cannot build $1 with $CC"
}
expect_circles() {
    symbols "$self/$1" "" >"$tmp/syms" || exit 1
    [ -s "$tmp/syms" ] || fail "self-test $1: no symbols found"
    circles <"$tmp/syms" >"$tmp/self.out"
    check "self-test $1 status" "$2" "$?"
    check "self-test $1 circles" "$3" "$(grep '^circle: ' "$tmp/self.out")"
}
# two files needing each other, hidden as the library is, each built twice
# (PIC and not, as libtool does; and for a program): one circle, and
# same-named static functions in both are no edge
hidden=-fvisibility=hidden
obj two/core/.libs/libx_la-a.o 'int b(void); static int s(void) { return 1; } int a(void) { return b() + s(); }' "$hidden -fPIC"
obj two/core/libx_la-a.o 'int b(void); static int s(void) { return 1; } int a(void) { return b() + s(); }' "$hidden"
obj two/core/.libs/libx_la-b.o 'int a(void); static int s(void) { return 2; } int b(void) { return s() ? 0 : a(); }' "$hidden -fPIC"
obj two/core/prog-b.o 'int a(void); static int s(void) { return 2; } int b(void) { return s() ? 0 : a(); }'
obj two/core/q/c.o 'int a(void); int main(void) { return a(); }'
expect_circles two 1 "circle: core/a.c -> core/b.c -> core/a.c"
# one way only: none
obj one/core/a.o 'int b(void); int a(void) { return b(); }'
obj one/core/sub/.libs/libx_la-b.o 'int bdata = 3; int b(void) { return bdata; }'
expect_circles one 0 ""
# five files in two folders, a data symbol on the way: both shortest
# circles, shortest first; a file that only needs one of them is on none
obj folders/core/p/.libs/libx_la-a.o 'int b(void); int a(void) { return b(); }'
obj folders/core/q/.libs/libx_la-b.o 'int a(void); int c(void); int b(void) { return a() + c(); }'
obj folders/core/q/.libs/libx_la-c.o 'extern int ddata; int c(void) { return ddata; }'
obj folders/core/p/.libs/libx_la-d.o 'int b(void); int ddata = 1; int d(void) { return b(); }'
obj folders/core/p/.libs/libx_la-e.o 'int c(void); int e(void) { return c(); }'
expect_circles folders 1 "circle: core/p/a.c -> core/q/b.c -> core/p/a.c
circle: core/p/d.c -> core/q/b.c -> core/q/c.c -> core/p/d.c"
# the same symbol in two files linked together is reported; main in two
# programs is not
obj dup/core/.libs/libx_la-a.o 'int x(void) { return 1; }'
obj dup/core/.libs/libx_la-b.o 'int x(void) { return 2; }'
obj dup/core/p1-m.o 'int main(void) { return 0; }'
obj dup/core/p2-n.o 'int main(void) { return 0; }'
symbols "$self/dup" "" >"$tmp/syms" || exit 1
circles <"$tmp/syms" >"$tmp/self.out"
check "self-test dup status" 1 "$?"
check "self-test dup report" "duplicate: x is defined in core/a.c core/b.c" "$(cat "$tmp/self.out")"

# --- the build
symbols "$top_builddir" "$src" >"$tmp/syms" || exit 1
if [ ! -s "$tmp/syms" ]; then
    echo "SKIP: no object under $top_builddir/core (build first)"
    exit 77
fi
printf 'files: %s\n' "$(cut -d' ' -f1 "$tmp/syms" | sort -u | wc -l)"
circles <"$tmp/syms"
