"""How sustained_rate.py judges runs: a rate is sustained when its p95 is within the bound and it
broke no promise, and the answer is the highest rate before the first that was not."""

import unittest

from sustained_rate import highest_sustained, sustained, table


def run(rate, p95, broken=False):
    return {"rate": rate, "offered": int(rate * 60), "ended": int(rate * 60), "throughput": rate,
            "broken_promises": broken, "post_to_end_seconds": {"p50": p95 / 2, "p95": p95, "max": p95 * 2}}


class SustainedRateTest(unittest.TestCase):
    def test_a_run_within_the_bound_that_kept_its_promises_is_sustained(self):
        self.assertTrue(sustained(run(4, 10.0), 10))
        self.assertFalse(sustained(run(4, 10.5), 10))
        self.assertFalse(sustained(run(4, 2.0, broken=True), 10))

    def test_the_answer_is_the_highest_rate_before_the_first_failure(self):
        runs = [run(4, 3), run(6, 5), run(8, 14), run(10, 4)]
        self.assertEqual(highest_sustained(runs, 10), 6)

    def test_no_rate_is_the_answer_when_the_first_failed(self):
        self.assertIsNone(highest_sustained([run(4, 30)], 10))

    def test_the_table_says_why_a_rate_was_not_sustained(self):
        text = table([run(4, 3), run(6, 12), run(8, 2, broken=True)], 10)
        self.assertIn("| 4 | 240 | 240 | 1.5 / 3.0 / 6.0 s | 4.0/s | yes |", text)
        self.assertIn("no: p95 over 10 s", text)
        self.assertIn("no: a broken promise", text)


if __name__ == "__main__":
    unittest.main()
