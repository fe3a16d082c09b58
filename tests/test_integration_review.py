"""What an independent review of the merged work found where its pieces meet: each case
through the command line (or the library), each failing before its fix."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ACCOUNT, make_role
from iam_lastused.aws.managed_policies import fetch_documents
from iam_lastused.store.snapshots import About, encode, snapshot_name

OTHER = "111111111111"
ACCESS = str(Path(__file__).parents[1] / "examples" / "access-data.json")
NO_IAM = 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'


def test_a_sweep_writes_no_account_it_has_no_way_into(cli, iam, last_accessed, tmp_path):
    """Without a role template or a profile for it, another account would be read with
    the caller's own credentials: its snapshot would hold the caller's principals."""
    make_role(iam, "mine")
    store = tmp_path / "store"
    run = cli("sweep", "--store", str(store), "--accounts", f"{ACCOUNT},{OTHER}")
    assert run.code == 2
    assert f"account {OTHER} not swept: no way into it" in run.err
    assert sorted(path.name for path in store.iterdir()) == [ACCOUNT]


def test_the_sweep_takes_its_store_from_the_invokers_config(cli, iam, last_accessed, tmp_path, monkeypatch):
    make_role(iam, "mine")
    invoker = tmp_path / "invoker"
    invoker.mkdir()
    (invoker / "sweep.toml").write_text('store = "store"\n')  # relative to the config file
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run = cli("sweep", "--config", str(invoker / "sweep.toml"))
    assert run.code == 0, run.err
    assert [path.name for path in (invoker / "store").iterdir()] == [ACCOUNT]


def test_a_customer_managed_policy_is_never_served_from_the_cache(iam):
    """Who may read it is IAM's to say each run; only AWS managed (public) policies are kept."""
    statement = {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    arn = iam.create_policy(PolicyName="secret", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    assert arn in fetch_documents(iam, [arn]).found
    iam.delete_policy(PolicyArn=arn)  # what another caller, who may not read it, would meet
    again = fetch_documents(iam, [arn])
    assert arn not in again.found and "cannot read the policy (NoSuchEntity)" in again.notes[0]


def test_a_store_url_without_a_bucket_is_a_usage_error(cli):
    run = cli("check", f"arn:aws:iam::{ACCOUNT}:role/x", "--access-data", "s3://")
    assert run.code == 2
    assert "give the store as s3://BUCKET/PREFIX" in run.err and "internal error" not in run.err


def test_a_directory_store_needs_no_aws_session(cli, tmp_path, monkeypatch):
    """A profile that cannot be set up matters only when AWS is asked: a store that
    holds the principal's report asks it nothing."""
    monkeypatch.setenv("AWS_PROFILE", "nope")
    arn = f"arn:aws:iam::{ACCOUNT}:role/x"
    report = {"JobStatus": "COMPLETED", "JobCompletionDate": datetime.now(timezone.utc).isoformat(),
              "ServicesLastAccessed": [{"ServiceNamespace": "s3", "ServiceName": "Amazon S3",
                                        "TotalAuthenticatedEntities": 0}]}
    (tmp_path / "store" / ACCOUNT).mkdir(parents=True)
    made = datetime.now(timezone.utc)
    about = About(ACCOUNT, made, "someone", "service")
    (tmp_path / "store" / ACCOUNT / snapshot_name(made)).write_bytes(encode(about, {arn: report}))
    run = cli("check", arn, "--access-data", str(tmp_path / "store"), "--format", "json")
    assert run.code == 0, run.err
    assert run.json["principals"][0]["status"] == "analyzed"


def test_no_iam_stays_quiet_with_access_analyzer_or_a_bad_profile(cli, tmp_path, monkeypatch):
    (tmp_path / "main.tf").write_text(NO_IAM)
    analyzer = f"arn:aws:access-analyzer:us-east-1:{ACCOUNT}:analyzer/a"
    run = cli("scan", str(tmp_path), "--usage-source", "access-analyzer", "--analyzer-arn", analyzer)
    assert (run.code, run.out, run.err) == (0, "no IAM principal found\n", "")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    run = cli("scan", str(tmp_path))
    assert (run.code, run.out, run.err) == (0, "no IAM principal found\n", "")


def test_an_invokers_config_is_trusted_where_the_working_directory_is_no_git_tree(cli, tmp_path, monkeypatch):
    (tmp_path / "invoker").mkdir()
    (tmp_path / "invoker" / "ci.toml").write_text(f'access-data = "{ACCESS}"\naccount-id = "111122223333"\n')
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.tf").write_text('resource "aws_iam_role" "r" {\n  name = "ci-deployer"\n}\n')
    monkeypatch.chdir(tmp_path)  # no .git anywhere here
    run = cli("scan", "code", "--config", "invoker/ci.toml", "--format", "json")
    assert "not taken from the repository's config" not in run.err
    assert run.json["usage_source"]["kind"] == "file"


def test_the_repositorys_config_named_with_config_is_read_once(cli, tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".iam-lastused.toml").write_text('account-id = "111122223333"\n')
    (tmp_path / "main.tf").write_text(NO_IAM)
    monkeypatch.chdir(tmp_path)
    run = cli("scan", ".", "--config", ".iam-lastused.toml", "--access-data", ACCESS)
    assert run.err.count("account-id is not taken from the repository's config file") == 1


@pytest.mark.parametrize("account", [(), ("--account-id", ACCOUNT)])
def test_the_sessions_region_is_known_whether_or_not_the_account_is_given(cli, iam, tmp_path, account):
    (tmp_path / "main.tf").write_text(
        'data "aws_region" "current" {}\n'
        'resource "aws_iam_role" "r" {\n  name = "app-${data.aws_region.current.name}"\n}\n')
    run = cli("scan", str(tmp_path), "--format", "json", "--no-cache", *account)
    assert run.json["principals"][0]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/app-us-east-1"
