"""``python -m search report``: one self-contained HTML page, opened in headless Chromium."""

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from search.stores.leaderboard import read_file as read_board
from search.stores.report import MISTAKES_PER_CLASS
from trainables.labels import EMOTIONS
from tests.conftest import run_cli, skip_missing

pytestmark = pytest.mark.slow


def test_a_search_report_holds_its_leaderboard_and_figures_and_opens_in_chromium(exported_pair, tmp_path):
    results, models = exported_pair / "results", exported_pair / "models"
    result = run_cli("report", "--name", "pair-svm", "--results-dir", results, "--models-dir", models)
    assert result.code == 0, result.err
    page = results / "pair-svm" / "report.html"
    text = page.read_text()
    board = read_board(results)
    board = board[board["search"] == "pair-svm"]
    assert len(board) == 4
    for trial_id in board["trial_id"]:  # every row of the search's leaderboard
        assert trial_id in text
    for heading in ("Leaderboard", "Best val accuracy by trial and over time", "Learning curves of the best trials",
                    "Parameters (Optuna)", "Confusion matrix on val", "Misclassified val faces", "Class balance"):
        assert heading in text
    assert "no trial has reported an epoch or a rung yet" not in text  # the rung-by-rung curves are drawn
    # the mistakes shown: grouped by true emotion in label order, the surest first within each
    shown = [(true, float(p)) for true, p in re.findall(r"<figcaption>(\w+) &rarr; \w+ \((\d+)%\)</figcaption>", text)]
    assert shown, "no misclassified face with its probability"
    order = [EMOTIONS.index(true) for true, _ in shown]
    assert order == sorted(order) and len(set(order)) >= 2
    for emotion in set(order):
        sure = [p for true, p in shown if EMOTIONS.index(true) == emotion]
        assert sure == sorted(sure, reverse=True) and len(sure) <= MISTAKES_PER_CLASS
    # self-contained: nothing fetched, every image inline
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert text.count("data:image/png;base64,") >= 4

    if not shutil.which("chromium"):
        skip_missing("chromium", "Debian's chromium is not installed (.ci/run installs it)")
    shot = Path(os.environ.get("FER_SEARCH_TEST_ARTIFACTS", tmp_path)) / "search-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
             "--window-size=1300,2400", "--enable-logging=stderr", "--v=0"]
    url = page.resolve().as_uri()
    # one page load for both: headless Chromium carries out each command it is given
    dom = subprocess.run(["chromium", *flags, "--dump-dom", f"--screenshot={shot}", url], capture_output=True, text=True,
                         timeout=120)
    assert board["trial_id"].iloc[0] in dom.stdout
    assert shot.exists() and shot.stat().st_size > 10_000
    assert not [line for line in dom.stderr.splitlines() if "CONSOLE" in line], dom.stderr[-2000:]
    assert laid_out_width(page, tmp_path) <= 1280  # the leaderboard fits a 1280-pixel window


CHROMIUM = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]


def laid_out_width(page: Path, tmp_path: Path) -> int:
    """The page's laid-out width in Chromium at 1280 pixels: a copy of it with a script that
    writes the document's scroll width into the DOM that Chromium dumps."""
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text().replace(
        "</body>", "<script>document.body.dataset.width = document.documentElement.scrollWidth</script></body>"))
    dom = subprocess.run(["chromium", *CHROMIUM, f"--user-data-dir={tmp_path / 'chromium-width'}", "--window-size=1280,2000",
                          "--dump-dom", measured.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return int(re.search(r'data-width="(\d+)"', dom.stdout).group(1))


def test_a_network_search_report_draws_each_trials_learning_curves(ray_local, tiny, tmp_path):
    result = tiny.search("cnn", "--trials", 2, "--max-epochs", 3, "--scheduler", "none", "--no-tracking", "--name", "curves")
    assert result.code == 0, result.err
    result = run_cli("report", "--name", "curves", *tiny.folders)
    assert result.code == 0, result.err
    page = tiny.results / "curves" / "report.html"
    text = page.read_text()
    curves = text.split("<h2>Learning curves of the best trials</h2>")[1].split("<h2>")[0]
    assert curves.count("data:image/png;base64,") == 1  # one figure: accuracy and loss, train and val, per epoch
    if not shutil.which("chromium"):
        skip_missing("chromium", "Debian's chromium is not installed (.ci/run installs it)")
    assert laid_out_width(page, tmp_path) <= 1280  # a network's many parameters fit too


def test_report_of_every_search_and_of_nothing(exported_pair, tmp_path):
    result = run_cli("report", "--results-dir", tmp_path / "empty")
    assert result.code == 2 and "no search to report on" in result.err
    out = tmp_path / "all.html"
    result = run_cli("report", "--results-dir", exported_pair / "results", "--models-dir", tmp_path / "no-models",
                     "--out", out)
    assert result.code == 0, result.err
    text = html.unescape(out.read_text())
    assert "Search pair-svm" in text and "Search pair-rf" in text
    assert "svm_best.skops is not this search's export" in text  # no model there: the page says so


def test_a_search_summary_names_its_report(exported_pair):
    printed = (exported_pair / "svm.out").read_text()
    results, models = exported_pair / "results", exported_pair / "models"
    assert f"report: python -m search report --name pair-svm --results-dir {results} --models-dir {models}" in printed
