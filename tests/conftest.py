from __future__ import annotations

import json
import multiprocessing.util
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.handlers import BUILTIN_HANDLERS
from fake_last_accessed import LastAccessedFake
from iam_lastused.aws import reports
from iam_lastused.cli.main import main
from moto import mock_aws
from moto.core.models import botocore_stubber

ACCOUNT = "123456789012"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `long_running` cases first (in order, the rest after in theirs): with the suite
    in parallel, a long file started late would run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials, no profile or config from the machine, a private cache and a
    private temporary directory (what the code under test leaves there, such as the
    wrapper's kept plan file, goes with pytest's own), and the first poll of a report job
    soon: the fake answers at once, and the real half second would be all sleep."""
    multiprocessing.util.get_temp_dir()  # the forkserver's, made once, removed at exit: not in pytest's
    private_tmp = str(tmp_path_factory.mktemp("tmp"))
    monkeypatch.setattr(tempfile, "tempdir", private_tmp)
    monkeypatch.setenv("TMPDIR", private_tmp)
    monkeypatch.setattr(reports, "FIRST_POLL_SECONDS", 0.01)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def iam() -> Iterator[Any]:
    """moto's IAM (and STS, CloudFormation): the AWS of the test suite."""
    with mock_aws():
        yield boto3.client("iam")


@pytest.fixture
def aws_hooks(iam: Any) -> Iterator[list[Callable[..., Any]]]:
    """Test answers put in front of moto's: botocore calls every `before-send` hook,
    so this one wrapper asks each hook in the list, then moto."""
    chain: list[Callable[..., Any]] = []
    index = next(i for i, (event, hook, *_) in enumerate(BUILTIN_HANDLERS) if hook is botocore_stubber)

    def answer(**kwargs: Any) -> Any:
        for hook in chain:
            response = hook(**kwargs)
            if response is not None:
                return response
        return botocore_stubber(**kwargs)

    BUILTIN_HANDLERS[index] = ("before-send", answer)
    try:
        yield chain
    finally:
        BUILTIN_HANDLERS[index] = ("before-send", botocore_stubber)


@pytest.fixture
def last_accessed(aws_hooks: list[Callable[..., Any]]) -> LastAccessedFake:
    """The last-accessed calls, which moto does not implement."""
    fake = LastAccessedFake()
    aws_hooks.append(fake)
    return fake


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def run(*argv: str) -> CliRun:
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


def make_role(iam: Any, name: str, path: str = "/") -> str:
    return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def iam_in(account: str) -> Any:
    """moto's IAM of `account` (another account's through an assumed role)."""
    if account == ACCOUNT:
        return boto3.client("iam")
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
