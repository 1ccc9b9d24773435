"""Reading the wallets' certificate and key files, each failure one line naming its setting."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from gymgate.errors import ConfigError
from gymgate.settings import ENV_PREFIX

__all__ = ["read_certificate", "read_private_file", "read_public_file"]


def read_public_file(path: Path, setting: str) -> bytes:
    """The file's bytes; ConfigError naming GYMGATE_<setting> if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"{ENV_PREFIX}{setting}={str(path)!r} cannot be read: {error.strerror}"
        ) from None


def read_private_file(path: Path, setting: str) -> bytes:
    """A file holding a private key: refused unless only its owner may read it (0600 or 0400),
    as gymgate's own signing keys are."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        raise ConfigError(
            f"{ENV_PREFIX}{setting}={str(path)!r} cannot be read: {error.strerror}"
        ) from None
    if mode & 0o077:
        raise ConfigError(
            f"{ENV_PREFIX}{setting}={str(path)!r} has mode {mode:o}, readable by other users: "
            f"run `chmod 600 {path}`"
        )
    return read_public_file(path, setting)


def read_certificate(path: Path, setting: str) -> x509.Certificate:
    """A PEM (or DER) X.509 certificate."""
    data = read_public_file(path, setting)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ConfigError(
            f"{ENV_PREFIX}{setting}={str(path)!r} is not an X.509 certificate (PEM or DER)"
        ) from None
