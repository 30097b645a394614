"""The progress display's lines, on and off a terminal."""

import io

from search.engine.progress import Progress, epoch_seconds
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


def test_a_network_epoch_shows_its_progress_and_one_honest_estimate(tmp_path):
    """What a network trial writes within its epoch (trainables.deep.write_progress) is on
    the line: epoch k of n, faces/s, the epoch's time left; and once, what an epoch and a
    whole trial take here, with the cheaper routes on a CPU."""
    import json
    import time

    from trainables.deep import write_progress

    out = io.StringIO()
    p = Progress("resnet50", 4, Fidelity("epoch", (1, 30)), stream=out, interval=0, epochs_dir=tmp_path)
    p.on_trial_start(0, [], Trial("a", {}))
    write_progress(tmp_path / "a.json", {"epoch": 2, "epochs": 30, "batch": 50, "batches": 200, "faces_per_second": 40.0,
                                         "seconds_per_batch": 3.0, "epoch_seconds_left": 450.0, "at": time.time()})
    line = p.line()
    assert "epoch 2/30 25%, 40 faces/s, 7m30s left in it" in line
    # this epoch's rest, then 28 more at 600 s each: the search's 'left' counts them
    assert line.endswith(f"~{fmt_duration(450 + 28 * 600)} left")
    p.on_step_end(0, [])
    p.on_step_end(0, [])
    notes = [ln for ln in out.getvalue().splitlines() if "an epoch takes" in ln]
    assert notes == ["[resnet50] on this machine's CPU an epoch takes about 10m00s (40 faces/s); a trial of 30 epochs "
                     "about 5h00m; cheaper: --fix input_size=96, the cnn family, or a GPU"]
    # written at an epoch's last batch (a small split: an epoch of a few batches), its pace still holds
    assert epoch_seconds({"batch": 200, "batches": 200, "seconds_per_batch": 3.0, "epoch_seconds_left": 0.0}) == 600
    (tmp_path / "a.json").write_text(json.dumps({"epoch": 2, "at": time.time() - 600}))  # stale: not shown
    assert "epoch 2/30" not in p.line()
