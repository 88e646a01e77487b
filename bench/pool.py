#!/usr/bin/env python3
"""The Python peers of the benchmark, standard library only.

    pool.py map|imap TASK <input >output   Pool(2).map / .imap, default chunksize
    pool.py startup                        create Pool(2), map one item
"""
import multiprocessing
import sys


def double(s):
    return int(s) * 2


def primes(s):
    n = int(s)
    count = 0
    for k in range(2, n + 1):
        d = 2
        while d * d <= k:
            if k % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


def length(s):
    return len(s)


TASKS = {"double": double, "primes": primes, "length": length}


def main():
    mode = sys.argv[1]
    if mode == "startup":
        with multiprocessing.Pool(2) as pool:
            print(pool.map(double, ["1"])[0])
        return
    fn = TASKS[sys.argv[2]]
    lines = sys.stdin.read().splitlines()
    with multiprocessing.Pool(2) as pool:
        results = pool.map(fn, lines) if mode == "map" else pool.imap(fn, lines)
        sys.stdout.write("".join("%d\n" % r for r in results))


if __name__ == "__main__":
    main()
