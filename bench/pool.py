#!/usr/bin/env python3
"""The Python peers of the benchmark, standard library only.

    pool.py map|imap TASK <input >output   Pool(2).map / .imap, default chunksize
    pool.py imap_unordered TASK <in >out   Pool(2).imap_unordered, chunksize 1
                                           (results in completion order)
    pool.py startup                        create Pool(2), map one item
TASK: double, primes, length, or sleep (sleeps N ms, returns N).
"""
import multiprocessing
import sys
import time


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


def sleep(s):
    ms = int(s)
    time.sleep(ms / 1000)
    return ms


TASKS = {"double": double, "primes": primes, "length": length, "sleep": sleep}


def main():
    mode = sys.argv[1]
    if mode == "startup":
        with multiprocessing.Pool(2) as pool:
            print(pool.map(double, ["1"])[0])
        return
    fn = TASKS[sys.argv[2]]
    lines = sys.stdin.read().splitlines()
    with multiprocessing.Pool(2) as pool:
        if mode == "map":
            results = pool.map(fn, lines)
        elif mode == "imap":
            results = pool.imap(fn, lines)
        elif mode == "imap_unordered":
            results = pool.imap_unordered(fn, lines, chunksize=1)
        else:
            sys.exit("pool.py: unknown mode %r" % mode)
        sys.stdout.write("".join("%d\n" % r for r in results))


if __name__ == "__main__":
    main()
