"""Pool()'s keyword arguments: named after the command's options, checked
by the same code, with the command's words; and what each one does, as
the command does it."""
import os
import tempfile
import unittest

import tpcommon
import taskpool
from tpcommon import MEM_LIMITS, cli_error, cli_jsonl, py_records

# Python name, the command's option, bad values
BAD = [
    ("jobs", "--jobs", [0, "abc", 1.5, 2.0, "", "0%"]),
    ("chunk", "--chunk", [0, -1, 100001, "x", 2.5]),
    ("timeout", "--timeout", [0, -1, "abc", "0%", 1e9]),
    ("init_timeout", "--init-timeout", [0, "x", "200%"]),
    ("retries", "--retries", [-1, 100001, 1.5, "x"]),
    ("max_tasks_per_child", "--max-tasks-per-child", [0, "x", 1.5]),
    ("mem_limit", "--mem-limit", [0, "1k", "abc", "-1M"]),
    ("cpu_limit", "--cpu-limit", [0, 0.01, "x", "200%"]),
    ("max_procs", "--max-procs", [0, "x", -3]),
]


class Checked(tpcommon.TestCase):
    def test_bad_values_raise_valueerror_with_the_commands_words(self):
        for name, opt, values in BAD:
            for v in values:
                with self.subTest(option=name, value=v):
                    want = cli_error("%s=%s" % (opt, v), "seed:double", "1")
                    self.assertTrue(want.startswith("invalid "), want)
                    with self.assertRaises(ValueError) as cm:
                        taskpool.Pool("seed:double", **{name: v})
                    self.assertEqual(str(cm.exception), want)
                    with self.assertRaises(ValueError) as cm:
                        taskpool.map("seed:double", [1], **{name: v})
                    self.assertEqual(str(cm.exception), want)
        self.assertNoWorkers()

    def test_the_commands_wording_itself(self):
        with self.assertRaises(ValueError) as cm:
            taskpool.Pool("seed:double", timeout=0)
        self.assertEqual(str(cm.exception),
                         "invalid timeout '0' (0.001 to 1000000 seconds, or a "
                         "percentage like 200%)")

    def test_good_values_accepted(self):
        for kw in [dict(jobs=1), dict(jobs="50%"), dict(jobs="+1"),
                   dict(chunk=1), dict(chunk="100000"),
                   dict(timeout=1.5), dict(timeout="200%"), dict(timeout=10),
                   dict(init_timeout=0.5), dict(retries=0), dict(retries=3),
                   dict(max_tasks_per_child=1),
                   dict(cpu_limit=0.5), dict(cpu_limit="2"), dict(max_procs=4),
                   dict(jobs=None, timeout=None, init_arg=None)] + (
                       [dict(mem_limit="256M"),
                        dict(mem_limit=256 * 1024 * 1024),
                        dict(mem_limit="1G")] if MEM_LIMITS else []):
            with self.subTest(**kw):
                with taskpool.Pool("seed:double", **kw) as pool:
                    self.assertEqual(pool.map([1, 2]), ["2", "4"])

    def test_unknown_keyword_is_typeerror(self):
        with self.assertRaises(TypeError) as cm:
            taskpool.Pool("seed:double", bogus=1)
        self.assertEqual(str(cm.exception),
                         "Pool() got an unexpected keyword argument 'bogus'")
        with self.assertRaises(TypeError) as cm:
            taskpool.map("seed:double", [1], max_task_per_child=1)
        self.assertEqual(str(cm.exception),
                         "Pool() got an unexpected keyword argument "
                         "'max_task_per_child'")

    def test_bool_or_other_types_for_a_number_are_typeerror(self):
        for name, _, _ in BAD:
            for v, tname in [(True, "bool"), (False, "bool"), ([1], "list"),
                             (b"1", "bytes")]:
                with self.subTest(option=name, value=v):
                    with self.assertRaises(TypeError) as cm:
                        taskpool.Pool("seed:double", **{name: v})
                    self.assertEqual(str(cm.exception),
                                     "%s must be an int, a float or a str, "
                                     "not %s" % (name, tname))

    def test_other_keywords_types(self):
        cases = [(dict(init_arg=1), TypeError, "init_arg must be a str"),
                 (dict(plugin_path=1), TypeError,
                  "plugin_path must be a str or a list of str"),
                 (dict(plugin_path=["/tmp", 1]), TypeError,
                  "plugin_path must be a str or a list of str"),
                 (dict(errors="ignore"), ValueError,
                  "errors must be 'raise' or 'return'"),
                 (dict(allow_read="/tmp"), ValueError,
                  "allow_read applies to sandbox, which is not given"),
                 (dict(task="x"), TypeError,
                  "Pool() got an unexpected keyword argument 'task'")]
        for kw, exc, msg in cases:
            with self.subTest(**kw):
                with self.assertRaises(exc) as cm:
                    taskpool.Pool("seed:double", **kw)
                self.assertEqual(str(cm.exception), msg)
        # the command's words for the same mistake
        self.assertEqual(cli_error("--allow-read=/tmp", "seed:double", "1"),
                         "--allow-read applies to --sandbox, which is not "
                         "given")


class Effects(tpcommon.TestCase):
    def test_timeout_in_seconds(self):
        inputs = ["ok:1", "hang", "ok:3"]
        got = py_records("chaos:act", inputs, jobs=1, timeout=0.3)
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                        "--timeout=0.3"))
        self.assertEqual(got, [("ok", "1"),
                               ("timeout", "worker PID timed out after 300 ms"),
                               ("ok", "3")])

    def test_timeout_as_a_percentage_of_the_median(self):
        inputs = ["sleep:10", "sleep:10", "sleep:10", "hang"]
        got = py_records("chaos:act", inputs, jobs=2, timeout="200%")
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j2",
                                        "--timeout=200%"))
        self.assertEqual(got[3], ("timeout", "worker PID timed out after 1 s"))

    def test_retries_run_a_crashed_input_again(self):
        with tempfile.TemporaryDirectory() as d:
            once = "once:%s/m:segv" % d
            got = taskpool.map("chaos:act", ["ok:1", once, "ok:3"], jobs=1,
                               retries=1)
            self.assertEqual(got, ["1", "second time lucky", "3"])
            os.unlink(d + "/m")
            got = py_records("chaos:act", ["ok:1", once], jobs=1)
            self.assertEqual(got, [("ok", "1"), ("crashed",
                             "worker PID killed by signal 11 "
                             "(Segmentation fault)")])
        # an input that always crashes fails after its retries, as the
        # command says
        inputs = ["segv", "ok:b"]
        self.assertEqual(py_records("chaos:act", inputs, jobs=1, retries=2),
                         cli_jsonl("chaos:act", inputs, "-j1", "--retries=2"))

    def test_max_tasks_per_child_replaces_workers(self):
        with taskpool.Pool("chaos:pid", jobs=1, chunk=1,
                           max_tasks_per_child=2) as pool:
            got = [r.split() for r in pool.map(range(6))]
        workers = [w for w, _ in got]
        self.assertEqual([w == i for w, i in got], [True] * 6,
                         "each task ran in the worker that ran init")
        self.assertEqual(len(set(workers)), 3, workers)
        self.assertEqual(workers[0::2], workers[1::2], workers)
        with taskpool.Pool("chaos:pid", jobs=1, chunk=1) as pool:
            self.assertEqual(len({r for r in pool.map(range(6))}), 1)

    @unittest.skipUnless(MEM_LIMITS, "a memory limit cannot be met here "
                         "(AddressSanitizer's shadow memory counts)")
    def test_mem_limit(self):
        inputs = ["leak:200000000", "ok:2"]
        for v in ["64M", 64 * 1024 * 1024]:
            with self.subTest(mem_limit=v):
                got = py_records("chaos:act", inputs, jobs=1, mem_limit=v)
                self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                                "--mem-limit=64M"))
                self.assertEqual(got, [("error", "out of memory"),
                                       ("ok", "2")])
        self.assertEqual(taskpool.map("chaos:act", ["leak:200000000"]),
                         ["leaked 200000000"])

    def test_cpu_limit(self):
        inputs = ["spin:100000000000", "ok:2"]
        got = py_records("chaos:act", inputs, jobs=1, cpu_limit=0.3)
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                        "--cpu-limit=0.3"))
        self.assertEqual(got[0][0], "crashed")
        self.assertEqual(got[1], ("ok", "2"))

    def test_max_procs(self):
        inputs = ["execfd3", "ok:2"]
        got = py_records("chaos:act", inputs, jobs=1, max_procs=1)
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                        "--max-procs=1"))
        self.assertEqual(got, [("error", "popen failed"), ("ok", "2")])
        self.assertEqual(taskpool.map("chaos:act", ["execfd3"]), ["closed"])

    def test_sandbox(self):
        if not tpcommon.SECCOMP:
            self.skipTest("no seccomp in this build (TP_SECCOMP=%s)"
                          % os.environ.get("TP_SECCOMP"))
        inputs = ["execfd3", "forkhang", "ok:1"]
        got = py_records("chaos:act", inputs, jobs=1, sandbox=True)
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                        "--sandbox"))
        self.assertEqual(got[1], ("crashed",
                                  "sandbox: blocked system call clone"))
        with taskpool.Pool("chaos:act", sandbox=True,
                           allow_read=["/tmp", "/usr"]) as pool:
            self.assertEqual(pool.map(["ok:x"]), ["x"])

    def test_init_arg_reaches_init(self):
        with tempfile.TemporaryDirectory() as d:
            mark = os.path.join(d, "started")
            with taskpool.Pool("chaos:act", jobs=1,
                               init_arg="hang-respawn:" + mark) as pool:
                self.assertTrue(os.path.exists(mark))
                self.assertEqual(pool.map(["ok:a"]), ["a"])

    def test_plugin_path(self):
        saved = os.environ.pop("TASKPOOL_PLUGIN_PATH")
        try:
            env = dict(os.environ)
            with self.assertRaises(taskpool.Error) as cm:
                taskpool.Pool("chaos:act")
            self.assertEqual(str(cm.exception),
                             cli_error("chaos:act", "ok:1", env=env))
            for path in [saved.split(":")[0], ["/nonexistent"] +
                         saved.split(":")]:
                with self.subTest(plugin_path=path):
                    self.assertEqual(taskpool.map("chaos:act", ["ok:a"],
                                                  plugin_path=path), ["a"])
            with self.assertRaises(taskpool.Error) as cm:
                taskpool.Pool("chaos:act", plugin_path=["/nonexistent", "/x"])
            self.assertEqual(str(cm.exception),
                             cli_error("-L/nonexistent", "-L/x", "chaos:act",
                                       "ok:1", env=env))
            self.assertIn("/nonexistent", str(cm.exception))
        finally:
            os.environ["TASKPOOL_PLUGIN_PATH"] = saved
        # plugin_path comes before TASKPOOL_PLUGIN_PATH, which still counts
        with taskpool.Pool("chaos:act", plugin_path="/nonexistent") as pool:
            self.assertEqual(pool.map(["ok:b"]), ["b"])
