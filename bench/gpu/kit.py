"""The device kit: what our search needs on a lent GPU machine that its image lacks, as
wheels in one ignored folder small enough to travel with a call (64 MiB in all).

The machine (``/work/.library/device``'s H200) has Python 3.12, JAX with CUDA, numpy,
pandas, pyarrow, scikit-learn, OpenCV, absl-py, h5py, ml-dtypes, rich, protobuf, msgpack,
click, filelock, PyYAML, requests, tqdm; no TensorFlow, Keras, Ray, Optuna or MLflow, and
no package registry. So the networks run there under Keras on JAX (``--backend jax``),
untracked (``--no-tracking``: MLflow stays here), and the kit carries Ray (its wheel less
the Java workers, the dashboard's web client, RLlib, Serve and the LLM libraries), Optuna
and Keras with their small kin.

    python -m bench.gpu.kit build [--python 3.12] [--out .device/kit]   # here: the wheels, trimmed
    python -m bench.gpu.kit size [--out .device/kit]                    # what would travel

``bench/gpu/there.sh`` installs the kit with no index and runs the stages there;
``bench/gpu/rehearse.sh`` does both here, in a fresh venv holding only what the machine
has, on the CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import base64
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / ".device" / "kit"
LIMIT_MIB = 64
# What the image lacks, at the versions this checkout runs with (ray[tune], optuna, keras).
CARRIED = ("ray", "optuna", "alembic", "sqlalchemy", "mako", "colorlog", "keras", "namex", "optree", "jsonschema",
           "jsonschema-specifications", "referencing", "rpds-py", "tensorboardx", "greenlet", "typing-inspection",
           "pydantic", "pydantic-core", "annotated-types",  # pydantic: ray.train (v2), which ray.tune imports
           "skops", "prettytable", "wcwidth")  # skops: the classical families' exports (auto's svm)
# Parts of Ray's wheel a search never loads (30.7 MiB of Java jar, 2.4 MiB of web client, ...).
RAY_LEFT_OUT = ("ray/jars/", "ray/dashboard/client/", "ray/rllib/", "ray/serve/", "ray/llm/", "ray/cpp/")
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "any")


def version_of(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def download(out: Path, python: str) -> list[Path]:
    """Each carried package's wheel for ``python`` on x86-64 Linux, without dependencies."""
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for name in CARRIED:
        version = version_of(name)
        spec = f"{name}=={version}" if version else name
        platforms = [a for p in PLATFORMS for a in ("--platform", p)]
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--python-version", python, *platforms, "--dest", str(wheels), spec], check=True)
    return sorted(wheels.glob("*.whl"))


def trim(wheel: Path, left_out: tuple[str, ...] = RAY_LEFT_OUT) -> Path:
    """The wheel without ``left_out``, its RECORD rewritten (pip checks it)."""
    trimmed = wheel.with_name(wheel.name + ".trimmed")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as target:
        record_name = next(n for n in source.namelist() if n.endswith(".dist-info/RECORD"))
        kept = [i for i in source.infolist() if not i.filename.startswith(left_out) and i.filename != record_name]
        records = []
        for info in kept:
            data = source.read(info)
            target.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{info.filename},sha256={digest},{len(data)}")
        records.append(f"{record_name},,")
        target.writestr(record_name, "\n".join(records) + "\n")
    trimmed.replace(wheel)
    return wheel


def size_mib(out: Path) -> float:
    return sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 2**20


def build(out: Path, python: str) -> None:
    for old in (out / "wheels").glob("*.whl"):
        old.unlink()
    for wheel in download(out, python):
        if wheel.name.startswith("ray-"):
            trim(wheel)
    mib = size_mib(out)
    print(f"kit: {len(list((out / 'wheels').glob('*.whl')))} wheels for Python {python}, {mib:.1f} MiB in {out}")
    if mib > LIMIT_MIB - 4:  # the working tree travels with it
        print(f"kit: over {LIMIT_MIB - 4} MiB: it would not travel with the working tree in one call", file=sys.stderr)
        sys.exit(1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu.kit", description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("build", "size"))
    p.add_argument("--python", default="3.12", help="the device's Python (default: 3.12)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if args.what == "build":
        build(args.out, args.python)
    else:
        print(f"{size_mib(args.out):.1f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
