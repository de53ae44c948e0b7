"""Files of the embedded store, readable by their owner only, whatever the umask.

Directories credsign creates are 0700 and files 0600 (set explicitly after
creation: a umask can only take bits away, and may take the owner's too).
Directories that already exist are the user's and are left as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from credsign.errors import StoreError

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def _failure(action: str, path: Path, error: OSError) -> StoreError:
    return StoreError(f"cannot {action} {path}: {error.strerror or type(error).__name__}")


def make_private_directories(directory: Path) -> None:
    """Create ``directory`` and its missing parents with mode 0700."""
    missing = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            continue  # another process made it: theirs, not ours to change
        except OSError as error:
            failure = _failure("create directory", path, error)
            break
        os.chmod(path, DIRECTORY_MODE)
    else:
        return
    raise failure


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left as it is)."""
    make_private_directories(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    except OSError as error:
        failure = _failure("create", path, error)
    else:
        try:
            os.fchmod(descriptor, FILE_MODE)
        finally:
            os.close(descriptor)
        return
    raise failure


def fsync_directory(directory: Path) -> None:
    """Make a link or rename in ``directory`` durable (the entry, not only the file's data)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
