"""The GIL released while the pool waits, and Ctrl-C: KeyboardInterrupt
promptly, no worker left behind."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import tpcommon
import taskpool


class GIL(tpcommon.TestCase):
    def test_other_threads_run_while_map_waits(self):
        count = 0
        stop = threading.Event()

        def counter():
            nonlocal count
            while not stop.is_set():
                count += 1

        with taskpool.Pool("chaos:act", jobs=2, chunk=1) as pool:
            t = threading.Thread(target=counter)
            t.start()
            time.sleep(0.05)
            start_count = count
            t0 = time.monotonic()
            got = pool.map(["sleep:300"] * 4)
            took = time.monotonic() - t0
            during = count - start_count
            stop.set()
            t.join()
        self.assertEqual(got, ["slept 300"] * 4)
        self.assertGreaterEqual(took, 0.55)
        # a Python loop counts millions a second; held off by the GIL it
        # would count next to nothing (a switch interval, 5 ms, at most)
        self.assertGreater(during, 20000, "the counter barely ran")


# The child: open a pool, say its worker pids, start a map that never
# ends, and report KeyboardInterrupt (with what is left below it).
CHILD = r"""
import json, sys, time
import taskpool, tpcommon
mode = sys.argv[1]
if mode == "open":
    print(json.dumps({"ready": []}), flush=True)
    try:
        taskpool.Pool("chaos:act", jobs=2, init_arg="hang")
        print(json.dumps({"opened": True}), flush=True)
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": tpcommon.descendants()}), flush=True)
    sys.exit(0)
pool = taskpool.Pool("chaos:act", jobs=3, chunk=1)
workers = tpcommon.descendants()
print(json.dumps({"ready": workers}), flush=True)
if mode == "uncaught":
    pool.map(["hang"] * 4)
try:
    if mode == "map":
        pool.map(["hang", "sleep:100000", "hang", "hang", "ok:x"])
    else:
        for r in pool.imap_unordered(["hang"] * 3 + ["ok:x"]):
            pass
    print(json.dumps({"finished": True}), flush=True)
except KeyboardInterrupt:
    print(json.dumps({"interrupted": tpcommon.descendants()}), flush=True)
try:
    print(json.dumps({"after": pool.map(["ok:again", "ok:2"])}), flush=True)
except BaseException as e:
    print(json.dumps({"after": "%s: %s" % (type(e).__name__, e)}),
          flush=True)
pool.close()
print(json.dumps({"closed": tpcommon.descendants()}), flush=True)
"""


class CtrlC(tpcommon.TestCase):
    def interrupt(self, mode, delay=0.5):
        """Run CHILD in mode, SIGINT it once ready and delay s more; its
        records, the seconds from SIGINT to its answer, its workers."""
        p = subprocess.Popen([sys.executable, "-c", CHILD, mode],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            ready = json.loads(p.stdout.readline())
            self.assertIn("ready", ready)
            time.sleep(delay)
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            first = p.stdout.readline()
            took = time.monotonic() - t0
            rest, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        recs = {}
        for line in [first] + rest.splitlines():
            if line.strip():
                recs.update(json.loads(line))
        self.assertEqual(p.returncode, 0, err)
        return recs, took, ready["ready"]

    def check_interrupted(self, recs, took, workers, idle=()):
        """KeyboardInterrupt promptly, and below the caller nothing but
        the idle workers of a pool it did not use"""
        self.assertIn("interrupted", recs, "no KeyboardInterrupt: %r" % recs)
        self.assertLess(took, 2.0, "KeyboardInterrupt came late")
        self.assertEqual([p for p in recs["interrupted"] if p not in idle],
                         [], "processes left below the interrupted caller")
        self.assertEqual(tpcommon.wait_gone(workers), [])

    def test_ctrl_c_in_map(self):
        recs, took, workers = self.interrupt("map")
        self.assertTrue(workers)
        self.check_interrupted(recs, took, workers)
        self.assertEqual(recs["closed"], [])

    def test_ctrl_c_in_imap_unordered(self):
        # Pool() opened the workers for input order; imap_unordered runs
        # on others, which are stopped; the first are idle and stay until
        # close()
        recs, took, workers = self.interrupt("imap")
        self.assertIn("interrupted", recs, "no KeyboardInterrupt: %r" % recs)
        self.assertLess(took, 2.0, "KeyboardInterrupt came late")
        # (the first pool's count, not its pids: a worker of it may still
        # be starting when Pool() returns) a worker and its keeper per job
        self.assertLessEqual(len(recs["interrupted"]), 2 * 3,
                             "processes below the caller: %r, before imap: "
                             "%r" % (recs["interrupted"], workers))
        self.assertEqual(recs["closed"], [])
        self.assertEqual(tpcommon.wait_gone(workers), [])

    def test_uncaught_ctrl_c_ends_the_program_and_its_workers(self):
        p = subprocess.Popen([sys.executable, "-c", CHILD, "uncaught"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            workers = json.loads(p.stdout.readline())["ready"]
            time.sleep(0.5)
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
            took = time.monotonic() - t0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, -signal.SIGINT, err)
        self.assertIn("KeyboardInterrupt", err)
        self.assertLess(took, 2.0)
        self.assertTrue(workers)
        self.assertEqual(tpcommon.wait_gone(workers), [])

    def test_pool_usable_after_ctrl_c(self):
        # KeyboardInterrupt ends the run, not the pool: a program that
        # catches it may map again
        recs, took, workers = self.interrupt("map")
        self.assertEqual(recs["after"], ["again", "2"])

    def test_ctrl_c_while_pool_opens(self):
        # init never returns (init_arg="hang"): Pool() waits on it
        recs, took, workers = self.interrupt("open")
        self.check_interrupted(recs, took, workers)


class OwnHandler(tpcommon.TestCase):
    """SIGINT with a handler of the program's own: it runs when the
    waiting call returns (as after time.sleep), and the run is not cut."""

    def signal_during_map(self, handler, inputs):
        """Map inputs on an open pool, SIGINT sent 0.3 s into the map."""
        old = signal.signal(signal.SIGINT, handler)
        try:
            with taskpool.Pool("chaos:act", jobs=2) as pool:
                timer = threading.Timer(0.3, os.kill,
                                        (os.getpid(), signal.SIGINT))
                t0 = time.monotonic()
                timer.start()
                try:
                    return pool.map(inputs), time.monotonic() - t0
                finally:
                    timer.join()
                    # the handler ran by now, or runs here
                    time.sleep(0.05)
        finally:
            signal.signal(signal.SIGINT, old)

    def test_a_handler_that_does_not_raise_lets_the_run_go_on(self):
        seen = []
        got, took = self.signal_during_map(lambda s, f: seen.append(s),
                                           ["sleep:2000", "sleep:2000",
                                            "ok:x"])
        self.assertEqual(got, ["slept 2000", "slept 2000", "x"])
        self.assertEqual(seen, [signal.SIGINT])
        self.assertGreater(took, 1.9)

    def test_a_handler_that_raises_is_heard_when_the_call_returns(self):
        def handler(s, f):
            raise RuntimeError("mine")
        with self.assertRaises(RuntimeError) as cm:
            self.signal_during_map(handler, ["sleep:2000", "sleep:2000"])
        self.assertEqual(str(cm.exception), "mine")
        self.assertNoWorkers()
