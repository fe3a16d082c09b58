"""AWS CDK cloud assemblies through the CLI: examples/cdk/cdk.out offline, hostile
manifests, and resolution through the deployed stack (and its nested stack) in moto."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).parent.parent
ASSEMBLY = "examples/cdk/cdk.out"
PARENT = f"{ASSEMBLY}/MyStack.template.json"
NESTED = f"{ASSEMBLY}/MyStackStorage4F3E2D1C.nested.template.json"
RECENT = datetime.now(timezone.utc) - timedelta(days=1)


def by_address(run) -> dict[str, dict]:
    return {p["address"]: p for p in run.json["principals"]}


def test_principals_are_named_by_construct_path_with_the_template_line(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = cli("scan", ASSEMBLY, "--access-data", "examples/access-data.json", "--format", "json")
    found = by_address(run)
    assert set(found) == {"MyStack/Worker/Role", "MyStack/Storage/ReaderRole"}
    role = found["MyStack/Worker/Role"]
    assert (role["source"], role["file"], role["line"]) == ("cdk", PARENT, 3)
    assert role["arn"] == "arn:aws:iam::111122223333:role/orders-api-handler"
    assert role["status"] == "analyzed"
    assert role["unused_services"] == ["ec2", "sqs", "xray"]
    assert role["stale_services"] == ["ssm"]
    granted = {s["namespace"]: s["granted_by"] for s in role["services"]}
    assert granted["sqs"] == [{"file": PARENT, "line": 70}]  # the DefaultPolicy's statement
    assert granted["ec2"] == [{"file": PARENT, "line": 19}]  # the managed policy attachment
    assert role["granted_services"] == ["cloudwatch", "dynamodb", "ec2", "logs", "s3", "sqs", "ssm", "xray"]
    assert run.json["errors"] == [] and run.code == 0


def test_nested_stack_template_is_read(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = cli("scan", ASSEMBLY, "--access-data", "examples/access-data.json", "--format", "json")
    reader = by_address(run)["MyStack/Storage/ReaderRole"]
    assert (reader["file"], reader["line"]) == (NESTED, 3)
    assert reader["granted_services"] == ["kms", "s3"]
    assert reader["status"] == "unresolved"
    assert "deployed stack" in reader["error"]


def test_walking_a_tree_skips_cdk_out_but_naming_it_reads_it_once(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    walked = cli("scan", "examples", "--access-data", "examples/access-data.json", "--format", "json")
    assert not [p for p in walked.json["principals"] if p["source"] == "cdk"]
    assert walked.json["principals"] and walked.code == 0
    named = cli("scan", ASSEMBLY, "--access-data", "examples/access-data.json", "--format", "json")
    assert {p["source"] for p in named.json["principals"]} == {"cdk"}  # not also read as templates


def _assembly(tmp_path: Path, template_file: str) -> Path:
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    shutil.copy(ROOT / PARENT, assembly / "MyStack.template.json")
    manifest = {"version": "36.0.0", "artifacts": {"MyStack": {
        "type": "aws:cloudformation:stack", "properties": {"templateFile": template_file},
    }}}
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    return assembly


@pytest.mark.parametrize("template_file", ["../../etc/passwd", "/etc/passwd", "..\\x", "", 7])
def test_a_template_file_outside_the_assembly_is_refused_in_one_line(cli, monkeypatch, tmp_path,
                                                                      template_file):
    monkeypatch.chdir(tmp_path)
    _assembly(tmp_path, template_file)
    run = cli("scan", "cdk.out", "--access-data", str(ROOT / "examples/access-data.json"), "--format", "json")
    [error] = run.json["errors"]
    assert error["file"] == "cdk.out/manifest.json"
    assert "not read: not a relative path inside the cloud assembly" in error["message"]
    assert "\n" not in error["message"] and "root:" not in run.out
    assert run.json["principals"] == []


def test_a_link_out_of_the_root_and_a_hostile_nested_path_are_refused(cli, monkeypatch, tmp_path):
    inside = tmp_path / "repo"
    inside.mkdir()
    (inside / ".git").mkdir()
    monkeypatch.chdir(inside)
    assembly = _assembly(inside, "Linked.template.json")
    (tmp_path / "secret.template.json").write_text((ROOT / PARENT).read_text())
    (assembly / "Linked.template.json").symlink_to(tmp_path / "secret.template.json")
    run = cli("scan", "cdk.out", "--access-data", str(ROOT / "examples/access-data.json"), "--format", "json")
    [error] = run.json["errors"]
    assert error["file"] == "cdk.out/Linked.template.json"
    assert "outside the repository root" in error["message"]

    template = json.loads((ROOT / PARENT).read_text())
    nested = template["Resources"]["StorageNestedStackStorageNestedStackResource9C8D7E6F"]
    nested["Metadata"]["aws:asset:path"] = "../../../etc/passwd"
    (assembly / "manifest.json").unlink()
    (assembly / "MyStack.template.json").write_text(json.dumps(template, indent=1))
    (assembly / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {"MyStack": {
        "type": "aws:cloudformation:stack", "properties": {"templateFile": "MyStack.template.json"}}}}))
    run = cli("scan", "cdk.out", "--access-data", str(ROOT / "examples/access-data.json"), "--format", "json")
    [error] = run.json["errors"]
    assert error["file"] == "cdk.out/MyStack.template.json"
    assert "nested template" in error["message"] and "not read" in error["message"]
    assert list(by_address(run)) == ["MyStack/Worker/Role"]


def test_an_assembly_without_stacks_has_no_principals(cli, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assembly = _assembly(tmp_path, "MyStack.template.json")
    (assembly / "manifest.json").write_text('{"version": "36.0.0", "artifacts": {}}')
    run = cli("scan", "cdk.out", "--access-data", str(ROOT / "examples/access-data.json"), "--format", "json")
    assert run.json["principals"] == [] and run.json["errors"] == []


@pytest.fixture
def deployed(iam, last_accessed) -> dict[str, str]:
    """MyStack deployed as CloudFormation would deploy the assembly: the nested
    template from S3 (moto's), the bootstrap parameter and rule left out."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="cdk-assets")
    s3.put_object(Bucket="cdk-assets", Key="nested.json", Body=(ROOT / NESTED).read_bytes())
    template = json.loads((ROOT / PARENT).read_text())
    template.pop("Parameters")
    template.pop("Rules")
    nested = template["Resources"]["StorageNestedStackStorageNestedStackResource9C8D7E6F"]
    nested["Properties"]["TemplateURL"] = "https://cdk-assets.s3.amazonaws.com/nested.json"
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName="MyStack", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    reader = next(r["RoleName"] for r in iam.list_roles()["Roles"] if "ReaderRole" in r["RoleName"])
    arns = {
        "MyStack/Worker/Role": iam.get_role(RoleName="orders-api-handler")["Role"]["Arn"],
        "MyStack/Storage/ReaderRole": iam.get_role(RoleName=reader)["Role"]["Arn"],
    }
    last_accessed.activity[arns["MyStack/Worker/Role"]] = {"dynamodb": RECENT, "s3": RECENT, "sqs": None}
    last_accessed.activity[arns["MyStack/Storage/ReaderRole"]] = {"s3": RECENT, "kms": None}
    return arns


def test_principals_resolve_through_the_deployed_stack_and_its_nested_stack(cli, monkeypatch, deployed):
    monkeypatch.chdir(ROOT)
    run = cli("scan", ASSEMBLY, "--format", "json", "--no-cache")
    found = by_address(run)
    for address, arn in deployed.items():
        assert (found[address]["arn"], found[address]["status"]) == (arn, "analyzed")
    assert found["MyStack/Storage/ReaderRole"]["unused_services"] == ["kms"]
    assert "sqs" in found["MyStack/Worker/Role"]["unused_services"]


def test_a_stack_not_deployed_yet_makes_its_principals_not_deployed(cli, monkeypatch, iam, last_accessed):
    monkeypatch.chdir(ROOT)
    run = cli("scan", ASSEMBLY, "--format", "json", "--no-cache")
    assert {p["address"]: p["status"] for p in run.json["principals"]} == {
        "MyStack/Worker/Role": "not-deployed", "MyStack/Storage/ReaderRole": "not-deployed",
    }
