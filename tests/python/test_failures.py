"""Failed inputs (TaskError at their turn, or Failure in their place)
with the command's jsonl statuses and messages; and the errors that come
before any input, raised by Pool() with the command's message."""
import os

import tpcommon
import taskpool
from tpcommon import cli_error, cli_jsonl, py_records


class TaskErrors(tpcommon.TestCase):
    def test_map_raises_at_the_failed_input(self):
        with taskpool.Pool("chaos:act", jobs=2) as pool:
            with self.assertRaises(taskpool.TaskError) as cm:
                pool.map(["ok:a", "fail:bad", "ok:c"])
            e = cm.exception
            self.assertIsInstance(e, taskpool.Error)
            self.assertEqual((e.index, e.input, e.status, e.message),
                             (1, "fail:bad", "error", "bad"))
            self.assertEqual(str(e), "input 1 ('fail:bad'): error: bad")
            self.assertEqual(pool.map(["ok:d"]), ["d"])

    def test_module_map_raises_too(self):
        with self.assertRaises(taskpool.TaskError) as cm:
            taskpool.map("seed:double", [1, "x", 3])
        self.assertEqual((cm.exception.index, cm.exception.input,
                          cm.exception.status, cm.exception.message),
                         (1, "x", "error", "not an integer"))
        self.assertNoWorkers()

    def test_imap_yields_before_raises_at_its_turn_and_goes_on(self):
        inputs = ["ok:a", "ok:b", "segv", "ok:d", "fail:e", "ok:f"]
        with taskpool.Pool("chaos:act", jobs=2, chunk=1) as pool:
            it = pool.imap(inputs)
            self.assertEqual([next(it), next(it)], ["a", "b"])
            with self.assertRaises(taskpool.TaskError) as cm:
                next(it)
            e = cm.exception
            self.assertEqual((e.index, e.input, e.status,
                              tpcommon.pids(e.message)),
                             (2, "segv", "crashed", "worker PID killed by "
                              "signal 11 (Segmentation fault)"))
            self.assertEqual(next(it), "d")
            with self.assertRaises(taskpool.TaskError) as cm:
                next(it)
            self.assertEqual(cm.exception.index, 4)
            self.assertEqual(list(it), ["f"])

    def test_index_counts_from_the_runs_start(self):
        with taskpool.Pool("seed:double", jobs=2) as pool:
            pool.map(range(500))
            with self.assertRaises(taskpool.TaskError) as cm:
                pool.map(list(range(700)) + ["x"])
            self.assertEqual(cm.exception.index, 700)
        with taskpool.Pool("seed:double", errors="return") as pool:
            pool.map(range(300))
            f, r = pool.map(["y", 1])
            self.assertEqual((f.index, r), (0, "2"))

    def test_errors_return_gives_failures_in_place(self):
        with taskpool.Pool("chaos:act", jobs=2, errors="return") as pool:
            got = pool.map(["ok:a", "fail:bad", "ok:c"])
        self.assertEqual(got[0::2], ["a", "c"])
        f = got[1]
        self.assertIsInstance(f, taskpool.Failure)
        self.assertEqual((f.index, f.input, f.status, f.message),
                         (1, "fail:bad", "error", "bad"))
        self.assertEqual(repr(f), "Failure(index=1, input='fail:bad', "
                                  "status='error', message='bad')")
        with self.assertRaises(AttributeError):
            f.status = "ok"

    def test_chaos_cases_as_the_commands_jsonl(self):
        # crash, hang with a timeout, garbage, an error: the same status
        # and message as the command's jsonl for the same inputs
        inputs = ["ok:a", "fail:bad", "segv", "abort", "exit:3", "garbage",
                  "bigframe", "hang", "fail:line one\nline two", "ok:z"]
        got = py_records("chaos:act", inputs, jobs=1, timeout=0.5)
        self.assertEqual(got, cli_jsonl("chaos:act", inputs, "-j1",
                                        "--timeout=0.5"))
        self.assertEqual([s for s, _ in got],
                         ["ok", "error", "crashed", "crashed", "crashed",
                          "protocol", "protocol", "timeout", "error", "ok"])
        self.assertEqual(got[5], ("protocol", "worker PID: protocol error: "
                                              "bad frame magic 0x73696874"))
        self.assertEqual(got[7], ("timeout",
                                  "worker PID timed out after 500 ms"))
        # and TaskError carries the same
        with taskpool.Pool("chaos:act", jobs=1, timeout=0.5) as pool:
            for i, x in enumerate(inputs):
                if got[i][0] == "ok":
                    continue
                with self.subTest(input=x):
                    with self.assertRaises(taskpool.TaskError) as cm:
                        pool.map([x])
                    e = cm.exception
                    self.assertEqual((e.index, e.input, e.status,
                                      tpcommon.pids(e.message)),
                                     (0, x) + got[i])


class BeforeAnyInput(tpcommon.TestCase):
    def assertPoolError(self, exc, want, spec, **kw):
        before = tpcommon.descendants()
        with self.assertRaises(exc) as cm:
            taskpool.Pool(spec, **kw)
        self.assertEqual(str(cm.exception), want)
        with self.assertRaises(exc) as cm:
            taskpool.map(spec, [1], **kw)
        self.assertEqual(str(cm.exception), want)
        self.assertNoWorkers(before)

    def test_plugin_not_found(self):
        want = cli_error("nosuch:x", "1")
        self.assertTrue(want.startswith("plugin 'nosuch' not found "
                                        "(searched: "), want)
        self.assertPoolError(taskpool.Error, want, "nosuch:x")

    def test_unknown_task(self):
        self.assertPoolError(taskpool.Error,
                             "plugin 'seed' has no task 'nosuch' (tasks: "
                             "double, print_number, hello)", "seed:nosuch")
        self.assertEqual(cli_error("seed:nosuch", "1"),
                         "plugin 'seed' has no task 'nosuch' (tasks: "
                         "double, print_number, hello)")

    def test_bad_spec(self):
        for spec in ["seed", "", ":double", "seed:"]:
            with self.subTest(spec=spec):
                self.assertPoolError(ValueError, cli_error(spec, "1"), spec)

    def test_init_failed(self):
        want = "chaos: init failed: asked to fail by --init-arg"
        self.assertEqual(cli_error("--init-arg=fail", "chaos:act", "ok:1"),
                         want)
        self.assertPoolError(taskpool.Error, want, "chaos:act",
                             init_arg="fail")

    def test_init_timeout(self):
        want = cli_error("--init-timeout=0.3", "--init-arg=hang", "chaos:act",
                         "ok:1")
        self.assertIn("did not finish loading and init within 300 ms", want)
        with self.assertRaises(taskpool.Error) as cm:
            taskpool.Pool("chaos:act", init_arg="hang", init_timeout=0.3)
        self.assertEqual(tpcommon.pids(str(cm.exception)),
                         tpcommon.pids(want))
        self.assertNoWorkers()

    def test_abi_mismatch_and_bad_plugins(self):
        if not tpcommon.TEST_PLUGINS:
            self.skipTest("TP_TEST_PLUGINS is not set")
        for name in ["badabi", "badmagic", "nodesc"]:
            spec = os.path.join(tpcommon.TEST_PLUGINS, name + ".la") + ":x"
            with self.subTest(plugin=name):
                want = cli_error(spec, "1")
                self.assertPoolError(taskpool.Error, want, spec)
        spec = os.path.join(tpcommon.TEST_PLUGINS, "badabi.la") + ":x"
        self.assertRegex(cli_error(spec, "1"), "ABI mismatch: plugin was "
                         "built for taskpool ABI 2.0, this taskpool has ABI ")
