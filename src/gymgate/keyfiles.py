"""Files under keys/ that decide which tokens are trusted: written with exact modes, and
refused when someone other than their owner could have changed them.

Whoever can write keyset.json decides which keys verify passes, so a group-writable file (a
checkout under umask 002) would let a local user add their own key as verify-only. Modes are
therefore set explicitly, never left to the umask, and reading refuses a file or directory
that another user owns or that group or others may write (the rule OpenSSH's StrictModes
applies to authorized_keys). Readable-by-others is not refused here: keyset.json and exports
hold public keys only; private keys have their own, stricter check in KeyStore.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from gymgate.errors import KeyStoreError

__all__ = [
    "DIRECTORY_MODE",
    "METADATA_MODE",
    "PRIVATE_KEY_MODE",
    "PUBLIC_FILE_MODE",
    "check_trusted",
    "open_lock",
    "secure_directory",
    "write_atomically",
    "write_public_file",
]

DIRECTORY_MODE = 0o700
PRIVATE_KEY_MODE = 0o600
# keyset.json holds no secret, but 0600 keeps one rule for everything in keys/ (owner only,
# checkable at a glance with `ls -l`), and its contents stay private should the directory
# ever be loosened, e.g. restored from a backup as 0755.
METADATA_MODE = 0o600
LOCK_MODE = 0o600
# An exported JWKS is meant to be copied to scanners and read by other users.
PUBLIC_FILE_MODE = 0o644
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def _trusted_owner(uid: int) -> bool:
    """Ourselves, or root (who could change the file anyway)."""
    return uid in (os.geteuid(), 0)


def _refuse_foreign_owner(path: Path, uid: int) -> None:
    if not _trusted_owner(uid):
        raise KeyStoreError(
            f"{path} is owned by uid {uid}, not by this user (uid {os.geteuid()}), so it "
            f"cannot be trusted to say which keys are valid: run `chown {os.geteuid()} {path}` "
            "or run gymgate as its owner"
        )


def check_trusted(path: Path, info: os.stat_result, fix_mode: int) -> None:
    """Refuse `path` (whose stat is `info`) when another user owns it or group/others may
    write it. The message is one line naming the file and the command that fixes it."""
    _refuse_foreign_owner(path, info.st_uid)
    mode = stat.S_IMODE(info.st_mode)
    if mode & _WRITABLE_BY_OTHERS:
        raise KeyStoreError(
            f"{path} has mode {mode:o}, writable by other users, so it cannot be trusted "
            f"to say which keys are valid: run `chmod {fix_mode:o} {path}`"
        )


def secure_directory(directory: Path) -> None:
    """Create the keys directory if needed and force it to 0700, whatever the umask."""
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    info = directory.stat()
    _refuse_foreign_owner(directory, info.st_uid)
    if stat.S_IMODE(info.st_mode) == DIRECTORY_MODE:
        return
    try:
        directory.chmod(DIRECTORY_MODE)
    except PermissionError:
        raise KeyStoreError(
            f"cannot make {directory} private: run `chmod 700 {directory}` as its owner"
        ) from None


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new one.

    The temporary file is created 0600 (mkstemp's os.open), then set to exactly `mode`
    before anything is written, so the umask never widens or narrows the result.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # a power cut must not leave an empty file behind
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_public_file(path: Path, text: str) -> None:
    """Write a file meant for others to read (an exported JWKS): mode 0644, atomically."""
    write_atomically(path, text.encode(), PUBLIC_FILE_MODE)


def open_lock(path: Path) -> int:
    """Open (creating it 0600 if needed) the lock file; the caller closes the descriptor."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, LOCK_MODE)
    except PermissionError:
        raise KeyStoreError(f"cannot open {path}: run `chmod 600 {path}` as its owner") from None
    try:
        info = os.fstat(descriptor)
        _refuse_foreign_owner(path, info.st_uid)
        if stat.S_IMODE(info.st_mode) != LOCK_MODE:
            os.fchmod(descriptor, LOCK_MODE)  # made by an older version under its umask
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor
