"""The CLI's surface: help, listing, data info, evaluate, and one-line errors."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import (
    ROOT,
    TINY_DEMO,
    prepare_store,
    run_cli,
    tree_files,
    write_zip,
)


def python(*args, cwd=None, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=cwd or os.getcwd(), env=env, capture_output=True, text=True, timeout=timeout)


def test_help_imports_nothing_heavy():
    code = ("import sys, runpy, contextlib, io\n"
            "sys.argv = ['search', '--help']\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: runpy.run_module('search', run_name='__main__')\n"
            "    except SystemExit: pass\n"
            "print(' '.join(m for m in ('ray', 'sklearn', 'tensorflow', 'numpy', 'pandas', 'cv2', 'mlflow') if m in sys.modules))")
    proc = python("-c", code)  # its time is bench's to measure; what it imports is the contract
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_no_arguments_lists_the_families():
    result = run_cli()
    assert result.code == 0
    assert "python -m search svm" in result.out and "python -m search rf" in result.out
    assert "leaderboard" in result.out


def test_help_names_every_family():
    proc = python("-m", "search", "--help")
    assert proc.returncode == 0 and "svm" in proc.stdout and "rf" in proc.stdout


@pytest.mark.parametrize("argv, message", [
    (["svn"], "unknown family 'svn'"),
    (["svm", "--trials", "0"], "argument --trials: must be at least 1, not 0"),
    (["svm", "--trials", "many"], "argument --trials: 'many' is not a whole number"),
    (["svm", "--time-budget", "soon"], "'soon' is not a duration"),
    (["svm", "--val-fraction", "1.5"], "must be at least 0 and below 1"),
    (["svm", "--data", "/no/such/fer.zip"], "/no/such/fer.zip: no such file or folder"),
    (["evaluate", "/no/such/model.skops"], "/no/such/model.skops: no such model file"),
    (["leaderboard", "--format", "xml"], "invalid choice: 'xml'"),
    (["svm", "--data", "demo:300", "--fix", "C"], "--fix C: expected NAME=VALUE"),
    (["svm", "--data", "demo:300", "--fix", "nope=1"], "--fix nope: the svm space has no such parameter"),
    (["svm", "--data", "demo:300", "--fix", "C=1e9"], "--fix C=1e9: not a value the svm space can take"),
    (["svm", "--cpus-per-trial", "0"], "argument --cpus-per-trial"),
    (["cnn", "--max-epochs", "0"], "argument --max-epochs: must be at least 1, not 0"),
    (["svm", "--time-budget", "-5m"], "argument --time-budget: expected one argument"),  # argparse reads -5m as an option
    (["predict", "/no/such/model.keras", "photo.jpg"], "/no/such/model.keras: no such model file"),
    (["ensemble", "--top", "0"], "argument --top: must be at least 1, not 0"),
    (["report", "--name", "nope"], "results/nope: no search of that name"),
])
def test_user_errors_are_one_line_and_exit_2(argv, message):
    result = run_cli(*argv)
    assert result.code == 2
    first, *rest = result.err.strip().splitlines()
    assert first.startswith("python -m search: error: ") and message in first
    assert all(line.startswith("hint: ") for line in rest) and len(rest) <= 1
    assert "Traceback" not in result.err


@pytest.mark.parametrize("option", ["--results-dir", "--models-dir"])
def test_an_output_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path, option):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("svm", "--data", "demo:300", option, blocker / "sub")
    assert result.code == 2
    assert f"{option} {blocker / 'sub'}: cannot write there ({blocker} is not a folder)" in result.err.splitlines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written, not even results/


def test_errors_through_the_real_entry_point_have_no_traceback():
    proc = python("-m", "search", "svm", "--data", "/no/such/path")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("python -m search: error: /no/such/path: no such file or folder")


def test_a_file_that_is_not_our_model(tmp_path):
    import numpy as np
    import skops.io as sio

    foreign = tmp_path / "foreign.skops"
    sio.dump({"weights": np.zeros(3)}, foreign)
    result = run_cli("evaluate", foreign, "--data", "demo:100")
    assert result.code == 2 and "foreign.skops: no model card beside it" in result.err and "--trust" in result.err
    # trusted knowingly: skops' own guard still refuses the types it holds
    result = run_cli("evaluate", foreign, "--data", "demo:100", "--trust")
    assert result.code == 2 and "foreign.skops: not a fer-search model" in result.err
    garbage = tmp_path / "garbage.skops"
    garbage.write_bytes(b"not a zip at all")
    result = run_cli("evaluate", garbage, "--trust")
    assert result.code == 2 and "garbage.skops: not a fer-search model" in result.err
    other = tmp_path / "model.pkl"
    other.write_bytes(b"\x80\x04")
    result = run_cli("evaluate", other)
    assert result.code == 2 and "model.pkl: not a fer-search model" in result.err


def test_data_info(tmp_path, faces):
    files = tree_files(faces)
    files.update({k.replace("PublicTest", "PrivateTest"): v for k, v in files.items() if k.startswith("test/")})
    files["test/happy/PrivateTest_copy.png"] = files["train/angry/Training_0.png"]  # as FER2013 has some
    path = write_zip(tmp_path / "fer.zip", files)
    first = run_cli("data", "info", "--data", path, "--cache-dir", tmp_path / "cache")
    assert first.code == 0, first.err
    out = first.out
    assert "format:      zip" in out and "images:      113" in out
    assert "usage:       PrivateTest 22, PublicTest 21, Training 70" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()[:1] in (["train"], ["val"], ["test"])}
    assert lines["train"][0] == "63" and lines["val"][0] == "7" and lines["test"][0] == "43"
    assert lines["test"][1:] == ["6", "6", "6", "7", "6", "6", "6"]  # per class, in label order
    copies = next(line for line in out.splitlines() if line.startswith("copies of train faces"))
    # the copy of train's first angry face (which the seeded val slice leaves in train)
    assert copies.startswith("copies of train faces (identical pixels): val 0, test 1 (e.g. test image ")
    second = run_cli("data", "info", "--data", path, "--cache-dir", tmp_path / "cache")
    assert "(hit)" in second.out and "(hit)" not in first.out


def test_default_data_is_the_demo_set_when_data_is_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("data", "info")
    assert result.code == 0 and "no FER2013 in data/" in result.out and "source:      demo:10000" in result.out


def test_default_data_is_found_in_data(tmp_path, faces, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    write_zip(tmp_path / "data" / "fer2013.zip", tree_files(faces))
    result = run_cli("data", "info", "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result.err
    assert "data: data/fer2013.zip (found in data/)" in result.out and "format:      zip" in result.out


def test_evaluate_any_source_that_holds_the_split(ray_local, tmp_path, faces):
    prepare_store(tmp_path / "r")
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 1, "--results-dir", tmp_path / "r", "--models-dir", tmp_path / "m")
    assert result.code == 0, result.err
    test_only = write_zip(tmp_path / "test-only.zip", {k: v for k, v in tree_files(faces).items() if k.startswith("test/")})
    out = tmp_path / "report.json"
    result = run_cli("evaluate", tmp_path / "m" / "svm_best.skops", "--data", test_only, "--json", out)
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    assert sum(c["support"] for c in report["per_class"].values()) == 21
    assert "confusion matrix" in result.out and "macro_f1" in result.out
    result = run_cli("evaluate", tmp_path / "m" / "svm_best.skops", "--data", test_only, "--split", "val")
    assert result.code == 2 and "holds no 'val' images" in result.err


def test_a_model_file_that_does_not_match_its_card_is_refused(ray_local, tmp_path):
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 1, "--no-tracking", "--results-dir", tmp_path / "r",
                     "--models-dir", tmp_path / "m")
    assert result.code == 0, result.err
    model = tmp_path / "m" / "svm_best.skops"
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert run_cli("evaluate", model).code == 0
    model.write_bytes(model.read_bytes() + b"\0")  # changed after the export (zip readers ignore a trailing byte)
    result = run_cli("evaluate", model)
    assert result.code == 2 and "does not match its card" in result.err and "--trust" in result.err
    assert run_cli("evaluate", model, "--trust").code == 0  # knowingly: still through skops' type check
    model.with_suffix(".json").unlink()
    result = run_cli("evaluate", model)
    assert result.code == 2 and "no model card beside it" in result.err


def test_a_local_ray_lives_on_127_0_0_1_when_the_cli_runs_as_a_user_runs_it(tmp_path):
    """`python -m search svm ...` as a user types it (run as the __main__ module, nothing set
    beforehand): once its Ray is up, the node address, GCS and every listening socket of
    its processes (workers included) are on the loopback, not on the machine's address."""
    probe = ("import os, subprocess, runpy, sys\n"
             "from search.engine import phases\n"
             "original = phases.fit\n"
             "def fit_and_probe(search, tuner):\n"
             "    import ray\n"
             "    ray.get(ray.remote(lambda: 1).remote())  # a worker process too\n"
             "    session = os.path.basename(ray._private.worker._global_node.get_session_dir_path())\n"
             "    ps = subprocess.run(['ps', '-ww', '-eo', 'pid,args'], capture_output=True, text=True).stdout\n"
             "    pids = {l.split()[0] for l in ps.splitlines() if session in l} | {str(os.getpid())}\n"
             "    ss = subprocess.run(['ss', '-ltnpH'], capture_output=True, text=True).stdout\n"
             "    print('SOCKETS', ' '.join(l.split()[3] for l in ss.splitlines() if any(f'pid={p},' in l for p in pids)))\n"
             "    print('ADDRESSES', ray.nodes()[0]['NodeManagerAddress'], ray.get_runtime_context().gcs_address)\n"
             "    return original(search, tuner)\n"
             "phases.fit = fit_and_probe\n"
             "sys.argv = ['search', 'svm', '--data', 'demo:300', '--trials', '1', '--scheduler', 'none', '--no-tracking',\n"
             "            '--results-dir', sys.argv[1], '--models-dir', sys.argv[2]]\n"
             "runpy.run_module('search', run_name='__main__')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TF_", "MLFLOW_"))}
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "results"), str(tmp_path / "models")],
                          env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("SOCKETS", "ADDRESSES")))
    node, gcs = lines["ADDRESSES"].split()
    assert node == "127.0.0.1" and gcs.startswith("127.0.0.1:")
    listening = lines["SOCKETS"].split()
    assert len(listening) >= 3  # GCS, raylet, driver, worker
    assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]") for a in listening), listening
    # and the search itself, as a user sees it
    assert "[svm] 1/1 done" in proc.stdout and "best svm: val_accuracy" in proc.stdout
    assert (tmp_path / "models" / "svm_best.skops").exists() and "Traceback" not in proc.stderr
    board = python("-m", "search", "leaderboard", "--results-dir", str(tmp_path / "results"), cwd=tmp_path, timeout=120)
    assert board.returncode == 0 and board.stdout.count(" svm ") == 1
