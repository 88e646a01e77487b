"""help(taskpool) and the docstrings: there, and about what is there."""
import pydoc

import tpcommon
import taskpool


class Docs(tpcommon.TestCase):
    def test_help_mentions_the_api(self):
        text = pydoc.render_doc(taskpool, renderer=pydoc.plaintext)
        for word in ["map", "imap", "imap_unordered", "close", "Pool",
                     "TaskError", "Failure", "seed:double", "errors"]:
            self.assertIn(word, text)

    def test_docstrings(self):
        for obj, words in [
                (taskpool, ["taskpool.map", "Pool", "imap", "KeyboardInterrupt"]),
                (taskpool.map, ["seed:double", "['2', '4'"]),
                (taskpool.Pool, ["jobs", "timeout", "retries", "sandbox",
                                 "plugin_path", "raw", "errors", "init_arg",
                                 "mem_limit", "max_tasks_per_child"]),
                (taskpool.Pool.map, ["TaskError"]),
                (taskpool.Pool.imap, ["lazily", "input order"]),
                (taskpool.Pool.imap_unordered, ["completion order"]),
                (taskpool.Pool.close, ["Stop the workers"]),
                (taskpool.TaskError, ["index", "input", "status", "message"]),
                (taskpool.Error, ["not found"]),
                (taskpool.Failure, ["errors='return'"])]:
            with self.subTest(obj=obj):
                self.assertTrue(obj.__doc__)
                doc = " ".join(obj.__doc__.split())
                for w in words:
                    self.assertIn(w, doc)

    def test_version(self):
        self.assertRegex(taskpool.__version__, r"^[0-9]+\.[0-9]+")
