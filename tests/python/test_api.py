"""taskpool.map, Pool.map/imap/imap_unordered, close() and the context
manager: what a multiprocessing.Pool user does with them."""
import itertools
import resource
import time

import tpcommon
import taskpool


def pid_of(result):
    """chaos:pid's result "WORKER INIT" (pids as seen from here)."""
    worker, init = result.split()
    return int(worker)


class Map(tpcommon.TestCase):
    def test_module_map_stops_its_workers(self):
        before = tpcommon.descendants()
        self.assertEqual(taskpool.map("seed:double", [1, 2, 3]),
                         ["2", "4", "6"])
        self.assertNoWorkers(before)

    def test_empty_iterable(self):
        self.assertEqual(taskpool.map("seed:double", []), [])
        with taskpool.Pool("seed:double") as pool:
            self.assertEqual(pool.map(iter(())), [])
            self.assertEqual(list(pool.imap([])), [])
            self.assertEqual(list(pool.imap_unordered([])), [])
            self.assertEqual(pool.map([7]), ["14"])

    def test_one_item_eight_jobs(self):
        self.assertEqual(taskpool.map("seed:double", [21], jobs=8), ["42"])

    def test_pool_reused_for_several_maps(self):
        with taskpool.Pool("seed:double", jobs=3) as pool:
            for k in range(5):
                self.assertEqual(pool.map(range(k * 100, k * 100 + 100)),
                                 [str(2 * i) for i in range(k * 100,
                                                            k * 100 + 100)])
            self.assertEqual(list(pool.imap(range(10))),
                             [str(2 * i) for i in range(10)])
            self.assertEqual(sorted(pool.imap_unordered(range(10)), key=int),
                             [str(2 * i) for i in range(10)])
            self.assertEqual(pool.map(range(3)), ["0", "2", "4"])

    def test_map_of_many_in_order(self):
        n = 100000
        self.assertEqual(taskpool.map("seed:double", range(n), jobs=4),
                         [str(2 * i) for i in range(n)])

    def test_imap_is_in_input_order(self):
        # the first input is the slowest: imap still yields it first
        inputs = ["sleep:300", "ok:b", "ok:c", "sleep:50", "ok:e"]
        with taskpool.Pool("chaos:act", jobs=3, chunk=1) as pool:
            self.assertEqual(list(pool.imap(inputs)),
                             ["slept 300", "b", "c", "slept 50", "e"])

    def test_imap_unordered_is_in_completion_order(self):
        with taskpool.Pool("chaos:act", jobs=2, chunk=1) as pool:
            got = list(pool.imap_unordered(["sleep:600", "ok:fast"]))
        self.assertEqual(got, ["fast", "slept 600"])

    def test_imap_unordered_all_results(self):
        with taskpool.Pool("chaos:jitter", jobs=4, chunk=1) as pool:
            got = list(pool.imap_unordered(str(i) for i in range(200)))
        self.assertEqual(sorted(got, key=int), [str(i) for i in range(200)])

    def test_imap_unordered_failure_index(self):
        with taskpool.Pool("chaos:act", jobs=2, chunk=1,
                           errors="return") as pool:
            got = list(pool.imap_unordered(["sleep:400", "fail:x", "ok:c"]))
        failures = [(f.index, f.input, f.status, f.message)
                    for f in got if isinstance(f, taskpool.Failure)]
        self.assertEqual(failures, [(1, "fail:x", "error", "x")])
        self.assertEqual(sorted(r for r in got if isinstance(r, str)),
                         ["c", "slept 400"])
        self.assertEqual(got[-1], "slept 400")


class Lazy(tpcommon.TestCase):
    def test_endless_generator_in_bounded_memory(self):
        pulled = 0

        def counting():
            nonlocal pulled
            for i in itertools.count():
                pulled += 1
                yield i

        take = 200000
        ahead = 0
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with taskpool.Pool("seed:double", jobs=4) as pool:
            for n, r in enumerate(pool.imap(counting())):
                if r != str(2 * n):
                    self.fail("result %d is %r" % (n, r))
                ahead = max(ahead, pulled - n)
                if n == take - 1:
                    break
            self.assertEqual(pool.map([5]), ["10"])
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
        # what the pool holds in flight, not all that a greedy reader of
        # the generator would have taken by now
        self.assertLess(ahead, 100000, "inputs read ahead of the results")
        self.assertLess(pulled, take + 100000)
        self.assertLess(grown, 64 * 1024, "ru_maxrss grew by %d KiB" % grown)

    def test_slow_generator_gets_results_as_they_come(self):
        # a generator that waits (lines from a socket, a user): each result
        # comes as soon as it is ready, not held back for a batch
        # (python/run.c: PATIENCE_NS, "a slow iterable still gets results
        # as they come")
        seen = []

        def slow():
            for i in range(5):
                time.sleep(0.1)
                seen.append(i)
                yield i

        with taskpool.Pool("seed:double", jobs=2) as pool:
            for r in pool.imap(slow()):
                # the result for i is handed out before i + 1 is asked for
                self.assertLessEqual(len(seen), int(r) // 2 + 1,
                                     "inputs read before result %s" % r)

    def test_break_then_map_again(self):
        with taskpool.Pool("chaos:act", jobs=2) as pool:
            for r in pool.imap(["ok:1", "ok:2"] + ["sleep:2000"] * 4):
                if r == "2":
                    break
            t = time.monotonic()
            self.assertEqual(pool.map(["ok:x", "ok:y"]), ["x", "y"])
            # the abandoned sleeps were stopped, not waited for
            self.assertLess(time.monotonic() - t, 1.5)
            for r in pool.imap_unordered("ok:%d" % i
                                         for i in itertools.count()):
                break
            self.assertEqual(list(pool.imap(["ok:z"])), ["z"])

    def test_kept_iterator_blocks_another_run_until_closed(self):
        with taskpool.Pool("seed:double") as pool:
            it = pool.imap(range(10))
            self.assertEqual(next(it), "0")
            with self.assertRaises(RuntimeError) as cm:
                pool.map([1])
            self.assertEqual(str(cm.exception),
                             "the pool is running another map: finish or "
                             "close its iterator first")
            with self.assertRaises(RuntimeError):
                pool.imap_unordered([1])
            it.close()
            self.assertEqual(list(it), [])
            self.assertEqual(pool.map([1]), ["2"])
            it = pool.imap([3])
            del it
            self.assertEqual(pool.map([4]), ["8"])

    def test_nested_imap_refused(self):
        with taskpool.Pool("seed:double") as pool:
            with self.assertRaises(RuntimeError):
                for r in pool.imap(range(3)):
                    for s in pool.imap(range(3)):
                        pass
            self.assertEqual(pool.map([2]), ["4"])

    def test_generator_raising_midway(self):
        class Boom(Exception):
            pass

        def gen():
            yield 1
            yield 2
            raise Boom("midway")

        with taskpool.Pool("seed:double", jobs=2) as pool:
            with self.assertRaises(Boom) as cm:
                pool.map(gen())
            self.assertEqual(str(cm.exception), "midway")
            got = []
            with self.assertRaises(Boom):
                for r in pool.imap(gen()):
                    got.append(r)
            # what came before the exception may have been yielded, in order
            self.assertIn(got, [[], ["2"], ["2", "4"]])
            self.assertEqual(pool.map([1, 2, 3]), ["2", "4", "6"])


class Close(tpcommon.TestCase):
    def worker_pids(self, pool):
        return sorted({pid_of(r) for r in pool.map(range(12))})

    def test_close_stops_the_workers(self):
        before = tpcommon.descendants()
        pool = taskpool.Pool("chaos:pid", jobs=3, chunk=1)
        workers = self.worker_pids(pool)
        self.assertTrue(workers)
        below = [p for p in tpcommon.descendants() if p not in before]
        for w in workers:
            self.assertIn(w, below)
        pool.close()
        self.assertEqual(tpcommon.wait_gone(workers), [])
        self.assertNoWorkers(before)
        pool.close()  # again: nothing to do

    def test_leaving_with_stops_the_workers(self):
        before = tpcommon.descendants()
        with taskpool.Pool("chaos:pid", jobs=2, chunk=1) as pool:
            workers = self.worker_pids(pool)
        self.assertEqual(tpcommon.wait_gone(workers), [])
        self.assertNoWorkers(before)

    def test_leaving_with_early_by_exception_stops_running_workers(self):
        before = tpcommon.descendants()
        t = time.monotonic()
        with self.assertRaises(ZeroDivisionError):
            with taskpool.Pool("chaos:act", jobs=2, chunk=1) as pool:
                for r in pool.imap(["ok:1", "hang", "hang", "hang"]):
                    1 / 0
        self.assertLess(time.monotonic() - t, 3)
        self.assertNoWorkers(before)

    def test_closed_pool_refuses(self):
        pool = taskpool.Pool("seed:double")
        pool.close()
        for call in (lambda: pool.map([1]), lambda: pool.imap([1]),
                     lambda: pool.imap_unordered([1])):
            with self.assertRaises(ValueError) as cm:
                call()
            self.assertEqual(str(cm.exception), "the pool is closed")
        self.assertEqual(repr(pool), "<taskpool.Pool 'seed:double' closed>")

    def test_close_during_imap(self):
        with taskpool.Pool("seed:double") as pool:
            it = pool.imap(range(1000))
            self.assertEqual(next(it), "0")
            pool.close()
            # what had come before close() is still handed out, in order;
            # then the run ends with the pool's error
            got = []
            with self.assertRaises(taskpool.Error) as cm:
                for r in it:
                    got.append(r)
            self.assertEqual(str(cm.exception), "the pool was closed")
            self.assertEqual(got, [str(2 * i) for i in range(1, len(got) + 1)])
            self.assertEqual(list(it), [])
        self.assertNoWorkers()

    def test_close_from_the_iterable_during_map(self):
        # the generator closes the pool between two inputs: the map ends
        # with the pool's error, the process lives on
        pool = taskpool.Pool("seed:double", jobs=2)

        def closing():
            yield 1
            pool.close()
            yield 2
        with self.assertRaises(taskpool.Error) as cm:
            pool.map(closing())
        self.assertEqual(str(cm.exception), "the pool was closed")
        self.assertNoWorkers()

    def test_close_from_a_thread_while_the_iterable_runs(self):
        import threading
        pool = taskpool.Pool("seed:double", jobs=2)

        def slow():
            for i in itertools.count():
                time.sleep(0.001)
                yield i
        timer = threading.Timer(0.3, pool.close)
        timer.start()
        with self.assertRaises(taskpool.Error) as cm:
            pool.map(slow())
        timer.join()
        self.assertEqual(str(cm.exception), "the pool was closed")
        self.assertNoWorkers()

    def test_repr(self):
        with taskpool.Pool("seed:double") as pool:
            self.assertEqual(repr(pool), "<taskpool.Pool 'seed:double'>")

    def test_with_returns_the_pool(self):
        pool = taskpool.Pool("seed:double")
        with pool as p:
            self.assertIs(p, pool)


class Threads(tpcommon.TestCase):
    def test_close_of_a_run_busy_in_another_thread_is_refused(self):
        # as a generator's close() while it runs: the run keeps what it
        # uses, and ends as it would
        import threading
        with taskpool.Pool("seed:double", jobs=2) as pool:
            def slow():
                for i in range(30):
                    time.sleep(0.01)
                    yield i
            it = pool.imap(slow())
            said = []

            def closer():
                time.sleep(0.05)
                try:
                    it.close()
                    said.append("closed")
                except ValueError as e:
                    said.append(str(e))
            t = threading.Thread(target=closer)
            t.start()
            got = list(it)
            t.join()
            self.assertEqual(got, [str(2 * i) for i in range(30)])
            self.assertEqual(said, ["iterator already executing"])
            self.assertEqual(pool.map([1, 2]), ["2", "4"])
