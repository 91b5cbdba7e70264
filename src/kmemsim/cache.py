"""kmemsim's on-disk cache: values kmemsim can always compute again, kept to save the time.

A cache is never required.  A missing, unreadable, unwritable, stale or corrupt entry only
means the value is computed again (and, where the directory is writable, stored again); no
error of the cache ever reaches the user.  ``KMEMSIM_CACHE=0`` turns it off.

Where: ``$XDG_CACHE_HOME/kmemsim`` (an absolute ``XDG_CACHE_HOME``, as the XDG base
directory specification asks), else ``~/.cache/kmemsim``.  Each kind of value has its own
subdirectory (``snapshots/``: parsed snapshot archives, :mod:`kmemsim.snapshot`).

An entry is a file named by the hex digest of its key: the caller puts into the key
everything the value depends on (the input's bytes, the format of the entry, kmemsim's
version, the code that computes it), so a changed input or kmemsim never finds an old
entry.  The file is the magic line, the BLAKE2b digest of the payload and the payload
(:mod:`marshal` data: plain values only, never code or objects); an entry whose digest
does not match -- truncated, overwritten, damaged -- is a miss.  Entries are written to a
temporary file and renamed into place, so a reader never sees half of one.
"""
from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from typing import Any

try:
    from _blake2 import blake2b  # hashlib's BLAKE2 itself, without loading OpenSSL (_hashlib: 3 ms)
except ImportError:  # pragma: no cover - a Python built without _blake2
    from hashlib import blake2b

__all__ = ["cache_dir", "enabled", "get", "key", "put"]

_MAGIC = b"kmemsim-cache 1\n"
_DIGEST = 32


def enabled() -> bool:
    """False when ``KMEMSIM_CACHE=0`` (or ``off``, ``no``, ``false``)."""
    return os.environ.get("KMEMSIM_CACHE", "1").strip().lower() not in ("0", "off", "no", "false")


def cache_dir(kind: str) -> Path | None:
    """The directory of one kind of entry (it may not exist yet), or None when the cache is off
    or there is no home directory to put it under."""
    if not enabled():
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "kmemsim" / kind


def key(*parts: bytes | str) -> str:
    """The hex digest naming an entry: of every part, each length-prefixed (so no two lists of
    parts give the same key), with the Python that reads the marshal data."""
    h = blake2b(digest_size=20)
    for p in (sys.implementation.cache_tag or "", str(marshal.version), *parts):
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def get(kind: str, name: str) -> Any:
    """The value stored under ``name``, or None (no cache, no entry, or a damaged one)."""
    d = cache_dir(kind)
    if d is None:
        return None
    try:
        with open(d / name, "rb") as f:
            blob = f.read()
    except (OSError, ValueError):
        return None
    head = len(_MAGIC) + _DIGEST
    if len(blob) < head or not blob.startswith(_MAGIC):
        return None
    payload = memoryview(blob)[head:]
    if blake2b(payload, digest_size=_DIGEST).digest() != blob[len(_MAGIC):head]:
        return None
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None


def put(kind: str, name: str, value: Any) -> bool:
    """Store ``value`` (plain values: what :mod:`marshal` writes) under ``name``; True if stored.
    An unwritable directory or a full disk is not an error: the entry is simply not kept."""
    d = cache_dir(kind)
    if d is None:
        return False
    try:
        payload = marshal.dumps(value)
    except ValueError:
        return False
    blob = _MAGIC + blake2b(payload, digest_size=_DIGEST).digest() + payload
    tmp = None
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = str(d / f".{name}.{os.getpid()}.{id(blob):x}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, d / name)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
