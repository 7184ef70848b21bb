"""Fetching dataset files from their canonical mirrors, verified by checksum."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

#: Seconds before an unresponsive mirror is abandoned for the next one.
TIMEOUT_S = 30


def md5sum(path: Path) -> str:
    """Hex MD5 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(filename: str, md5: str, folder: Path, mirrors: Sequence[str]) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right checksum.

    The file is written to a temporary name beside its destination and renamed only once
    its MD5 matches, so an interrupted or corrupt download never leaves a file that a
    later load would trust.

    Raises
    ------
    OSError
        If no mirror served the file with the expected checksum; the message lists what
        each mirror answered.
    """
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / filename
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        descriptor, partial = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as out, urllib.request.urlopen(
                url, timeout=TIMEOUT_S
            ) as response:
                shutil.copyfileobj(response, out)
            found = md5sum(Path(partial))
            if found != md5:
                failures.append(f"{url}: checksum {found}, expected {md5}")
                continue
            os.replace(partial, destination)
            return destination
        except (urllib.error.URLError, OSError) as error:
            failures.append(f"{url}: {error}")
        finally:
            Path(partial).unlink(missing_ok=True)
    raise OSError(f"could not download {filename}: " + "; ".join(failures))
