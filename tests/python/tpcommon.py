"""Shared by the Python tests of the taskpool module (tests/python.sh runs
them): the build tree's paths, the command's jsonl for comparison, and the
processes a pool leaves behind."""
import glob
import json
import os
import re
import subprocess
import sys
import time
import unittest

import taskpool

TASKPOOL = os.environ["TASKPOOL"]            # the command, built
PLUGINS = os.environ["TASKPOOL_PLUGIN_PATH"]  # seed, chaos, ...
TEST_PLUGINS = os.environ.get("TP_TEST_PLUGINS", "")
SECCOMP = os.environ.get("TP_SECCOMP") == "yes"
HERE = os.path.dirname(os.path.abspath(__file__))


def _limits_met():
    """Can a memory limit be met at all?  Not under AddressSanitizer,
    whose shadow memory RLIMIT_DATA counts (tests/cli-limits.sh asks the
    same: a worker's VmData, in KiB)."""
    escape = os.path.join(TEST_PLUGINS, "hostile", "escape.la")
    return int(taskpool.map(escape + ":act", ["vmdata"], jobs=1)[0]) < 32768


MEM_LIMITS = _limits_met()


def pids(text):
    """A message with its worker pids masked, as tests/lib.sh's pids()."""
    return re.sub(r"worker [0-9]+", "worker PID", text)


def cli_jsonl(task, inputs, *options, env=None):
    """What the command says of each input with --format=jsonl: a list of
    (status, output or error), pids masked; inputs are str or bytes."""
    args = [TASKPOOL, "--format=jsonl", *options, task]
    args += [i if isinstance(i, bytes) else str(i) for i in inputs]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env=env)
    if p.returncode not in (0, 1):
        raise AssertionError("%s: status %d: %s" % (args, p.returncode,
                                                     p.stderr.decode()))
    out = []
    for line in p.stdout.decode().splitlines():
        r = json.loads(line)
        out.append((r["status"], pids(r.get("output", r.get("error")))))
    return out


def cli_error(*args, env=None):
    """The command's usage or plugin error for args, as the module words
    it: stderr less "taskpool: " and " (try 'taskpool --help')"."""
    p = subprocess.run([TASKPOOL, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, env=env)
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    err = p.stderr.decode().rstrip("\n")
    assert err.startswith("taskpool: "), err
    err = err[len("taskpool: "):]
    suffix = " (try 'taskpool --help')"
    return err[:-len(suffix)] if err.endswith(suffix) else err


def py_records(task, inputs, **options):
    """The module's results for the same inputs, as cli_jsonl's records."""
    with taskpool.Pool(task, errors="return", **options) as pool:
        out = []
        for r in pool.map(inputs):
            if isinstance(r, taskpool.Failure):
                out.append((r.status, pids(r.message)))
            else:
                out.append(("ok", r))
        return out


def descendants(pid=None):
    """The pids of every process below pid (default: this one), read from
    /proc: each thread's children."""
    pid = os.getpid() if pid is None else pid
    found = []
    for path in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(path) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:  # the thread or process ended meanwhile
            continue
        for k in kids:
            if k not in found:
                found.append(k)
                found += [d for d in descendants(k) if d not in found]
    return found


def alive(pid):
    """pid runs (a zombie counts as gone: it runs nothing)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pidlist, seconds=5.0):
    """The pids of pidlist still running after up to seconds."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pidlist if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def python_child(code, timeout=60, **kw):
    """Run code in a fresh interpreter with the test's environment."""
    return subprocess.run([sys.executable, "-c", code], timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


class TestCase(unittest.TestCase):
    maxDiff = None

    def assertNoWorkers(self, before=()):
        """No process below this one is left but those of before."""
        deadline = time.monotonic() + 5
        while True:
            left = [p for p in descendants() if p not in before and alive(p)]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(left, [], "processes left behind")
