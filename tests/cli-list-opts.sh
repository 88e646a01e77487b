# --list [PLUGIN] [OPTION]...: options may follow the PLUGIN; --format=tsv
# lists PLUGIN<TAB>TASK<TAB>SUMMARY, a line per task; jsonl is refused.
. "$(dirname "$0")/lib.sh"
P=$TASKPOOL_PLUGIN_PATH
export TASKPOOL_PLUGIN_PATH=
tab=$(printf '\t')
seed="seed $TP_VERSION  $P/.libs/seed.so
  double        an integer times two
  print_number  the integer itself
  hello         says \"This is a new process\", whatever the input"
seedtsv="seed${tab}double${tab}an integer times two
seed${tab}print_number${tab}the integer itself
seed${tab}hello${tab}says \"This is a new process\", whatever the input"

# options after the PLUGIN (issue 11, item 7), before it, or both
run --list seed -L "$P"
expect 0 "$seed" ""
run -L "$TP_TEST_PLUGINS" --list seed -L "$P" --format=text
expect 0 "$seed" ""
run --list seed -L "$P" -j 0
expect 2 "" "taskpool: invalid number of jobs '0' (N, N%, +N or -N) (try 'taskpool --help')"
run --list seed -L "$P" chaos
expect 2 "" "taskpool: --list takes at most one PLUGIN, got 'chaos' (try 'taskpool --help')"
run -L "$P" --list seed chaos -L "$P"
expect 2 "" "taskpool: --list takes at most one PLUGIN, got 'chaos' (try 'taskpool --help')"
# after "--" nothing is an option
run -L "$P" --list -- seed
expect 0 "$seed" ""
run --list -- seed -L "$P"
expect 2 "" "taskpool: --list takes at most one PLUGIN, got '-L' (try 'taskpool --help')"

# --format=tsv: one line per task, nothing else on stdout
run --list seed -L "$P" --format=tsv
expect 0 "$seedtsv" ""
run --format tsv -L "$P" --list seed
expect 0 "$seedtsv" ""
# a plugin given as a file: named as --list names it
run --list "$P/.libs/seed.so" --format=tsv
expect 0 "$seedtsv" ""
run --list nope -L "$P" --format=tsv
expect 2 "" "taskpool: plugin 'nope' not found (searched: $P, $TP_PLUGINDIR)"

# every plugin: broken ones reported on stderr as with text
run -L "$TP_TEST_PLUGINS" -L "$P" --list
check "--list status" 0 "$rc"
text_err=$err
text_tasks=$(printf '%s\n' "$out" | grep -c '^  ')
text_plugins=$(printf '%s\n' "$out" | grep -v '^ ' | cut -d' ' -f1)
run -L "$TP_TEST_PLUGINS" -L "$P" --list --format=tsv
check "--list --format=tsv status" 0 "$rc"
check "--list --format=tsv stderr" "$text_err" "$err"
[ -n "$err" ] || fail "the broken test plugins are reported"
check "--list --format=tsv lines" "$text_tasks" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')"
check "--list --format=tsv fields" "" "$(printf '%s\n' "$out" | awk -F '\t' 'NF != 3 || $2 == ""')"
check "--list --format=tsv plugins" "$text_plugins" "$(printf '%s\n' "$out" | cut -f1 | uniq)"
case $nl$text_plugins$nl in *"${nl}seed$nl"*) ;; *) fail "--list shows seed: $text_plugins" ;; esac
check "--list --format=tsv seed" "$seedtsv" "$(printf '%s\n' "$out" | grep '^seed')"

# jsonl does not list: a usage error
run --list seed -L "$P" --format=jsonl
expect 2 "" "taskpool: invalid --list format 'jsonl' (text or tsv) (try 'taskpool --help')"
run --format=jsonl --list
expect 2 "" "taskpool: invalid --list format 'jsonl' (text or tsv) (try 'taskpool --help')"
run --list --format=xml
expect 2 "" "taskpool: invalid --list format 'xml' (text or tsv) (try 'taskpool --help')"
# tsv is --list's only
run -L "$P" --format=tsv seed:double 1
expect 2 "" "taskpool: invalid format 'tsv' (text or jsonl) (try 'taskpool --help')"
run --format=tsv
expect 2 "" "taskpool: invalid format 'tsv' (text or jsonl) (try 'taskpool --help')"
run --format=xml --list
expect 2 "" "taskpool: invalid format 'xml' (text or jsonl) (try 'taskpool --help')"
