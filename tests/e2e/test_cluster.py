"""Beyond one machine: cluster.yaml against Ray's launcher schema, and a real local
multi-node cluster (a head and two workers started with `ray start`) that a search joins
with --address, including one whose worker node is killed mid-search."""

import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from search import environment
from search.stores.leaderboard import read_file as read_board
from tests.conftest import ROOT, TINY_DEMO

CLUSTER_YAML = ROOT / "cluster.yaml"
RAY = str(Path(sys.executable).with_name("ray"))
GB = 1024**3


# ---------------------------------------------------------------- cluster.yaml


@pytest.fixture(scope="module")
def launcher_config():
    return yaml.safe_load(CLUSTER_YAML.read_text())


def test_cluster_yaml_passes_rays_own_validation(launcher_config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(launcher_config)))  # what `ray up` does first
    broken = copy.deepcopy(launcher_config)
    broken["available_node_types"]["worker.gpu"]["min_workers"] = "none"
    with pytest.raises(Exception, match="is not of type 'integer'"):
        validate_config(prepare_config(broken))


def test_cluster_yaml_what_the_schema_cannot_see(launcher_config):
    types = launcher_config["available_node_types"]
    head = types[launcher_config["head_node_type"]]
    workers = {name: t for name, t in types.items() if name != launcher_config["head_node_type"]}
    gpu_families = ("p3", "p4", "p5", "g4dn", "g5", "g6")
    gpu_workers = [t for t in workers.values() if t["node_config"]["InstanceType"].split(".")[0] in gpu_families]
    assert gpu_workers and all(t["min_workers"] == 0 for t in workers.values())
    assert head["resources"].get("CPU") == 0  # the head drives; trials run on workers
    # the project reaches every node and installs itself
    assert launcher_config["file_mounts"]["~/fer-search"] == "."
    assert any("pip install" in c and "~/fer-search" in c for c in launcher_config["setup_commands"])
    # nothing but SSH faces the internet
    rules = launcher_config["provider"]["security_group"]["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"]) for r in rules] == [(22, 22)]
    head_start = " ".join(launcher_config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start and "0.0.0.0" not in head_start
    assert "ray-client-server-port" not in head_start
    mlflow = " ".join(launcher_config["head_setup_commands"])
    assert "mlflow server --host 127.0.0.1" in mlflow
    assert launcher_config["idle_timeout_minutes"] > 0


# ---------------------------------------------------------------- a local multi-node cluster


def _env():
    # The nodes start as on a fresh machine: none of the settings the CLI makes for itself
    # (the in-process CLI of earlier tests made them in this process).
    made = {**environment.SETTINGS, **environment.LOCAL_RAY, **environment.QUIET}
    env = {k: v for k, v in os.environ.items() if k not in made}
    # Token authentication must agree between head, workers and driver: off for all.
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    # A killed node is declared dead after a few seconds rather than Ray's default of about
    # 15 (a health check every 3 s, 5 missed), with room left for a busy 2-core machine.
    env.update(RAY_health_check_period_ms="1000", RAY_health_check_timeout_ms="3000",
               RAY_health_check_failure_threshold="4")
    return env


class LocalCluster:
    """A head and two workers, each `ray start`ed with its own loopback address
    (127.0.0.2-4: Ray turns a literal 127.0.0.1 into the machine's outward address when
    clusters are on), one CPU and bounded memory each."""

    def __init__(self):
        # short: Ray's socket paths live under it and are limited to 107 characters
        self.temp = tempfile.mkdtemp(prefix="fer-rc-", dir="/tmp")
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.2:{self.port}"
        self.env = _env()

    def ray_start(self, *args):
        subprocess.run([RAY, "start", "--num-cpus", "1", f"--memory={2 * GB}", f"--object-store-memory={GB // 4}",
                        "--disable-usage-stats", *args], env=self.env, check=True, capture_output=True, timeout=120)

    def start(self):
        self.ray_start("--head", "--node-ip-address", "127.0.0.2", "--port", str(self.port), "--temp-dir", self.temp,
                       "--include-dashboard", "false", "--resources", '{"fer_head": 1}')
        for i, ip in ((1, "127.0.0.3"), (2, "127.0.0.4")):
            self.ray_start("--address", self.address, "--node-ip-address", ip, "--temp-dir", self.temp,
                           "--resources", f'{{"fer_w{i}": 1}}')
        deadline = time.time() + 60
        while time.time() < deadline and len(self.alive_nodes()) < 3:
            time.sleep(1)
        assert len(self.alive_nodes()) == 3
        return self

    def alive_nodes(self) -> list[str]:
        code = ("import ray, json; ray.init(address='%s', logging_level='ERROR');"
                "print(json.dumps([n['NodeID'] for n in ray.nodes() if n['Alive']]))") % self.address
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []

    def raylet(self, marker: str) -> tuple[int, str]:
        """(pid, node id) of the raylet started with a custom resource named ``marker``."""
        ps = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
        for line in ps.splitlines():
            if "raylet/raylet" in line and self.temp in line and f"static_resource_list={marker}," in line:
                return int(line.split()[0]), re.search(r"--node_id=([0-9a-f]+)", line).group(1)
        raise LookupError(marker)

    def stop(self):
        subprocess.run(["pkill", "-9", "-f", self.temp])


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster().start()
    yield c
    c.stop()


def search(cluster, tmp_path, *args, wait=True):
    cmd = [sys.executable, "-m", "search", *args, "--address", cluster.address,
           "--results-dir", str(tmp_path / "results"), "--models-dir", str(tmp_path / "models")]
    if not wait:
        return subprocess.Popen(cmd, cwd=tmp_path, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=tmp_path, env=cluster.env, capture_output=True, text=True, timeout=600)


def test_a_multi_node_search_needs_storage(cluster, tmp_path):
    proc = search(cluster, tmp_path, "svm", "--data", TINY_DEMO, "--trials", "2")
    assert proc.returncode == 2
    assert "this Ray cluster has 3 nodes: a multi-node search needs --storage" in proc.stderr
    assert "Traceback" not in proc.stderr and not list((tmp_path / "results").glob("*/"))  # no search started


def test_trials_spread_over_the_nodes(cluster, tmp_path):
    storage = tmp_path / "shared"
    proc = search(cluster, tmp_path, "svm", "--data", TINY_DEMO, "--trials", "6", "--name", "spread",
                  "--storage", str(storage), "--scheduler", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = read_board(tmp_path / "results")
    assert len(board) == 6 and set(board["status"]) == {"finished"}
    assert board["node"].nunique() >= 2 and set(board["node"]) <= set(cluster.alive_nodes())
    assert len(list(storage.glob("spread/train_*"))) == 6  # the experiment lives in the storage
    assert (tmp_path / "models" / "svm_best.skops").exists()  # exported on the driver's side


def test_workers_on_other_nodes_get_the_settings_they_read(cluster):
    """A cluster's raylets start workers in their node's environment, not the driver's: the
    search's job carries what workers read (TensorFlow's log level, the classical workers'
    malloc arenas) to every node."""
    code = ("import json, os, ray; from search import environment; from search.engine import tuner;"
            "environment.configure(joins_cluster=True);"
            "tuner.start_ray(address=%r, worker_env={'MALLOC_ARENA_MAX': '2'});"
            "env = lambda: {k: os.environ.get(k) for k in ('TF_CPP_MIN_LOG_LEVEL', 'MALLOC_ARENA_MAX')};"
            "print(json.dumps([ray.get(ray.remote(env).options(resources={m: 0.01}).remote()) for m in ('fer_w1', 'fer_w2')]))"
            ) % cluster.address
    out = subprocess.run([sys.executable, "-c", code], env=cluster.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [{"TF_CPP_MIN_LOG_LEVEL": "3", "MALLOC_ARENA_MAX": "2"}] * 2


def kill_node(raylet: int) -> None:
    """A machine that dies takes all its processes at once: its workers are killed with its
    raylet, not left to finish a rung and report it before they notice their raylet gone."""
    family, todo = [], [raylet]
    while todo:
        pid = todo.pop()
        family.append(pid)
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        todo += [int(c) for c in children]
    for pid in family:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_dead_worker_node_loses_no_trial(cluster, tmp_path):
    storage = tmp_path / "shared"
    # either worker may be the one to die: the search's first point (the defaults) takes a
    # whole node and reports only once, at the end, so one worker may run no rung at all
    raylets = {node: pid for pid, node in (cluster.raylet(marker) for marker in ("fer_w1", "fer_w2"))}
    node = None
    # forests of a fixed, small cost: each rung a fit of a second or more, so a trial is caught
    # between rungs with its later rungs (about 6 s) still to run; 300 trees took 47 s longer
    proc = search(cluster, tmp_path, "rf", "--data", "demo:2000", "--trials", "4", "--name", "node-loss",
                  "--fix", "n_estimators=100", "--fix", "max_features=0.1", "--fix", "mirror=False",
                  "--storage", str(storage), "--scheduler", "none", wait=False)
    killed = False
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None and not killed:
            for result in storage.glob("node-loss/train_*/result.json"):
                lines = [json.loads(x) for x in result.read_text().splitlines() if x.strip()]
                if lines and lines[-1].get("node_id") in raylets and lines[-1]["train_fraction"] < 1:
                    node = lines[-1]["node_id"]
                    kill_node(raylets[node])  # the node dies under a running trial
                    killed = True
                    break
            time.sleep(0.2)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed, "no trial ran a rung on a worker node before the search ended"
    assert proc.returncode == 0, err[-3000:]
    board = read_board(tmp_path / "results")
    assert len(board) == 4 and set(board["status"]) == {"finished"}  # retried, none lost or failed
    retried = [r for r in storage.glob("node-loss/train_*/result.json")
               if {json.loads(x)["node_id"] for x in r.read_text().splitlines() if x.strip()} - {node}
               and node in r.read_text()]
    assert retried, "the trial on the dead node was not rerun elsewhere"
