"""The Ed25519 key set: on disk under keys/, in memory as a KeySet looked up by kid only.

Layout of the keys directory (0700, forced on every change):
    keyset.json    kid, created_at, status and public key of every key; no secrets; mode 0600
    <kid>.pem      PKCS#8 private key of a key that may still sign, mode 0600
    .lock          serialises changes, mode 0600

keyset.json decides which tokens are trusted, so it is not read when another user could have
changed it (see gymgate.keyfiles).

Rotation is add, demote, prune: `rotate()` adds a new active key and demotes the old active
one to verify-only (tokens it signed keep verifying); `retire(kid)` stops accepting a key and
deletes its private half. A verifier needs only keyset.json (or an exported JWKS).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gymgate.clock import Clock, to_iso
from gymgate.errors import ConfigError, KeyStoreError
from gymgate.keyfiles import (
    DIRECTORY_MODE,
    METADATA_MODE,
    PRIVATE_KEY_MODE,
    check_trusted,
    open_lock,
    secure_directory,
    write_atomically,
)
from gymgate.vocabulary import KeyStatus

__all__ = [
    "KeyEntry",
    "KeyLookup",
    "KeySet",
    "KeyStore",
    "ReloadingKeySet",
    "kid_for",
]

METADATA_FILE = "keyset.json"
KID_LENGTH = 8
LOCK_FILE = ".lock"
# A kid we do not know makes a server look at keys/ at once, but at most this often.
MISS_RECHECK_SECONDS = 0.1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_for(key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint, cut to 8 characters to keep tokens (and QRs) small.

    A kid only picks a key out of a handful, it proves nothing (the signature does), and 40
    bits keep apart any number of keys a deployment will ever have; `rotate` still refuses
    a repeat. Eight characters fewer keep a pass inside QR version 12 at level M. Base32
    (a-z, 2-7), not base64url: a kid starting with '-' would read as an option on the
    command line (`gymgate keys retire KID`).
    """
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:KID_LENGTH]


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key as a verifier sees it: public half and lifecycle status."""

    kid: str
    created_at: str
    status: KeyStatus
    public_key: Ed25519PublicKey

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(_raw_public(self.public_key)),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }


class KeyLookup(Protocol):
    """Where a verifier finds the public key of a kid: a KeySet, or a ReloadingKeySet."""

    def verification_key(self, kid: str) -> Ed25519PublicKey | None: ...


@dataclass(frozen=True, slots=True)
class KeySet:
    """An immutable snapshot of the keys; verification looks up `kid` here and nowhere else."""

    entries: tuple[KeyEntry, ...]
    signing_key: Ed25519PrivateKey | None = None

    @property
    def active_kid(self) -> str | None:
        return next((e.kid for e in self.entries if e.status == "active"), None)

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key for kid if tokens signed by it are still accepted."""
        for entry in self.entries:
            if entry.kid == kid and entry.status != "retired":
                return entry.public_key
        return None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Public keys of every accepted key, as a JWKS document."""
        return {"keys": [e.jwk() for e in self.entries if e.status != "retired"]}

    @classmethod
    def from_jwks(cls, document: Any) -> KeySet:
        """A verify-only key set from a JWKS document (offline scanners)."""
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeyStoreError('not a JWKS document: expected {"keys": [...]}')
        entries = []
        for jwk in document["keys"]:
            if not isinstance(jwk, dict):
                raise KeyStoreError("not a JWKS document: a key is not an object")
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue  # only Ed25519 keys can verify our tokens; ignore the rest
            try:
                public = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))
            except (KeyError, ValueError) as exc:
                raise KeyStoreError(f"JWKS key {jwk.get('kid')!r} is unreadable") from exc
            entries.append(KeyEntry(str(jwk.get("kid", "")), "", "verify-only", public))
        return cls(tuple(entries))


class KeyStore:
    """The keys directory; every change is atomic and serialised by a file lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.metadata_path = directory / METADATA_FILE

    def exists(self) -> bool:
        return self.metadata_path.is_file()

    def load(self) -> KeySet:
        """Read the key set; the private key is loaded only for the active kid."""
        records = self._read_records()
        entries = tuple(
            KeyEntry(
                kid=r["kid"],
                created_at=r["created_at"],
                status=r["status"],
                public_key=Ed25519PublicKey.from_public_bytes(_b64url_decode(r["x"])),
            )
            for r in records
        )
        keyset = KeySet(entries)
        active = keyset.active_kid
        if active is None or not self._private_path(active).exists():
            return keyset  # a verify-only deployment: public keys only
        return KeySet(entries, self._read_private(active))

    def rotate(self, clock: Clock) -> str:
        """Add a new active key and demote the previous one to verify-only; return its kid."""
        secure_directory(self.directory)
        with self._locked():
            records = self._read_records() if self.exists() else []
            taken = {record["kid"] for record in records}
            private = Ed25519PrivateKey.generate()
            kid = kid_for(private.public_key())
            while kid in taken:  # 1 in 2**40: never, but be sure
                private = Ed25519PrivateKey.generate()
                kid = kid_for(private.public_key())
            self._write_private(kid, private)
            for record in records:
                if record["status"] == "active":
                    record["status"] = "verify-only"
            records.append(
                {
                    "kid": kid,
                    "created_at": to_iso(clock.now()),
                    "status": "active",
                    "x": _b64url(_raw_public(private.public_key())),
                }
            )
            self._write_records(records)
        return kid

    def ensure_active_key(self, clock: Clock) -> str:
        """The active kid, creating a first key when there is none.

        keys/ is made 0700 either way (a fresh clone has it 0755, or 0775 under umask 002),
        but only as far as it can be: a verify-only deployment mounts it read-only, and load
        has already refused one that others could write.
        """
        if self.exists():
            active = self.load().active_kid
            if active is not None:
                with suppress(KeyStoreError, OSError):
                    secure_directory(self.directory)
                return active
        return self.rotate(clock)

    def retire(self, kid: str) -> None:
        """Stop accepting tokens signed by kid and delete its private key."""
        if not self.directory.is_dir():
            raise _missing_directory(self.directory)
        secure_directory(self.directory)
        with self._locked():
            records = self._read_records()
            record = next((r for r in records if r["kid"] == kid), None)
            if record is None:
                known = ", ".join(r["kid"] for r in records) or "none"
                raise KeyStoreError(f"unknown kid {kid!r} (known: {known})")
            if record["status"] == "active":
                raise KeyStoreError(
                    f"{kid} is the active signing key: run `gymgate keys rotate` first"
                )
            record["status"] = "retired"
            self._write_records(records)
            self._private_path(kid).unlink(missing_ok=True)

    def check_private_key_permissions(self) -> None:
        """Refuse a key set that another user could change, and private key files that
        anyone but the owner could read (`gymgate serve` calls this before starting)."""
        self._check_directory()
        if self.exists():
            check_trusted(self.metadata_path, self.metadata_path.stat(), METADATA_MODE)
        for path in sorted(self.directory.glob("*.pem")):
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise ConfigError(
                    f"private key {path} has mode {mode:o}: run `chmod 600 {path}` "
                    f"(GYMGATE_KEYS_DIR={self.directory})"
                )

    def signature(self) -> tuple[int, int] | None:
        """A cheap fingerprint of the metadata file, to notice changes made by the CLI."""
        try:
            info = self.metadata_path.stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def _private_path(self, kid: str) -> Path:
        return self.directory / f"{kid}.pem"

    def _check_directory(self) -> None:
        if not self.directory.is_dir():
            raise _missing_directory(self.directory)
        check_trusted(self.directory, self.directory.stat(), DIRECTORY_MODE)

    def _read_records(self) -> list[dict[str, Any]]:
        self._check_directory()
        try:
            with self.metadata_path.open("rb") as handle:
                # Checked on the open file: the one judged is the one read.
                check_trusted(self.metadata_path, os.fstat(handle.fileno()), METADATA_MODE)
                document = json.loads(handle.read())
            records: list[dict[str, Any]] = document["keys"]
        except FileNotFoundError:
            raise KeyStoreError(
                f"no keys in {self.directory}: run `gymgate keys rotate` to make one"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"{self.metadata_path} is corrupt: {exc}") from None
        return records

    def _write_records(self, records: list[dict[str, Any]]) -> None:
        document = json.dumps({"keys": records}, indent=2) + "\n"
        write_atomically(self.metadata_path, document.encode(), METADATA_MODE)

    def _read_private(self, kid: str) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self._private_path(kid).read_bytes(), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyStoreError(f"{self._private_path(kid)} is not an Ed25519 private key")
        return key

    def _write_private(self, kid: str, key: Ed25519PrivateKey) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Created 0600 from the first byte: never briefly readable by others. fchmod makes it
        # exactly 0600 whatever the umask took away.
        path = self._private_path(kid)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_KEY_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_KEY_MODE)
            handle.write(pem)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        descriptor = open_lock(self.directory / LOCK_FILE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock


def _missing_directory(directory: Path) -> KeyStoreError:
    return KeyStoreError(
        f"keys directory {directory} does not exist: run `gymgate keys rotate` "
        "or set GYMGATE_KEYS_DIR"
    )


class ReloadingKeySet:
    """A KeySet that picks up CLI rotations: it re-reads keys/ when the metadata changes."""

    def __init__(self, store: KeyStore, check_every_seconds: float = 1.0) -> None:
        self._store = store
        self._check_every = check_every_seconds
        self._signature = store.signature()
        self._keyset = store.load() if self._signature is not None else KeySet(())
        self._checked_at = time.monotonic()

    def current(self) -> KeySet:
        """The latest key set, checking the disk at most once per interval.

        With no keys/ yet it is empty (nothing verifies, nothing signs) until one appears:
        a CLI command that needs no key must not fail for the lack of one.
        """
        if time.monotonic() - self._checked_at >= self._check_every:
            self._check_disk()
        return self._keyset

    def refresh(self) -> KeySet:
        """The key set as on disk now: after this process changed keys/ itself."""
        self._check_disk()
        return self._keyset

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key for kid; a kid we do not know sends us to the disk at once (at most every
        MISS_RECHECK_SECONDS): after a rotation on another server, its new passes can reach
        us before our periodic check, and must not be denied unknown_key meanwhile."""
        key = self.current().verification_key(kid)
        if key is None and time.monotonic() - self._checked_at >= MISS_RECHECK_SECONDS:
            self._check_disk()
            key = self._keyset.verification_key(kid)
        return key

    def _check_disk(self) -> None:
        self._checked_at = time.monotonic()
        signature = self._store.signature()
        if signature != self._signature:
            try:
                self._keyset = self._store.load()
            except (KeyStoreError, OSError, ValueError):
                return  # caught mid-change: keep serving, look again soon
            self._signature = signature
