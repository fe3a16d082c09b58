"""A snapshot store under an S3 prefix, `s3://BUCKET/PREFIX`: one `PutObject` per
snapshot (S3 makes an object visible whole or not at all), `ListObjectsV2` and
`GetObject` to read the newest. The writer's client may put objects under the prefix
and nowhere else (aws/permissions.py); the reader's may only list and get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from iam_lastused.aws import session as aws
from iam_lastused.aws.permissions import guarded
from iam_lastused.store.snapshots import DirectoryStore, Store, StoreError, check_account, is_snapshot_name


def split_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix ending in `/`, or empty) of `s3://BUCKET/PREFIX`."""
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise StoreError(f"{url}: give the store as s3://BUCKET/PREFIX or a directory")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Store:
    def __init__(self, url: str, session: Any, writer: bool) -> None:
        self.url = url.rstrip("/")
        self.bucket, self.prefix = split_url(url)
        role = "sweep" if writer else "store-reader"
        store = (self.bucket, self.prefix) if writer else None
        self.client = guarded(session.client("s3", config=aws.BOTOCORE_CONFIG), role, store)

    def put(self, account: str, name: str, body: bytes) -> str:
        key = f"{self.prefix}{check_account(account)}/{name}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"s3://{self.bucket}/{key}: cannot write (s3:PutObject): {_why(exc)}") from None
        return f"s3://{self.bucket}/{key}"

    def newest(self, account: str) -> tuple[str, bytes] | None:
        folder = f"{self.prefix}{check_account(account)}/"
        try:
            names = [
                item["Key"][len(folder):]
                for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=folder, Delimiter="/"
                )
                for item in page.get("Contents", ())
            ]
        except (ClientError, BotoCoreError) as exc:
            where = f"s3://{self.bucket}/{folder}"
            raise StoreError(f"{where}: cannot list (s3:ListBucket): {_why(exc)}") from None
        snapshots = sorted(name for name in names if is_snapshot_name(name))
        if not snapshots:
            return None
        key = folder + snapshots[-1]
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"s3://{self.bucket}/{key}: cannot read (s3:GetObject): {_why(exc)}") from None
        return f"s3://{self.bucket}/{key}", body


def _why(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return str(exc)


def open_store(url: str | Path, session: Any, writer: bool = False) -> Store:
    """The store at `url`: an S3 prefix, or a local directory (made when writing)."""
    if str(url).startswith("s3://"):
        return S3Store(str(url), session, writer)
    return DirectoryStore(Path(url))
