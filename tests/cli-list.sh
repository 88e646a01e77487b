# --list: every plugin on the search path with its tasks; --list PLUGIN.
. "$(dirname "$0")/lib.sh"
P=$TASKPOOL_PLUGIN_PATH
seed="seed $TP_VERSION  $P/.libs/seed.so
  double        an integer times two
  print_number  the integer itself
  hello         says \"This is a new process\", whatever the input"

run --list seed
expect 0 "$seed" ""

# (hash only where it was built: it needs OpenSSL)
shipped="bench${nl}chaos${nl}hash${nl}seed${nl}text"
[ "${TP_HASH:-}" = yes ] || shipped="bench${nl}chaos${nl}seed${nl}text"
TASKPOOL_PLUGIN_PATH= run -L "$P" --list
check "--list status" 0 "$rc"
check "--list stderr" "" "$err"
# in name order; chaos is the test plugin, built for make check only
check "--list plugins" "$shipped" "$(printf '%s\n' "$out" | grep -v '^ ' | cut -d' ' -f1)"
case $out in *"$seed"*) ;; *) fail "--list shows seed: $out" ;; esac
case $out in *"  act     does what the input says"*) ;; *) fail "--list shows chaos:act: $out" ;; esac

# a directory with a broken plugin: it is skipped with a note, the rest listed
TASKPOOL_PLUGIN_PATH= run -L "$TP_TEST_PLUGINS" -L "$P" --list
check "--list status" 0 "$rc"
check "--list skips" "taskpool: skipping $TP_TEST_PLUGINS/.libs/badabi.so: ABI mismatch: plugin was built for taskpool ABI 2.0, this taskpool has ABI 1.1; rebuild the plugin against this taskpool
taskpool: skipping $TP_TEST_PLUGINS/.libs/badmagic.so: not a taskpool plugin (ABI magic 0xdeadbeef, expected 0x4c504b54)
taskpool: skipping $TP_TEST_PLUGINS/.libs/nodesc.so: not a taskpool plugin (no taskpool_plugin symbol; declare it with TASKPOOL_PLUGIN)" "$err"
check "--list plugins" "$shipped" "$(printf '%s\n' "$out" | grep -v '^ ' | cut -d' ' -f1)"

run --list nope
expect 2 "" "taskpool: plugin 'nope' not found (searched: $P, $TP_PLUGINDIR)"

run --list seed chaos
expect 2 "" "taskpool: --list takes at most one PLUGIN, got 'chaos' (try 'taskpool --help')"
