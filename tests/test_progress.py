"""The progress display's lines, on and off a terminal."""

import io

from search.engine.progress import Progress
from spaces.fidelity import Fidelity
from search.text import fmt_duration


class Trial:
    def __init__(self, trial_id, config, last_result=None):
        self.trial_id, self.config, self.last_result = trial_id, config, last_result


def test_counts_best_and_plain_lines_off_a_terminal():
    out = io.StringIO()  # not a TTY: plain lines, no carriage returns
    p = Progress("svm", 10, Fidelity("train_fraction", (0.5, 1.0)), stream=out, interval=0)
    a, b, c = Trial("a", {"C": 1.0}), Trial("b", {"C": 2.5}), Trial("c", {"C": 9.0})
    for t in (a, b, c):
        p.on_trial_start(0, [], t)
    p.on_trial_result(0, [], a, {"val_accuracy": 0.41, "train_fraction": 1 / 9})
    p.on_trial_result(0, [], b, {"val_accuracy": 0.62, "train_fraction": 1.0})
    a.last_result = {"val_accuracy": 0.41, "train_fraction": 1 / 9}
    b.last_result = {"val_accuracy": 0.62, "train_fraction": 1.0}
    p.on_trial_complete(0, [], a)
    p.on_trial_complete(0, [], b)
    p.on_trial_error(0, [], c)
    line = p.line()
    assert line.startswith("[svm] 3/10 done | 1 finished, 1 stopped early, 1 failed, 0 running")
    assert "best val_accuracy 0.6200 (C=2.5)" in line and "left" in line
    text = out.getvalue()
    assert "\r" not in text and len(text.splitlines()) >= 3


def test_terminal_redraws_one_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    p = Progress("rf", 2, Fidelity("train_fraction", (0.5, 1.0)), stream=out)
    p.on_trial_start(0, [], Trial("a", {}))
    p.on_experiment_end([])
    assert out.getvalue().startswith("\r\x1b[2K[rf] 0/2 done") and out.getvalue().endswith("\n")


def test_durations():
    assert [fmt_duration(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]


def test_past_the_time_budget_it_says_what_it_waits_for():
    p = Progress("svm", 50, Fidelity("train_fraction", (0.5, 1.0)), stream=io.StringIO(), time_budget_s=0.0)
    p.on_trial_start(0, [], Trial("a", {}))
    assert p.line().endswith("time budget spent: finishing 1 running")
