"""Read and write Python sources in the encoding they declare (PEP 263).

A file starting with `# -*- coding: latin-1 -*-` is valid Python; reading it as UTF-8 fails
or garbles it, and writing a patch back as UTF-8 would corrupt it. Every place that reads a
user's source (localization, candidates, diffs) or writes one back (sandbox copies, --apply,
--branch) goes through here.
"""
from __future__ import annotations

import io
import tokenize
from pathlib import Path


def source_encoding(data: bytes) -> str:
    """The encoding a Python file declares (UTF-8 when it declares none); ValueError-free for text files."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown or contradictory cookie: Python itself would refuse the file
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" else encoding


def decode_source(data: bytes) -> str:
    """Text of a source file; raises UnicodeDecodeError when the bytes do not fit the declared encoding."""
    text = data.decode(source_encoding(data))
    return text[1:] if text.startswith("\ufeff") else text


def read_source(path: Path) -> str:
    return decode_source(Path(path).read_bytes())


def encode_like(path: Path, text: str) -> bytes:
    """`text` encoded in the encoding it declares (its PEP 263 cookie, else UTF-8), keeping a
    UTF-8 byte-order mark the existing file at `path` has."""
    encoding = source_encoding(text[:1024].encode("utf-8", "replace"))
    data = text.encode(encoding)
    path = Path(path)
    if encoding == "utf-8" and path.is_file():
        with open(path, "rb") as fh:
            if fh.read(3) == b"\xef\xbb\xbf":
                data = b"\xef\xbb\xbf" + data
    return data


def encode_files(repo: Path, files: dict[str, str]) -> dict[str, bytes]:
    """Repo-relative sources encoded for writing (sandbox copies, the working tree, git blobs)."""
    return {rel: encode_like(Path(repo) / rel, text) for rel, text in files.items()}
