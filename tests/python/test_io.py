"""Inputs (str as UTF-8, bytes-like, int, float; anything else a
TypeError naming its index) and results (str, invalid UTF-8 replaced as
the command's jsonl does; bytes with raw=True)."""
import json
import subprocess

import tpcommon
import taskpool


class Inputs(tpcommon.TestCase):
    def test_each_kind_as_sent(self):
        inputs = ["héllo €", b"a\x00b", bytearray(b"xyz"),
                  memoryview(b"abcdef")[1:4], 42, -7, 10 ** 30, 1.5, 1e300,
                  float("nan"), "", "a\x00b"]
        self.assertEqual(taskpool.map("chaos:echo", inputs),
                         ["héllo €", "a\x00b", "xyz", "bcd", "42", "-7",
                          "1" + "0" * 30, "1.5", "1e+300", "nan", "", "a\x00b"])
        # str travels as UTF-8: the kernel sees its bytes
        self.assertEqual(taskpool.map("chaos:length", ["é", "€", "a\x00b",
                                                       b"\xff", ""]),
                         ["2", "3", "3", "1", "0"])

    def test_a_large_input_and_result(self):
        big = "y" * (4 << 20)
        self.assertEqual(taskpool.map("chaos:length", [big]), [str(4 << 20)])
        self.assertEqual(taskpool.map("chaos:act", ["huge:3000000"]),
                         ["x" * 3000000])

    def test_other_types_are_typeerror_naming_the_index(self):
        for bad, tname in [(None, "NoneType"), (True, "bool"),
                           (object(), "object"), ([1], "list"),
                           ({}, "dict"), (1j, "complex")]:
            with self.subTest(input=bad):
                with taskpool.Pool("seed:double", jobs=2) as pool:
                    with self.assertRaises(TypeError) as cm:
                        pool.map([1, 2, bad, 4])
                    self.assertEqual(str(cm.exception),
                                     "input at index 2 is %s: expected str, "
                                     "bytes-like, int or float" % tname)
                    # the pool is still usable
                    self.assertEqual(pool.map([5]), ["10"])

    def test_typeerror_index_after_many_inputs(self):
        n = 1000  # beyond the first batches read
        with taskpool.Pool("seed:double", jobs=2) as pool:
            got = []
            with self.assertRaises(TypeError) as cm:
                for r in pool.imap(list(range(n)) + [None, 1]):
                    got.append(r)
            self.assertEqual(str(cm.exception),
                             "input at index %d is NoneType: expected str, "
                             "bytes-like, int or float" % n)
            self.assertEqual(got, [str(2 * i) for i in range(len(got))])
            self.assertEqual(pool.map(range(3)), ["0", "2", "4"])

    def test_unencodable_str(self):
        # ValueError naming the input, caused by the codec's error
        with taskpool.Pool("chaos:echo") as pool:
            with self.assertRaises(ValueError) as cm:
                pool.map(["ok", "\ud800"])
            self.assertEqual(str(cm.exception),
                             "input at index 1: 'utf-8' codec can't encode "
                             "character '\\ud800' in position 0: surrogates "
                             "not allowed")
            self.assertIsInstance(cm.exception.__cause__, UnicodeEncodeError)
            self.assertEqual(pool.map(["ok"]), ["ok"])

    def test_unsendable_buffer_and_int(self):
        with taskpool.Pool("chaos:echo") as pool:
            with self.assertRaises(TypeError) as cm:
                pool.map(["a", memoryview(b"0123456789")[::2]])
            self.assertEqual(str(cm.exception),
                             "input at index 1: memoryview: underlying buffer "
                             "is not C-contiguous")
            with self.assertRaises(ValueError) as cm:
                pool.map([1, 2, 10 ** 5000])
            self.assertTrue(str(cm.exception).startswith(
                "input at index 2: Exceeds the limit"), str(cm.exception))
            self.assertEqual(pool.map([7]), ["7"])

    def test_flags_are_bools(self):
        for kw in [dict(sandbox="false"), dict(raw=1)]:
            with self.subTest(**kw):
                with self.assertRaises(TypeError) as cm:
                    taskpool.Pool("chaos:echo", **kw)
                name = next(iter(kw))
                self.assertEqual(str(cm.exception),
                                 "%s must be True or False, not %s"
                                 % (name, type(kw[name]).__name__))


# invalid UTF-8: each byte that starts no valid sequence is one U+FFFD
INVALID = [
    (b"\xff", "\ufffd"),
    (b"\xffx", "\ufffdx"),
    (b"\xc3", "\ufffd"),
    (b"\xc3\xa9", "é"),
    (b"\xe2\x82x", "\ufffd\ufffdx"),  # a truncated sequence: per byte
    (b"\xe2\x82\xac", "€"),
    (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),  # a surrogate
    (b"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"),  # above U+10FFFF
    (b"\xc0\xaf", "\ufffd\ufffd"),  # overlong
    (b"a\xffb\xc3\xa9\xfe", "a\ufffdb\xe9\ufffd"),
    (b"\xf0\x9f\x98\x80\xf0\x9f\x98", "\U0001F600\ufffd\ufffd\ufffd"),
]


class Results(tpcommon.TestCase):
    def test_invalid_utf8_replaced_as_the_commands_jsonl(self):
        raw = [b for b, _ in INVALID]
        p = subprocess.run([tpcommon.TASKPOOL, "--format=jsonl", "-j1",
                            "chaos:echo", *raw], stdout=subprocess.PIPE,
                           timeout=60, check=True)
        cli = [json.loads(line)["output"]
               for line in p.stdout.decode().splitlines()]
        got = taskpool.map("chaos:echo", raw)
        self.assertEqual(got, cli)
        self.assertEqual(got, [t for _, t in INVALID])

    def test_raw_results_are_bytes(self):
        raw = [b for b, _ in INVALID] + [b"a\x00b", b""]
        self.assertEqual(taskpool.map("chaos:echo", raw, raw=True), raw)
        self.assertEqual(taskpool.map("seed:double", [1, "2"], raw=True),
                         [b"2", b"4"])

    def test_raw_failure_input_is_bytes(self):
        with taskpool.Pool("chaos:act", raw=True, errors="return") as pool:
            (f,) = pool.map([b"fail:\xff"])
        self.assertEqual((f.index, f.input, f.status, f.message),
                         (0, b"fail:\xff", "error", "\ufffd"))
        with taskpool.Pool("chaos:act", raw=True) as pool:
            with self.assertRaises(taskpool.TaskError) as cm:
                pool.map([b"ok:1", b"fail:\xfe!"])
        e = cm.exception
        self.assertEqual((e.index, e.input, e.status, e.message),
                         (1, b"fail:\xfe!", "error", "\ufffd!"))

    def test_failure_input_and_message_text_replaced(self):
        with taskpool.Pool("chaos:act", errors="return") as pool:
            (f,) = pool.map([b"fail:\xe2\x82x"])
        self.assertEqual((f.input, f.message),
                         ("fail:\ufffd\ufffdx", "\ufffd\ufffdx"))
