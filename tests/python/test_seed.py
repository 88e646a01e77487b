"""The seed's examples (multiprocessing material), with taskpool's seed
plugin in place of the Python functions."""
import tpcommon
import taskpool


class SeedExamples(tpcommon.TestCase):
    def test_pool_map_doubles_1_to_10_with_4_processes(self):
        # with multiprocessing.Pool(processes=4) as pool:
        #     pool.map(process_data, [1, ..., 10])  -> [2, 4, ..., 20]
        self.assertEqual(taskpool.map("seed:double", range(1, 11), jobs=4),
                         ["2", "4", "6", "8", "10", "12", "14", "16", "18",
                          "20"])

    def test_pool_map_10_to_100_then_close(self):
        # pool = multiprocessing.Pool(processes=4); pool.map(...);
        # pool.close(); pool.join()
        pool = taskpool.Pool("seed:double", jobs=4)
        results = pool.map([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        pool.close()
        self.assertEqual(results, [str(n) for n in range(20, 201, 20)])
        self.assertNoWorkers()

    def test_four_processes_printing_1_to_4(self):
        # for num in [1, 2, 3, 4]: Process(target=print_number, ...) -> 1 2 3 4
        p = tpcommon.python_child(
            "import taskpool\n"
            "for n in taskpool.map('seed:print_number', [1, 2, 3, 4], jobs=4):\n"
            "    print(n)\n")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "1\n2\n3\n4\n", ""))

    def test_a_process_saying_hello(self):
        self.assertEqual(taskpool.map("seed:hello", ["x"], jobs=1),
                         ["This is a new process"])

    def test_failing_inputs_as_the_command_says(self):
        inputs = [1, "x", 3, "12abc", 9223372036854775807, -4]
        self.assertEqual(tpcommon.py_records("seed:double", inputs, jobs=2),
                         tpcommon.cli_jsonl("seed:double", inputs, "-j2"))
        self.assertEqual(
            tpcommon.py_records("seed:double", inputs, jobs=2),
            [("ok", "2"), ("error", "not an integer"), ("ok", "6"),
             ("error", "not an integer"), ("error", "integer out of range"),
             ("ok", "-8")])
