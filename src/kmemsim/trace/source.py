"""The bytes of a trace, read safely: the reader every trace tool shares (stat, replay, compare).

:func:`open_source` takes a path (``-`` for standard input) or an open stream and
returns a :class:`Source`, whose :meth:`Source.blocks` yields the text in blocks of
whole lines (bytes, each ending with ``\\n`` but perhaps the last).  gzip is
recognised by its magic bytes whatever the file is called, and decompressed here,
member after member, with ``zlib`` (not :mod:`gzip`, so that damage can be
reported and survived).

Limits on untrusted input (``docs/traces.md``):

- a line longer than :data:`MAX_LINE` bytes (1 MiB; the longest real kmem line is a
  few hundred bytes) is an error naming the file and the line: nothing reads a
  1 GiB line, nor an endless one (``/dev/zero``), into memory;
- a gzip stream that decompresses to more than :data:`MAX_RATIO` times its
  compressed size (once past :data:`RATIO_GRACE` bytes of text) is an error: a
  kmem trace compresses about 10:1, a gzip bomb 1000:1;
- a corrupt gzip stream (``zlib.error``, a bad header or CRC) or a truncated one
  (the file ends inside a member) is a :class:`TraceInputError` naming the file,
  what is wrong and how far the reading got (lines and bytes of text).  With
  ``lenient=True`` the lines before the damage are used and :attr:`Source.damage`
  says what was lost instead of raising.
"""
from __future__ import annotations

import io
import mmap
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from kmemsim.errors import KmemsimError

__all__ = [
    "MAX_LINE",
    "MAX_RATIO",
    "RATIO_GRACE",
    "GZIP_MAGIC",
    "Source",
    "TraceInputError",
    "open_source",
]

#: the longest line read (bytes); longer is an error naming the line
MAX_LINE = 1 << 20
#: decompressed / compressed size above which a gzip stream is refused ...
MAX_RATIO = 200
#: ... once it has given this many bytes of text (small files may compress better)
RATIO_GRACE = 64 << 20
GZIP_MAGIC = b"\x1f\x8b"
#: compressed bytes read at a time; decompressed output comes in blocks of at most BLOCK bytes
READ_SIZE = 1 << 20
BLOCK = 1 << 20
FEED = 16 << 10


class TraceInputError(KmemsimError, ValueError):
    """The bytes of a trace cannot be read: corrupt or truncated compression, a line or a
    decompression ratio over the limits.  The message names the file and how far the
    reading got."""

    def __init__(self, source: str, reason: str, lines: int, nbytes: int):
        self.source = source
        self.reason = reason
        self.lines = lines
        self.nbytes = nbytes
        super().__init__(f"{source}: {reason} (after {lines} complete lines, {nbytes} bytes of text)")


class Source:
    """Blocks of whole lines from a binary stream, gzip or plain (see the module's doc).

    ``progress(done, total)`` is called after each read of the underlying file with
    the bytes read so far and the file's size (``None`` when unknown: a pipe).
    """

    def __init__(
        self,
        raw: IO[bytes],
        name: str,
        *,
        lenient: bool = False,
        close: bool = False,
        max_line: int = MAX_LINE,
        max_ratio: float = MAX_RATIO,
        ratio_grace: int = RATIO_GRACE,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self.raw = raw
        self.name = name
        self.lenient = lenient
        self._close = close
        self.max_line = max_line
        self.max_ratio = max_ratio
        self.ratio_grace = ratio_grace
        self.progress = progress
        #: what was lost to damage (``lenient`` only), else None
        self.damage: str | None = None
        #: "gzip" or "plain" once the first bytes are read
        self.compression = ""
        #: bytes read from the file, bytes of text given out; lines read (kept by the consumer)
        self.raw_bytes = 0
        self.text_bytes = 0
        self.lines = 0
        self.size: int | None = None
        try:
            st = os.fstat(raw.fileno())
            if stat.S_ISREG(st.st_mode):
                self.size = st.st_size
        except (OSError, AttributeError, io.UnsupportedOperation):
            self.size = None

    # ------------------------------------------------------------------ reading

    def _read(self) -> bytes:
        data = self.raw.read(READ_SIZE)
        if data:
            self.raw_bytes += len(data)
            if self.progress is not None:
                self.progress(self.raw_bytes, self.size)
        return data

    def _fail(self, reason: str) -> None:
        """Damage: raise, or (lenient) note it; the caller stops reading."""
        if not self.lenient:
            raise TraceInputError(self.name, reason, self.lines, self.text_bytes)
        self.damage = f"{reason} after {self.lines} complete lines ({self.text_bytes} bytes of text): the rest is lost"

    def _texts(self) -> Iterator[bytes]:
        """Decompressed (or plain) bytes, in pieces of at most BLOCK bytes."""
        first = self._read()
        if first[:2] != GZIP_MAGIC:
            self.compression = "plain"
            data = first
            while data:
                yield data
                data = self._read()
            return
        self.compression = "gzip"
        yield from self._gunzip(first)

    def _gunzip(self, data: bytes) -> Iterator[bytes]:
        out_total = 0
        member = 0
        while True:
            # one gzip member: header, deflate stream, trailer (zlib checks header and CRC)
            d = zlib.decompressobj(wbits=31)
            member += 1
            while True:
                try:
                    # at most FEED compressed bytes at a time: zlib gives nothing of a call that fails,
                    # so damage costs at most the text of FEED bytes before it
                    out = d.decompress(data[:FEED], BLOCK)
                    data = d.unconsumed_tail + data[FEED:] if len(data) > FEED else d.unconsumed_tail
                except zlib.error as e:
                    self._fail(f"corrupt gzip data in member {member} ({e})")
                    return
                if out:
                    out_total += len(out)
                    if out_total > self.ratio_grace and out_total > self.max_ratio * max(self.raw_bytes, 1):
                        raise TraceInputError(
                            self.name,
                            f"decompresses to more than {self.max_ratio:g} times its compressed size "
                            f"({out_total} bytes from {self.raw_bytes}): not a trace (a gzip bomb?)",
                            self.lines,
                            self.text_bytes,
                        )
                    yield out
                    continue
                if d.eof:
                    break
                if data:
                    continue
                data = self._read()
                if not data:
                    self._fail(f"truncated gzip data: the file ends inside member {member}")
                    return
            rest = d.unused_data
            if not rest:
                rest = self._read()
            # trailing zeros are padding some tools add; anything else must be another member
            while rest and not rest.strip(b"\0"):
                rest = self._read()
            if not rest:
                return
            if rest[:2] != GZIP_MAGIC:
                if len(rest) < 2:
                    more = self._read()
                    rest += more
                    if rest[:2] == GZIP_MAGIC:
                        data = rest
                        continue
                self._fail(f"corrupt gzip data: {len(rest)}+ bytes of garbage after member {member}")
                return
            data = rest

    def blocks(self) -> Iterator[bytes | memoryview]:
        """Blocks of whole lines (bytes or memoryviews of them, valid until the next block);
        the last may lack its newline; ``\\r\\n`` is made ``\\n``.  Raises
        :class:`TraceInputError` (a line over the limit; damage unless lenient).  The
        consumer keeps :attr:`lines` (complete lines read) up to date, for the messages."""
        mm = self._map()
        if mm is not None:
            yield from self._mapped_blocks(mm)
            return
        tail = b""
        max_line = self.max_line
        try:
            for piece in self._texts():
                if piece.find(b"\r") >= 0:  # (a search for one byte is memchr; "\r\n" in piece is slow)
                    piece = piece.replace(b"\r\n", b"\n")
                cut = piece.rfind(b"\n")
                if cut < 0:
                    tail += piece
                    if len(tail) > max_line:
                        self._too_long(self.lines + 1)
                    continue
                start = 0
                if tail:
                    first = piece.find(b"\n")
                    if len(tail) + first > max_line:
                        self._too_long(self.lines + 1)
                    joined = tail + piece[: first + 1]
                    self.text_bytes += len(joined)
                    yield joined
                    start = first + 1
                if max_line < len(piece):  # a small limit (tests): any line of the piece may break it
                    self._check_lines(piece[start : cut + 1])
                if cut + 1 > start:
                    self.text_bytes += cut + 1 - start
                    yield memoryview(piece)[start : cut + 1]
                tail = piece[cut + 1 :]
                if len(tail) > max_line:
                    self._too_long(self.lines + 1)
            if tail:
                if self.damage is not None:
                    self.damage += f"; a partial last line of {len(tail)} bytes was dropped"
                    return
                self.text_bytes += len(tail)
                yield tail
        finally:
            self.close()

    def _map(self) -> mmap.mmap | None:
        """The whole file mapped, when it is a plain (not gzip) regular file read from its start
        with the usual line limit; else None, and it is read a block at a time."""
        if not self.size or self.max_line < BLOCK or not hasattr(mmap, "MADV_DONTNEED"):
            return None
        try:
            if self.raw.tell() != 0:
                return None
            mm = mmap.mmap(self.raw.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        if mm[:2] == GZIP_MAGIC:
            mm.close()
            return None
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            mm.madvise(mmap.MADV_SEQUENTIAL)
        return mm

    def _mapped_blocks(self, mm: mmap.mmap) -> Iterator[bytes | memoryview]:
        """:meth:`blocks` of a mapped file: views of the mapping, about BLOCK bytes of whole lines
        each, the text never copied into a buffer (reading a 92 MB trace with read() was 2-3% of
        its replay, 7-15 ms at 550k lines).  The same lines and limits as the reads: a line longer
        than max_line is an error naming it, ``\\r\\n`` is made ``\\n``, the last line may
        lack its newline.  The pages of the blocks given are dropped from the process's memory
        as the next block is asked for (MADV_DONTNEED: a view still held reads them again from
        the page cache), so that its RSS does not grow with the file.  (As any reader through a
        mapping, a file truncated by another process while it is read ends the process with
        SIGBUS: appending to it is harmless.)"""
        self.compression = "plain"
        size = len(mm)
        view = memoryview(mm)
        pos = 0
        dropped = 0  # the mapping's pages below this offset are out of the process's memory
        try:
            while pos < size:
                end = min(pos + BLOCK, size)
                cut = size - 1 if end == size else mm.rfind(b"\n", pos, end)
                if cut < 0:  # no newline in a whole block: the line may go on up to max_line
                    cut = mm.find(b"\n", pos, pos + self.max_line + 1)
                    if cut < 0:
                        if size - pos > self.max_line:
                            self._too_long(self.lines + 1)
                        cut = size - 1
                self.raw_bytes = cut + 1
                if self.progress is not None:
                    self.progress(self.raw_bytes, self.size)
                block: bytes | memoryview = view[pos : cut + 1]
                if mm.find(b"\r", pos, cut + 1) >= 0:
                    block = bytes(block).replace(b"\r\n", b"\n")
                self.text_bytes += len(block)
                pos = cut + 1
                yield block
                done = pos & -mmap.PAGESIZE
                if done > dropped:
                    mm.madvise(mmap.MADV_DONTNEED, dropped, done - dropped)
                    dropped = done
        finally:
            # the mapping closes with the last view of it (a consumer may still hold a block)
            del view
            self.close()

    def _check_lines(self, block: bytes) -> None:
        line = self.lines
        for ln in block.split(b"\n")[:-1]:
            line += 1
            if len(ln) > self.max_line:
                self._too_long(line)

    def _too_long(self, line: int) -> None:
        raise TraceInputError(
            self.name, f"line {line} is longer than {self.max_line} bytes: not a trace", line - 1, self.text_bytes
        )

    def close(self) -> None:
        if self._close:
            self._close = False
            self.raw.close()


def open_source(
    path: str | Path | IO[bytes],
    *,
    name: str | None = None,
    lenient: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    **limits: Any,
) -> Source:
    """A :class:`Source` for a path (``-``: standard input) or an open binary stream.
    An unreadable path raises :class:`OSError` as :func:`open` does."""
    if isinstance(path, (str, Path)):
        if str(path) == "-":
            return Source(sys.stdin.buffer, name or "<stdin>", lenient=lenient, progress=progress, **limits)
        f = open(path, "rb")
        return Source(f, name or str(path), lenient=lenient, close=True, progress=progress, **limits)
    return Source(path, name or str(getattr(path, "name", "<stream>")), lenient=lenient, progress=progress, **limits)
