"""Why this test exists: the module forks worker processes from a caller
that may have other threads.  A fork copies only the forking thread; a
lock another thread held at that moment (malloc's, the dynamic loader's,
the GIL, stdio's) stays locked forever in the child, and a child that
then calls malloc() or dlopen() (loading the plugin) before it execs
hangs.  The module's answer is that workers are exec'd (taskpool-worker)
and run no Python.  Here a thread allocates, imports and loads shared
objects without pause while the main thread opens and closes pools and
maps on each; a hang fails within the watchdog, with the stacks."""
import subprocess
import sys

import tpcommon

CHILD = r"""
import ctypes, ctypes.util, faulthandler, importlib, json, sys, threading
import _ctypes
import taskpool
faulthandler.dump_traceback_later(60, exit=True)
libs = [n for n in (ctypes.util.find_library(x) for x in
                    ("z", "bz2", "lzma", "expat", "ffi", "uuid")) if n]
stop = threading.Event()
rounds = 0
def busy():
    global rounds
    while not stop.is_set():
        junk = [bytes(4096) for _ in range(64)]
        junk = [list(range(100)) for _ in range(64)]
        del junk
        importlib.reload(json)
        for name in libs:  # the loader's lock, taken and released
            h = _ctypes.dlopen(name, ctypes.RTLD_LOCAL)
            _ctypes.dlclose(h)
        rounds += 1
t = threading.Thread(target=busy)
t.start()
n = int(sys.argv[1])
for i in range(n):
    with taskpool.Pool("seed:double", jobs=4, init_timeout=20) as pool:
        want = [str(2 * x) for x in range(i, i + 50)]
        got = pool.map(range(i, i + 50))
        assert got == want, (i, got)
stop.set()
t.join()
faulthandler.cancel_dump_traceback_later()
print("ok %d %d %d" % (n, rounds, len(libs)))
"""


class ForkInAThreadedCaller(tpcommon.TestCase):
    def test_pools_opened_while_a_thread_allocates_and_loads(self):
        n = 40
        try:
            p = subprocess.run([sys.executable, "-c", CHILD, str(n)],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=90)
        except subprocess.TimeoutExpired as e:
            self.fail("hung: %d pools opened beside a busy thread did not "
                      "finish in 90 s\n%s" % (n, e.stderr))
        self.assertEqual(p.returncode, 0, "failed or hung (the watchdog's "
                         "stacks follow):\n" + p.stderr)
        ok, count, rounds, libs = p.stdout.split()
        self.assertEqual((ok, int(count)), ("ok", n))
        self.assertGreater(int(rounds), 0, "the busy thread never ran")
        self.assertGreater(int(libs), 0, "no shared object to load")
