"""Where backups are written: a directory, or a bucket of an S3-compatible object store
(signed with AWS Signature Version 4, no SDK needed)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import httpx

from govmail.config import BackupSettings


class TargetError(Exception):
    """The backup target could not be read or written."""


class BackupTarget(Protocol):
    label: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def put_file(self, key: str, src: Path) -> None:
        """Like ``put``, streamed from a file (a database dump can be larger than memory)."""
        ...

    def get_file(self, key: str, dest: Path) -> None:
        """Like ``get``, streamed into a file."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


CHUNK = 1024 * 1024


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DirTarget:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.label = str(self.root)

    def _path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise TargetError(f"key outside the backup directory: {key}")
        return p

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda fh: fh.write(data))

    def put_file(self, key: str, src: Path) -> None:
        def copy(fh: BinaryIO) -> None:
            with open(src, "rb") as fin:
                shutil.copyfileobj(fin, fh, CHUNK)

        self._write(key, copy)

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fill(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TargetError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise TargetError(f"{key}: missing from the backup") from None
        except OSError as exc:
            raise TargetError(f"{key}: cannot be read: {exc.strerror or exc}") from exc

    def get_file(self, key: str, dest: Path) -> None:
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            raise TargetError(f"{key}: missing from the backup") from None
        except OSError as exc:
            raise TargetError(f"{key}: cannot be read: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        out: list[str] = []
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                if f.startswith("."):
                    continue
                out.append(str(Path(dirpath, f).relative_to(self.root)))
        return sorted(out)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)


# -- S3 -----------------------------------------------------------------------------------
def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sigv4_headers(
    method: str,
    url: str,
    *,
    region: str,
    access_key: str,
    secret_key: str,
    payload: bytes = b"",
    payload_sha256: str | None = None,
    service: str = "s3",
    now: dt.datetime | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers that sign a request with AWS Signature Version 4."""
    now = now or dt.datetime.now(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    host = parts.netloc
    payload_hash = payload_sha256 or hashlib.sha256(payload).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date}
    if service == "s3":
        headers["x-amz-content-sha256"] = payload_hash
    for k, v in (extra or {}).items():
        headers[k.lower()] = v
    # The URL's query is already percent-encoded: decode before encoding it the canonical
    # way, or "prefix=a%2Fb" would be signed as "a%252Fb" (a real S3 answers 403).
    pairs = (([*p.split("=", 1), ""])[:2] for p in parts.query.split("&") if p)
    canonical_query = "&".join(
        sorted(
            f"{quote(unquote(k), safe='-_.~')}={quote(unquote(v), safe='-_.~')}"
            for k, v in pairs
        )
    )
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{' '.join(headers[k].split())}\n" for k in sorted(headers))
    canonical = "\n".join(
        [method, quote(parts.path or "/", safe="/-_.~%"), canonical_query, canonical_headers,
         signed, payload_hash]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = _sign(("AWS4" + secret_key).encode(), day)
    k = _sign(k, region)
    k = _sign(k, service)
    k = _sign(k, "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    del headers["host"]
    return headers


# Files above this go up in parts (S3 caps one PUT at 5 GiB; parts also keep a failed
# transfer on a slow link from starting over from nothing).
MULTIPART_THRESHOLD = 256 * 1024 * 1024
PART_SIZE = 64 * 1024 * 1024  # 10,000 parts at most: 640 GiB


def _xml_text(content: bytes, tag: str) -> str:
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return ""
    for el in root.iter():
        if el.tag == tag or el.tag.endswith("}" + tag):
            return (el.text or "").strip()
    return ""


class S3Target:
    """Objects under ``s3://bucket/prefix`` on an S3-compatible endpoint (path-style URLs)."""

    def __init__(
        self, bucket: str, prefix: str, endpoint: str, region: str, access_key: str,
        secret_key: str, timeout: float = 60.0,
    ) -> None:
        if not endpoint:
            raise TargetError("backup.s3_endpoint is required for an s3:// target")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.label = f"s3://{bucket}/{self.prefix}"
        self.http = httpx.Client(timeout=timeout)
        self.multipart_threshold = MULTIPART_THRESHOLD
        self.part_size = PART_SIZE

    def _url(self, key: str = "", query: str = "") -> str:
        path = f"/{self.bucket}"
        if key:
            full = f"{self.prefix}/{key}" if self.prefix else key
            path += "/" + quote(full, safe="/-_.~")
        return f"{self.endpoint}{path}" + (f"?{query}" if query else "")

    def _headers(self, method: str, url: str, body: bytes = b"",
                 body_sha256: str | None = None) -> dict[str, str]:
        return sigv4_headers(
            method, url, region=self.region, access_key=self.access_key,
            secret_key=self.secret_key, payload=body, payload_sha256=body_sha256,
        )

    def _request(self, method: str, url: str, body: bytes = b"") -> httpx.Response:
        headers = self._headers(method, url, body)
        try:
            return self.http.request(method, url, content=body or None, headers=headers)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: {exc!r}") from exc

    def put(self, key: str, data: bytes) -> None:
        r = self._request("PUT", self._url(key), data)
        if r.status_code not in (200, 201):
            raise TargetError(f"{self.label}/{key}: PUT answered {r.status_code}")

    def put_file(self, key: str, src: Path) -> None:
        if src.stat().st_size > self.multipart_threshold:
            self._put_multipart(key, src)
            return
        sha, size = file_sha256(src)
        url = self._url(key)
        # A known length: without it httpx would send chunked, which S3 refuses.
        headers = {**self._headers("PUT", url, body_sha256=sha), "content-length": str(size)}
        try:
            with open(src, "rb") as fh:
                r = self.http.request("PUT", url, content=_chunks(fh), headers=headers)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: {exc!r}") from exc
        if r.status_code not in (200, 201):
            raise TargetError(f"{self.label}/{key}: PUT answered {r.status_code}")

    def _put_multipart(self, key: str, src: Path) -> None:
        """A large file (a database dump over ``multipart_threshold``; one PUT is capped
        at 5 GiB by S3) in parts of ``part_size``, each read, signed and sent in turn; on
        any failure the upload is aborted so that no parts linger in the bucket."""
        r = self._request("POST", self._url(key, "uploads="))
        if r.status_code != 200:
            raise TargetError(f"{self.label}/{key}: starting an upload answered {r.status_code}")
        upload_id = _xml_text(r.content, "UploadId")
        if not upload_id:
            raise TargetError(f"{self.label}/{key}: no UploadId in the answer")
        upload = f"uploadId={quote(upload_id, safe='')}"
        try:
            parts: list[tuple[int, str]] = []
            with open(src, "rb") as fh:
                while chunk := fh.read(self.part_size):
                    n = len(parts) + 1
                    r = self._request("PUT", self._url(key, f"partNumber={n}&{upload}"), chunk)
                    if r.status_code != 200 or not r.headers.get("etag"):
                        raise TargetError(
                            f"{self.label}/{key}: part {n} answered {r.status_code}"
                        )
                    parts.append((n, r.headers["etag"]))
            body = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
                for n, etag in parts
            )
            xml = f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode()
            r = self._request("POST", self._url(key, upload), xml)
            # S3 may answer 200 with an error document when completing fails late.
            if r.status_code != 200 or _xml_text(r.content, "Code"):
                raise TargetError(
                    f"{self.label}/{key}: completing the upload answered {r.status_code}"
                )
        except BaseException:
            with contextlib.suppress(TargetError):
                self._request("DELETE", self._url(key, upload))
            raise

    def get_file(self, key: str, dest: Path) -> None:
        url = self._url(key)
        try:
            with self.http.stream("GET", url, headers=self._headers("GET", url)) as r:
                if r.status_code == 404:
                    raise TargetError(f"{key}: missing from the backup")
                if r.status_code != 200:
                    raise TargetError(f"{self.label}/{key}: GET answered {r.status_code}")
                with open(dest, "wb") as out:
                    for chunk in r.iter_bytes(CHUNK):
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: {exc!r}") from exc

    def get(self, key: str) -> bytes:
        r = self._request("GET", self._url(key))
        if r.status_code == 404:
            raise TargetError(f"{key}: missing from the backup")
        if r.status_code != 200:
            raise TargetError(f"{self.label}/{key}: GET answered {r.status_code}")
        return r.content

    def exists(self, key: str) -> bool:
        r = self._request("HEAD", self._url(key))
        return r.status_code == 200

    def delete(self, key: str) -> None:
        self._request("DELETE", self._url(key))

    def list(self, prefix: str) -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        out: list[str] = []
        token = ""
        while True:
            q = f"list-type=2&prefix={quote(full, safe='')}"
            if token:
                q += f"&continuation-token={quote(token, safe='')}"
            r = self._request("GET", self._url(query=q))
            if r.status_code != 200:
                raise TargetError(f"{self.label}: listing answered {r.status_code}")
            root = ElementTree.fromstring(r.content)
            ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
            for c in root.iter(f"{ns}Contents"):
                k = c.findtext(f"{ns}Key") or ""
                out.append(k[len(self.prefix) + 1 :] if self.prefix else k)
            if (root.findtext(f"{ns}IsTruncated") or "false").lower() != "true":
                break
            token = root.findtext(f"{ns}NextContinuationToken") or ""
            if not token:
                break
        return sorted(out)


def open_target(settings: BackupSettings, data_dir: Path, override: str | None = None) -> (
    BackupTarget
):
    where = override or settings.target or str(data_dir / "backups")
    if where.startswith("s3://"):
        rest = where[5:]
        bucket, _, prefix = rest.partition("/")
        return S3Target(
            bucket, prefix, settings.s3_endpoint, settings.s3_region, settings.s3_access_key,
            settings.s3_secret_key,
        )
    return DirTarget(Path(where).expanduser())
