"""The Keras dtype policy of a network trial (``--precision``). No TensorFlow import here:
the CLI reads the choices."""

from __future__ import annotations

import re
from pathlib import Path

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): there, oneDNN trains
    the cnn in mixed_bfloat16 about 1.3x faster than in float32 (measured on an AVX512-BF16
    EPYC); elsewhere bfloat16 is emulated and slower. Linux only: /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def precision_policy(requested: str, on_gpu: bool) -> str:
    """The Keras dtype policy for ``--precision``: auto picks float16 on a GPU, bfloat16 on
    a CPU that has it, else float32. The softmax layer stays float32 under either."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r}: expected one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    if on_gpu:
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"
