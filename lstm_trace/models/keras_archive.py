"""A .keras archive read as data: members by name, sizes checked before a byte is decompressed.

A .keras file is a zip of config.json, metadata.json and model.weights.h5.
Nothing is extracted: the members needed are read into memory by name. The
whole directory is checked first, as an unzip tool would not: a member named
with an absolute path or a `..` step (what writes outside the folder when
extracted), a name given twice (which member a reader gets depends on the
reader), a size over its cap, a compression ratio only a zip bomb has, an
encrypted or unusual compression method, or a member lying past the end of
the file. Each refusal is a ModelError naming the member.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import Where, shortened
from . import MAX_FILE_BYTES
from .found import ModelError

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
JSON_CAP = 64 << 20  # config.json and metadata.json: a large model's config is a few MB
MAX_MEMBERS = 10_000
MAX_RATIO = 100  # deflate gains ~1000× on zeros (a bomb); Keras stores its members, real data rarely passes 10×
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


class Archive:
    """An open .keras archive whose directory passed every check; members are read by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except ZIP_ERRORS as error:
            raise ModelError(
                "not a readable zip archive: a .keras file is a zip (truncated or damaged?)",
                Where(path),
                found=str(error)[:200],
            ) from None
        self.members = {info.filename: info for info in infos}
        try:
            self._check(infos)
        except ModelError:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()

    def where(self, member: str) -> Where:
        return Where(self.path, None, member)

    def _check(self, infos: list[zipfile.ZipInfo]) -> None:
        if len(infos) > MAX_MEMBERS:
            raise ModelError("too many members in the archive", Where(self.path), found=f"{len(infos):,}",
                             expected=f"at most {MAX_MEMBERS:,}")  # fmt: skip
        twice = [name for name, count in Counter(info.filename for info in infos).items() if count > 1]
        if twice:
            raise ModelError(
                "the archive names a member twice: which one a reader gets depends on the reader",
                self.where(twice[0]),
                expected="each member once",
            )
        for info in infos:
            name = info.filename
            if unsafe(name):
                raise ModelError(
                    "a member's name points outside the archive's folder (an absolute path or a '..' step): refused",
                    Where(self.path, None, shortened(name, 80)),
                    expected="relative names such as config.json, assets/...",
                )
            if info.flag_bits & 0x1:
                raise ModelError("an encrypted member: refused", self.where(name))
            if info.compress_type not in METHODS:
                raise ModelError("a member compressed in a way Keras never writes", self.where(name),
                                 expected="stored or deflate", found=f"method {info.compress_type}")  # fmt: skip
            self._sizes(info)

    def _sizes(self, info: zipfile.ZipInfo) -> None:
        """A member's declared sizes against the file's size, its cap and a plausible compression ratio."""
        name = info.filename
        cap = JSON_CAP if name in (CONFIG, METADATA) else MAX_FILE_BYTES
        if info.header_offset + info.compress_size > self.size:
            raise ModelError("a member reaches past the end of the file (truncated?)", self.where(name),
                             found=f"{info.compress_size:,} bytes at offset {info.header_offset:,} of a "
                                   f"{self.size:,}-byte file")  # fmt: skip
        if info.file_size > cap:
            raise ModelError(
                "a member declares more data than any Keras model holds: refused before decompressing",
                self.where(name),
                expected=f"at most {cap:,} bytes",
                found=f"{info.file_size:,} bytes",
            )
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
            raise ModelError(
                "a member decompresses to far more than it holds, as a zip bomb does: refused before decompressing",
                self.where(name),
                expected=f"at most {MAX_RATIO}× its compressed size",
                found=f"{info.compress_size:,} bytes that claim to become {info.file_size:,}",
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ModelError("a stored member's two sizes disagree", self.where(name),
                             found=f"{info.compress_size:,} stored, {info.file_size:,} declared")  # fmt: skip

    def read(self, name: str) -> bytes:
        """Member `name`, read whole into memory (never to disk), no longer than it declared."""
        info = self.members.get(name)
        if info is None:
            raise ModelError(
                f"the archive has no {name}",
                Where(self.path),
                expected=f"{CONFIG}, {METADATA} and {WEIGHTS}, as keras model.save('x.keras') writes them",
                found=", ".join(shortened(n, 40) for n in list(self.members)[:8]) or "no members",
            )
        try:
            with self.zip.open(info) as member:
                data = member.read(info.file_size + 1)
        except ZIP_ERRORS as error:
            raise ModelError("a member is damaged (truncated, or its checksum fails)", self.where(name),
                             found=str(error)[:200]) from None  # fmt: skip
        if len(data) != info.file_size:
            raise ModelError("a member's data differs in length from what the archive declares", self.where(name),
                             found=f"{len(data):,} bytes, {info.file_size:,} declared")  # fmt: skip
        return data

    def json(self, name: str) -> Any:
        """Member `name` parsed as JSON data (a mapping): nothing in it is looked up or run."""
        return parse_json(self.read(name), self.where(name))


def unsafe(name: str) -> bool:
    """Whether extracting `name` would write outside the folder: absolute, a drive, a '..' step, or a NUL."""
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part == ".." for part in re.split(r"[/\\]", name))


def parse_json(data: bytes | str, where: Where) -> Any:
    """JSON text as plain data (a mapping at the top); what is wrong with it as a ModelError."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ModelError("not valid JSON", where, found=str(error)[:200]) from None
    if not isinstance(value, dict):
        raise ModelError("expected a JSON object", where, found=type(value).__name__)
    return value
