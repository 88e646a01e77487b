# The seed examples: Pool.map doubling numbers, processes printing numbers,
# a Process saying hello; and a failing input.
. "$(dirname "$0")/lib.sh"

run -j 4 seed:double 1 2 3 4 5 6 7 8 9 10
expect 0 "$(seq 2 2 20)" ""

run -j 4 seed:double 10 20 30 40 50 60 70 80 90 100
expect 0 "$(seq 20 20 200)" ""

run -j 4 seed:print_number 1 2 3 4
expect 0 "$(seq 1 4)" ""

run -j 1 seed:hello x
expect 0 "This is a new process" ""

run -j 2 seed:double 1 x 3 12abc 9223372036854775807 -4
expect 1 "2${nl}6${nl}-8" "taskpool: input 2 (x): not an integer
taskpool: input 4 (12abc): not an integer
taskpool: input 5 (9223372036854775807): integer out of range"

# stdin, one record per line
printf '5\n6\n' >"$tmp/in"
run seed:double <"$tmp/in"
expect 0 "10${nl}12" ""
