"""Writing a file so that a reader never sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, write) -> None:
    """``write(temporary_path)``, then one rename onto ``path``: the old file or the new
    one, never a mix, even when the writer dies half-way."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(*folders: tuple[str, Path]) -> None:
    """Before any work, the folders a command will write, given as (option, folder): each
    made (with its parents) and a temporary file written in it, so that /proc, a read-only
    mount or a path under a file is one line now rather than a traceback after the trials.
    A failed check leaves nothing behind, not even the folders of the checks that passed."""
    made: list[Path] = []
    try:
        for option, folder in folders:
            folder, whole = Path(folder), Path(folder).absolute()
            made += [p for p in (whole, *whole.parents) if not p.exists()][::-1]  # outermost first
            _write_in(option, folder)
    except BaseException:
        for p in reversed(made):  # innermost first
            try:
                p.rmdir()
            except OSError:
                pass
        raise


def _write_in(option: str, folder: Path) -> None:
    from trainables.errors import FerSearchError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".fer-search-check-"):
            pass
    except OSError as e:
        blocker = next((p for p in folder.absolute().parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is not a folder" if blocker else (e.strerror or type(e).__name__)
        raise FerSearchError(f"{option} {folder}: cannot write there ({why})", hint=f"pass {option} a folder you can write") from None
