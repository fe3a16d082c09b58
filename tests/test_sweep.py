"""The sweep: each account's reports, one snapshot per account in a store (a directory or
an S3 prefix), over given accounts or the organisation's, shared among workers."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from conftest import ACCOUNT, iam_in
from iam_lastused import api
from iam_lastused.aws.permissions import OperationNotAllowed, policy_actions
from iam_lastused.aws.sweep import Shard
from iam_lastused.store.access_data import SNAPSHOT_KEY
from iam_lastused.usage.sweep import parse_shard

RECENT = datetime.now(timezone.utc) - timedelta(days=1)
MEMBERS = ("111111111111", "222222222222", "333333333333")
TEMPLATE = "arn:aws:iam::{account_id}:role/iam-lastused-sweep"


def populate(last_accessed, account: str) -> dict[str, str]:
    """A role, a user and a customer managed policy in the account, with usage."""
    iam = iam_in(account)
    role = iam.create_role(RoleName=f"app-{account[:3]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    user = iam.create_user(UserName="deployer")["User"]["Arn"]
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    policy = iam.create_policy(PolicyName="shared", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    last_accessed.activity[role] = {"s3": RECENT, "sqs": None}
    last_accessed.activity[user] = {"ec2": None}
    last_accessed.activity[policy] = {"s3": RECENT}
    return {"role": role, "user": user, "policy": policy}


@pytest.fixture
def members(iam, last_accessed) -> dict[str, dict[str, str]]:
    return {account: populate(last_accessed, account) for account in MEMBERS}


def snapshots(store) -> dict[str, list[dict]]:
    return {
        folder.name: [json.loads(path.read_text()) for path in sorted(folder.iterdir())]
        for folder in sorted(store.iterdir())
    }


def test_a_sweep_writes_one_snapshot_per_account_in_the_access_data_format(cli, members, tmp_path):
    store = tmp_path / "store"
    run = cli("sweep", "--store", str(store), "--accounts", ",".join(MEMBERS), "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    written = snapshots(store)
    assert sorted(written) == sorted(MEMBERS)
    for account, [snapshot] in written.items():
        about = snapshot.pop(SNAPSHOT_KEY)
        assert about["account"] == account and about["granularity"] == "service"
        assert about["by"].startswith("arn:aws:") and datetime.fromisoformat(about["made"])
        arns = members[account]
        assert {arns["role"], arns["user"], arns["policy"]} <= set(snapshot) & set(about["created"])
        services = snapshot[arns["role"]]["ServicesLastAccessed"]
        sqs = next(s for s in services if s["ServiceNamespace"] == "sqs")
        assert snapshot[arns["role"]]["JobStatus"] == "COMPLETED" and "LastAuthenticated" not in sqs
        assert snapshot[arns["policy"]]["ServicesLastAccessed"][0]["ServiceNamespace"] == "s3"
        # the customer managed policy's document is kept beside its report, as get-policy-version prints it
        assert snapshot[arns["policy"]]["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "s3:*"
    for account in MEMBERS:
        assert account in run.out
    # a snapshot is an access-data file as it is: check reads one
    one = next(iter((store / MEMBERS[0]).iterdir()))
    checked = cli("check", members[MEMBERS[0]]["role"], "--access-data", str(one), "--format", "json")
    assert checked.code == 0 and checked.json["principals"][0]["unused_services"] == ["sqs"]


def test_two_shards_at_the_same_time_cover_every_account_once(members, last_accessed, tmp_path):
    store = tmp_path / "store"
    results = {}

    def worker(index: int) -> None:
        results[index] = api.sweep(str(store), accounts=MEMBERS, shard=f"{index}/2", assume_role_arn=TEMPLATE)

    threads = [threading.Thread(target=worker, args=(index,)) for index in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[1][0] == [MEMBERS[0], MEMBERS[2]] and results[2][0] == [MEMBERS[1]]
    assert {account: len(files) for account, files in snapshots(store).items()} == dict.fromkeys(MEMBERS, 1)
    generated = [p["Arn"] for op, p in last_accessed.calls if op == "GenerateServiceLastAccessedDetails"]
    assert len(generated) == len(set(generated)) == 9  # each principal once, by one worker


def test_shards_take_sorted_positions_congruent_to_i_modulo_n():
    accounts = [f"{n:012d}" for n in (5, 1, 4, 2, 3)]
    assert Shard(1, 2).of(accounts) == ["000000000001", "000000000003", "000000000005"]
    assert Shard(2, 2).of(accounts) == ["000000000002", "000000000004"]
    assert Shard(3, 3).of(accounts) == ["000000000003"]
    assert parse_shard("2/4") == Shard(2, 4)
    for bad in ("0/2", "3/2", "2", "a/b"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_bad_shard_or_account_is_a_usage_error(cli, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli("sweep", "--store", str(tmp_path), "--shard", "3/2")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        cli("sweep", "--store", str(tmp_path), "--accounts", "12345")


@pytest.fixture
def organization(iam, last_accessed) -> dict[str, str]:
    """An organisation: the management account, one account under ou `prod` and one under
    a unit inside it, one outside `prod`, and one closed (SUSPENDED)."""
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    inner = org.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    accounts = {}
    for name, parent in (("web", prod), ("data", inner), ("sandbox", root), ("closed", prod)):
        account = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        accounts[name] = account["AccountId"]
        if parent != root:
            org.move_account(AccountId=account["AccountId"], SourceParentId=root, DestinationParentId=parent)
        populate(last_accessed, account["AccountId"])
    org.close_account(AccountId=accounts["closed"])
    accounts["prod"] = prod
    return accounts


def test_organization_sweeps_every_active_account_and_ou_narrows_it(cli, organization, tmp_path):
    everyone = tmp_path / "all"
    run = cli("sweep", "--store", str(everyone), "--organization", "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    expected = {organization["web"], organization["data"], organization["sandbox"], ACCOUNT}
    assert set(snapshots(everyone)) == expected
    prod = tmp_path / "prod"
    run = cli("sweep", "--store", str(prod), "--organization", "--ou", organization["prod"],
              "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    assert set(snapshots(prod)) == {organization["web"], organization["data"]}


def test_a_sweep_calls_only_its_allow_list(cli, organization, aws_hooks, tmp_path):
    seen: list[str] = []
    aws_hooks.insert(0, lambda event_name, **_kwargs: seen.append(event_name.split(".", 1)[1]))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    run = cli("sweep", "--store", f"s3://{BUCKET}/usage", "--organization", "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    called = {op.replace(".", ":") for op in seen}
    assert called <= set(policy_actions("sweep")), called - set(policy_actions("sweep"))
    assert {"s3:PutObject", "organizations:ListAccounts", "iam:ListRoles", "sts:AssumeRole"} <= called


def test_ou_without_organization_is_refused(cli, iam, tmp_path):
    run = cli("sweep", "--store", str(tmp_path), "--ou", "ou-abcd-12345678")
    assert run.code == 2 and "--ou" in run.err


BUCKET = "usage-store"


def test_sweep_to_s3_puts_one_object_per_account_under_the_prefix(cli, members, tmp_path):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    run = cli("sweep", "--store", f"s3://{BUCKET}/iam-lastused/", "--accounts", ",".join(MEMBERS),
              "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(key.split("/")[1] for key in keys) == sorted(MEMBERS)
    assert all(key.startswith("iam-lastused/") and key.endswith("Z.json") for key in keys)
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert body[SNAPSHOT_KEY]["account"] == keys[0].split("/")[1]


def test_an_account_that_cannot_be_reached_is_said_and_the_others_are_written(
    cli, members, aws_hooks, tmp_path
):
    def refuse(request, **_kwargs):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        if "Action=AssumeRole" in body and MEMBERS[1] in body:
            from fake_last_accessed import _error
            return _error(403, "AccessDenied", "not allowed")
        return None

    aws_hooks.insert(0, refuse)
    store = tmp_path / "store"
    run = cli("sweep", "--store", str(store), "--accounts", ",".join(MEMBERS), "--assume-role-arn", TEMPLATE)
    assert run.code == 2
    assert f"account {MEMBERS[1]} not swept" in run.err and "AccessDenied" in run.err
    assert sorted(snapshots(store)) == [MEMBERS[0], MEMBERS[2]]


def test_the_sweep_s_one_write_is_put_object_under_the_store_prefix(iam):
    from iam_lastused.aws.s3_store import S3Store

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    session = boto3.Session(region_name="us-east-1")
    writer = S3Store(f"s3://{BUCKET}/team-a", session, writer=True)
    writer.put(ACCOUNT, "20260101T000000Z.json", b"{}")
    outside = ((BUCKET, "team-b/x.json"), ("other-bucket", "team-a/x.json"), (BUCKET, "team-a/../x"))
    for bucket, key in outside:
        with pytest.raises(OperationNotAllowed, match="outside the store"):
            writer.client.put_object(Bucket=bucket, Key=key, Body=b"{}")
    with pytest.raises(OperationNotAllowed, match="DeleteObject"):
        writer.client.delete_object(Bucket=BUCKET, Key=f"team-a/{ACCOUNT}/20260101T000000Z.json")
    reader = S3Store(f"s3://{BUCKET}/team-a", session, writer=False)
    with pytest.raises(OperationNotAllowed, match="outside the store"):
        reader.client.put_object(Bucket=BUCKET, Key=f"team-a/{ACCOUNT}/y.json", Body=b"{}")
    assert reader.newest(ACCOUNT) == (f"s3://{BUCKET}/team-a/{ACCOUNT}/20260101T000000Z.json", b"{}")
    assert "s3:PutObject" in policy_actions("sweep") and "s3:PutObject" not in policy_actions("run")
    assert policy_actions("store-reader") == ["s3:GetObject", "s3:ListBucket"]
    writes = [a for a in policy_actions("sweep") if not a.split(":")[1].startswith(("Get", "List"))]
    assert writes == ["iam:GenerateServiceLastAccessedDetails", "s3:PutObject", "sts:AssumeRole"]


def test_the_library_s_sweep_refuses_a_bad_shard_or_option_as_a_usage_error(iam, tmp_path):
    with pytest.raises(api.UsageError, match="3/2"):
        api.sweep(str(tmp_path), shard="3/2")
    with pytest.raises(api.UsageError, match="no_such_option"):
        api.sweep(str(tmp_path), no_such_option=True)


def test_accounts_are_swept_a_batch_at_a_time_each_written_before_the_next(
    cli, members, last_accessed, aws_hooks, tmp_path, monkeypatch
):
    monkeypatch.setattr("iam_lastused.aws.sweep.ACCOUNTS_AT_ONCE", 1)
    store = tmp_path / "store"
    written_when_asked: dict[str, list[str]] = {}

    def record(request, **_kwargs):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        if "Action=GenerateServiceLastAccessedDetails" in body:
            account = next(a for a in MEMBERS if a in body)
            written_when_asked.setdefault(account, sorted(p.name for p in store.glob("*")))

    aws_hooks.insert(0, record)
    run = cli("sweep", "--store", str(store), "--accounts", ",".join(MEMBERS), "--assume-role-arn", TEMPLATE)
    assert run.code == 0, run.err
    assert written_when_asked == {MEMBERS[0]: [], MEMBERS[1]: [MEMBERS[0]], MEMBERS[2]: list(MEMBERS[:2])}


README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = "## Organisation scale"


def readme_policies(readme: str) -> list[list[str]]:
    """The actions of each JSON policy in the README's organisation section, in order."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    policies = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
    return [
        sorted(action for statement in policy["Statement"] for action in statement["Action"])
        for policy in policies if "Statement" in policy
    ]


@pytest.mark.skipif(SECTION not in README, reason="the README's organisation section is not merged yet")
def test_the_readme_s_organisation_policies_are_exactly_the_allow_lists():
    sweep_role, member_role, reader, analyzer = readme_policies(README)
    assert sorted(sweep_role + member_role) == policy_actions("sweep")
    assert reader == policy_actions("store-reader")
    assert analyzer == policy_actions("access-analyzer")
