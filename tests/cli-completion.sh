# The bash completion script (completion/taskpool): long options (the same
# as --help's), option arguments, PLUGIN: then PLUGIN:TASK from
# --list --format=tsv with the -L dirs on the line.  Each case sets
# COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT as bash does and checks
# COMPREPLY exactly.  SKIP (77) without bash or bash-completion.
. "$(dirname "$0")/lib.sh"
script=$(cd "$(dirname "$0")/.." && pwd)/completion/taskpool
command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
bc=
for f in "$(pkg-config --variable=datadir bash-completion 2>/dev/null)/bash-completion/bash_completion" \
    /usr/share/bash-completion/bash_completion \
    /usr/local/share/bash-completion/bash_completion; do
    [ -f "$f" ] && { bc=$f; break; }
done
[ -n "$bc" ] || { echo "SKIP: bash-completion is not installed"; exit 77; }

# the driver: source bash-completion and the script, set COMP_*, call the
# function; compopt works only under readline, so a stand-in notes its
# arguments on fd 3
cat >"$tmp/drive.bash" <<'EOF'
bc=$1 script=$2 line=$3
shift 3
. "$bc" >/dev/null 2>&1
for f in _init_completion _filedir __ltrim_colon_completions; do
    declare -F "$f" >/dev/null || exit 77
done
. "$script" || exit 99
[[ ${WB-} ]] && COMP_WORDBREAKS=$WB
compopt() { printf 'compopt %s\n' "$*" >&3; }
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMPREPLY=()
_taskpool "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
EOF

mkdir "$tmp/cwd" "$tmp/cwd/plugdir" && : >"$tmp/cwd/input.txt" || exit 99
# comp LINE WORD...: complete at the end of LINE, whose words (as bash
# splits them at COMP_WORDBREAKS) are WORD...; sets $out (COMPREPLY, one a
# line), $nospace (yes if the reply takes no space after it) and $err
comp() {
    (cd "$tmp/cwd" && bash --norc --noprofile "$tmp/drive.bash" "$bc" \
        "$script" "$@" >"$tmp/out" 2>"$tmp/err" 3>"$tmp/opts")
    rc=$?
    [ "$rc" -eq 77 ] && { echo "SKIP: bash-completion lacks its helpers"; exit 77; }
    check "completion status: $1" 0 "$rc"
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
    check "completion stderr: $1" "" "$err"
    nospace=no
    grep -qx 'compopt -o nospace' "$tmp/opts" && nospace=yes
    return 0
}
# want LINE COMPREPLY NOSPACE WORD...
want() {
    line=$1 reply=$2 ns=$3
    shift 3
    comp "$line" "$@"
    check "COMPREPLY for '$line'" "$reply" "$out"
    check "nospace for '$line'" "$ns" "$nospace"
}
WB=$(printf ' \t\n"'"'"'><=;|&(:')  # bash's default, with ':'
export WB

# long options
want 'taskpool --ti' "--timeout=" yes taskpool --ti
want 'taskpool --li' "--list" no taskpool --li
want 'taskpool -j 2 --un' "--unordered" no taskpool -j 2 --un
# ... all of them, the same as --help's
run --help
help=$(printf '%s\n' "$out" | sed -n 's/^ *\(-[a-zA-Z0-9], \)\{0,1\}\(--[a-z0-9-]*=\{0,1\}\).*/\2/p' | sort)
[ "$(printf '%s\n' "$help" | wc -l)" -ge 20 ] || fail "options from --help: $help"
comp 'taskpool --' taskpool --
check "the script's options are --help's" "$help" "$(printf '%s\n' "$out" | sort)"

# option arguments
want 'taskpool --format ' "jsonl${nl}text" no taskpool --format ''
want 'taskpool --format=' "jsonl${nl}text" no taskpool --format =
want 'taskpool --form=j' "jsonl" no taskpool --form = j
want 'taskpool --list --format ' "text${nl}tsv" no taskpool --list --format ''
want 'taskpool --halt ' "never${nl}now${nl}soon" no taskpool --halt ''
want 'taskpool --halt=soon,' "soon,fail=" yes taskpool --halt = soon,
want 'taskpool -j ' "" no taskpool -j ''
want 'taskpool --joblog in' "input.txt" no taskpool --joblog in
want 'taskpool -a in' "input.txt" no taskpool -a in
want 'taskpool -L ' "plugdir" no taskpool -L ''
want 'taskpool --plugin-path=p' "plugdir" no taskpool --plugin-path = p
want 'taskpool --sandbox --allow-read ' "plugdir" no taskpool --sandbox --allow-read ''
want 'taskpool --allow-read=p' "plugdir" no taskpool --allow-read = p
want 'taskpool --mem-limit ' "" no taskpool --mem-limit ''
# -L's argument is not PLUGIN:TASK
want 'taskpool -0L ' "plugdir" no taskpool -0L ''

# PLUGIN:, then its tasks; with ':' in COMP_WORDBREAKS (bash's default)
# readline replaces only what follows the last ':', so the reply drops
# "PLUGIN:"; without it, the reply is the whole word
want 'taskpool se' "seed:" yes taskpool se
want 'taskpool seed' "seed:" yes taskpool seed
want 'taskpool -j 2 -- se' "seed:" yes taskpool -j 2 -- se
want 'taskpool seed:' "double${nl}print_number${nl}hello" no taskpool seed :
want 'taskpool seed:d' "double" no taskpool seed : d
want 'taskpool seed:x' "" no taskpool seed : x
WB=$(printf ' \t\n"'"'"'><=;|&(')
want 'taskpool seed:' "seed:double${nl}seed:print_number${nl}seed:hello" no taskpool seed:
want 'taskpool seed:d' "seed:double" no taskpool seed:d
want 'taskpool -j 2 seed:p' "seed:print_number" no taskpool -j 2 seed:p
want 'taskpool --unordered seed:h' "seed:hello" no taskpool --unordered seed:h
# after PLUGIN:TASK come inputs (here: files of the current directory)
want 'taskpool seed:double in' "input.txt" no taskpool seed:double in
want 'taskpool seed:double --ti' "" no taskpool seed:double --ti
# --list PLUGIN, then options only
want 'taskpool --list se' "seed" no taskpool --list se
want 'taskpool --list seed --fo' "--format=" yes taskpool --list seed --fo
want 'taskpool --list seed t' "" no taskpool --list seed t

# -L dirs on the line are searched (first): a plugin found only in $dir
dir=$tmp/plugs sdir="$tmp/my plugins"
mkdir "$dir" "$sdir" && cp "$TASKPOOL_PLUGIN_PATH/.libs/seed.so" "$dir/extra.so" &&
    cp "$TASKPOOL_PLUGIN_PATH/.libs/seed.so" "$sdir/spaced.so" || exit 99
want 'taskpool ex' "" no taskpool ex
want "taskpool -L $dir ex" "extra:" yes taskpool -L "$dir" ex
shipped="bench:${nl}chaos:${nl}hash:${nl}seed:${nl}text:"
[ "${TP_HASH:-}" = yes ] || shipped="bench:${nl}chaos:${nl}seed:${nl}text:"
want "taskpool -L $dir " "extra:${nl}$shipped" yes taskpool -L "$dir" ''
want "taskpool -L$dir ex" "extra:" yes taskpool "-L$dir" ex
want "taskpool --plugin-path=$dir ex" "extra:" yes taskpool --plugin-path = "$dir" ex
want "taskpool --plug $dir -j 2 ex" "extra:" yes taskpool --plug "$dir" -j 2 ex
want "taskpool -L $dir extra:d" "extra:double" no taskpool -L "$dir" extra:d
want "taskpool -L $dir --list ex" "extra" no taskpool -L "$dir" --list ex
want "taskpool --list -L $dir ex" "extra" no taskpool --list -L "$dir" ex
want "taskpool --list ex -L $dir " "" no taskpool --list ex -L "$dir" ''
# as the shell passes it: quoted, or with backslashes
want "taskpool -L '$sdir' sp" "spaced:" yes taskpool -L "'$sdir'" sp
want "taskpool -L \"$sdir\" sp" "spaced:" yes taskpool -L "\"$sdir\"" sp
want "taskpool -L $tmp/my\\ plugins sp" "spaced:" yes taskpool -L "$tmp/my\\ plugins" sp
# broken plugins on the path say nothing on the terminal
want "taskpool -L $TP_TEST_PLUGINS -L $dir ex" "extra:" yes taskpool -L "$TP_TEST_PLUGINS" -L "$dir" ex
# and TASKPOOL_PLUGIN_PATH
(
    TASKPOOL_PLUGIN_PATH=$dir
    export TASKPOOL_PLUGIN_PATH
    want 'taskpool ex' "extra:" yes taskpool ex
) || exit 1

# installed: taskpool from PATH (TASKPOOL unset), or the command word if it
# is a path
mkdir "$tmp/bin" || exit 99
printf '#!/bin/sh\nexec "%s" "$@"\n' "$TASKPOOL" >"$tmp/bin/taskpool"
chmod +x "$tmp/bin/taskpool"
(
    unset TASKPOOL
    want "$tmp/bin/taskpool seed:d" "seed:double" no "$tmp/bin/taskpool" seed:d
    PATH=$tmp/bin:$PATH
    want 'taskpool se' "seed:" yes taskpool se
) || exit 1
