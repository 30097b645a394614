"""``python -m tests.fakes.logical_gpu ARGS``: the CLI on a Ray instance that claims one GPU,
the CPU twin of a GPU workstation. Ray schedules a trial that asks for a GPU as on one;
Keras finds no GPU in it and trains on the CPU. Only Ray's bookkeeping is faked: every
component is the real one."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import ray

    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=2, num_gpus=1,
             object_store_memory=400 * 1024 * 1024, log_to_driver=False)
    from search.cli import main as cli

    try:
        return cli(argv)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
