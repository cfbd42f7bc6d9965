"""Fetch an archive over the network and unpack it: bounded in time, never half done.

torchvision's downloader waits forever on a network (or a proxy) that accepts a
connection and never answers, and it unpacks straight into the data folder, so
an interrupted run leaves a partial folder behind. Here every connection and
every read has a timeout, the archive is checked against its MD5 before it is
kept, and the unpacked folder appears in one rename.
"""
import hashlib
import http.client
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib

from tqdm.auto import tqdm

TIMEOUT_S = 30  # for the connection and for each read: a stalled network fails after this
CHUNK_BYTES = 1 << 20


class DownloadError(OSError):
    """A download or an unpacking failed; the message says why in words."""


def fetch(url, path, md5, progress=True):
    """Download `url` to `path` unless a file with that MD5 is already there.

    The bytes go to a temporary file beside `path`, which replaces `path` only
    once its MD5 matches; an interrupted or damaged download leaves nothing.
    """
    if path.is_file() and _md5(path) == md5:
        return path
    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        digest = hashlib.md5(usedforsecurity=False)
        # A new opener reads the proxy variables now, not when urllib was first used.
        opener = urllib.request.build_opener()
        with os.fdopen(descriptor, "wb") as out, opener.open(url, timeout=TIMEOUT_S) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress,
                      leave=False) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != md5:
            raise DownloadError(f"what arrived is not the expected file (MD5 {digest.hexdigest()}, "
                                f"expected {md5}); the transfer was cut short or altered")
        os.replace(partial, path)
    except DownloadError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise DownloadError(_reason(error)) from error
    finally:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)
    return path


def extract(archive, folder_name, root):
    """Unpack the folder `folder_name` of the tar archive as root/folder_name, in one rename."""
    target = root / folder_name
    staging = tempfile.mkdtemp(dir=root, prefix=f".{folder_name}.", suffix=".partial")
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter refuses absolute paths, links out of the folder and devices.
            tar.extractall(staging, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        unpacked = os.path.join(staging, folder_name)
        if not os.path.isdir(unpacked):
            raise DownloadError(f"{archive} holds no folder {folder_name}")
        try:
            os.replace(unpacked, target)
        except OSError:
            if not target.is_dir():  # else another process unpacked it first: use theirs
                raise
    except DownloadError:
        raise
    except (OSError, EOFError, tarfile.TarError, zlib.error) as error:
        raise DownloadError(f"{type(error).__name__}: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(error):
    """The cause of a failed download in words (a timeout says it was one)."""
    cause = getattr(error, "reason", None)
    if isinstance(error, (socket.timeout, TimeoutError)) or isinstance(cause, (socket.timeout, TimeoutError)):
        return (f"no answer within {TIMEOUT_S} s (the network or a proxy accepted the connection "
                f"and then stalled)")
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return f"{type(cause).__name__}: {cause}" if isinstance(cause, Exception) else str(cause)
    return f"{type(error).__name__}: {error}"
