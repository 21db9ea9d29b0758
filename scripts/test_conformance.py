#!/usr/bin/env python3
"""Tests of scripts/conformance.py, the runners' shared module. Prints
"N passed, N failed" last, as every stage of scripts/test does."""

import os
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance  # noqa: E402


class ReadList(unittest.TestCase):
    def test_skips_comments_and_blanks_and_keeps_line_numbers(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("# header\n\nfoo/bar 2  reason one\n   \n  baz  # why\n")
        try:
            self.assertEqual(list(conformance.read_list(f.name)), [(3, "foo/bar 2  reason one"), (5, "baz  # why")])
        finally:
            os.unlink(f.name)


class Segments(unittest.TestCase):
    def test_sweep_removes_only_oxmpi_segments_not_kept(self):
        with tempfile.TemporaryDirectory() as d:
            for n in ("oxmpi-1-a", "oxmpi-2-b", "other"):
                open(os.path.join(d, n), "w").close()
            self.assertEqual(conformance.oxmpi_segments(d), {"oxmpi-1-a", "oxmpi-2-b"})
            self.assertEqual(conformance.sweep_segments({"oxmpi-1-a"}, d), ["oxmpi-2-b"])
            self.assertEqual(sorted(os.listdir(d)), ["other", "oxmpi-1-a"])

    def test_missing_directory_has_no_segments(self):
        self.assertEqual(conformance.oxmpi_segments("/nonexistent/shm"), set())


class KillUnder(unittest.TestCase):
    def test_kills_processes_working_below_the_directory(self):
        with tempfile.TemporaryDirectory() as d:
            sub = os.path.join(d, "t")
            os.mkdir(sub)
            p = subprocess.Popen(["sleep", "60"], cwd=sub)
            try:
                time.sleep(0.1)
                self.assertGreaterEqual(conformance.kill_under(d), 1)
                self.assertEqual(p.wait(timeout=10), -9)
            finally:
                p.kill()


class Tables(unittest.TestCase):
    def test_markdown_table(self):
        self.assertEqual(
            conformance.markdown_table(["a", "b"], [[1, 2], ["x", "y"]]),
            "| a | b |\n|---|---|\n| 1 | 2 |\n| x | y |\n",
        )

    def test_junit_counts_each_outcome(self):
        cases = [
            conformance.Case("c", "ok", "pass", 0.5),
            conformance.Case("c", "bad", "fail", message="boom", detail="trace"),
            conformance.Case("c", "slow", "timeout", message="timed out"),
            conformance.Case("c", "known", "xfail", message="xfail: reason"),
        ]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "j.xml")
            conformance.write_junit(path, "suite", [("s1", cases)])
            s = ET.parse(path).getroot().find("testsuite")
            self.assertEqual([s.get(k) for k in ("tests", "failures", "errors", "skipped")], ["4", "1", "1", "1"])
            self.assertEqual(s.find("testcase[@name='bad']/failure").text, "trace")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
