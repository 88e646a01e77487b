#!/usr/bin/env python3
"""The Python module taskpool against multiprocessing.Pool, for bench/run.

    python.py SIDE JOBS HOW TASK [N] <input >output

SIDE: taskpool (the module, a C kernel of a plugin) or mp
(multiprocessing.Pool(JOBS), a Python function doing the same work);
HOW: map (taskpool.map(TASK, xs, jobs=JOBS); Pool(JOBS).map(f, xs)),
call (the map call alone on an open pool: see call()),
pool.map (with taskpool.Pool(TASK, jobs=JOBS) as pool: pool.map(xs); the
same Pool(JOBS).map), or imap_unordered (multiprocessing: chunksize=1;
results in completion order); TASK, for each side:

    double  seed:double        x * 2
    sleep   bench:sleep        time.sleep(N ms), returns N
    sha256  hash:sha256        hashlib.sha256 of the file, as sha256sum

The inputs are the lines of standard input, or with N the integers 1..N
(range(1, N + 1): ints to both sides).  One result a line on standard
output.  Everything counts: the interpreter's start, the import, the
pool's start and its end.
"""
import sys

TASKS = {"double": "seed:double", "sleep": "bench:sleep",
         "sha256": "hash:sha256"}


def double(x):
    return int(x) * 2


def sleep(s):
    import time
    ms = int(s)
    time.sleep(ms / 1000)
    return ms


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            h.update(b)
    return "%s  %s" % (h.hexdigest(), path)


FUNCS = {"double": double, "sleep": sleep, "sha256": sha256}


def call(side, jobs, task, xs):
    """HOW call: the map call alone, on a pool already open and warmed by
    one map: the median of 5 calls, in seconds, on standard error; the
    last call's results on standard output.  What a program that keeps
    its pool pays per map."""
    import time
    if side == "taskpool":
        import taskpool
        pool = taskpool.Pool(TASKS[task], jobs=jobs)
        run = pool.map
    else:
        import multiprocessing
        pool = multiprocessing.Pool(jobs)
        f = FUNCS[task]

        def run(xs):
            return pool.map(f, xs)
    xs = list(xs)
    run(xs)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        results = run(xs)
        times.append(time.perf_counter() - t)
    pool.close()
    sys.stdout.write("".join("%s\n" % r for r in results))
    sys.stderr.write("%.4f\n" % sorted(times)[2])


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    side, jobs, how, task = sys.argv[1:5]
    jobs = int(jobs)
    if len(sys.argv) == 6:
        xs = range(1, int(sys.argv[5]) + 1)
    else:
        xs = sys.stdin.read().splitlines()
    if how == "call":
        call(side, jobs, task, xs)
        return
    if side == "taskpool":
        import taskpool
        if how == "map":
            results = taskpool.map(TASKS[task], xs, jobs=jobs)
            sys.stdout.write("".join(r + "\n" for r in results))
            return
        with taskpool.Pool(TASKS[task], jobs=jobs) as pool:
            if how == "pool.map":
                results = pool.map(xs)
            else:
                results = pool.imap_unordered(xs)
            sys.stdout.write("".join(r + "\n" for r in results))
    elif side == "mp":
        import multiprocessing
        with multiprocessing.Pool(jobs) as pool:
            if how in ("map", "pool.map"):
                results = pool.map(FUNCS[task], xs)
            else:
                results = pool.imap_unordered(FUNCS[task], xs, chunksize=1)
            sys.stdout.write("".join("%s\n" % r for r in results))
    else:
        sys.exit("python.py: SIDE is taskpool or mp, not %r" % side)


if __name__ == "__main__":
    main()
