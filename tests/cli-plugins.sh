# The shipped text plugin (hash: cli-hash.sh).
. "$(dirname "$0")/lib.sh"

run text:upper 'Hello, World' 'héllo'
expect 0 "HELLO, WORLD${nl}HéLLO" ""
run text:lower 'Hello, World'
expect 0 "hello, world" ""
run text:reverse 'abc' 'héllo' ''
expect 0 "cba${nl}olléh" ""
check "reverse of an empty input is an empty line" 3 "$(wc -l <"$tmp/out")"
run text:length 'abc' 'é' ''
expect 0 "3${nl}2${nl}0" ""
run text:words '  two words ' '' 'one'
expect 0 "2${nl}0${nl}1" ""

