"""A change set whose DescribeChangeSet answer comes in pages: every page's changes
count. moto answers in one page, so the change set's answers (and its template, which
moto's GetTemplate does not keep per change set) are given here, in botocore's shape."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import pytest
from fake_last_accessed import xml_response

XMLNS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
]}


def template(*actions: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    policy = {"PolicyName": "work", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
    return {"Resources": {
        logical_id: {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"pages-{logical_id.lower()}", "AssumeRolePolicyDocument": TRUST,
            "Policies": [policy],
        }}
        for logical_id in ("First", "Second", "Third")
    }}


def _answer(operation: str, result: str, url: str) -> Any:
    return xml_response(200, (
        f'<{operation}Response xmlns="{XMLNS}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></{operation}Response>"
    ), url=url)


def _change(logical_id: str) -> str:
    return ("<member><Type>Resource</Type><ResourceChange><Action>Modify</Action>"
            f"<LogicalResourceId>{logical_id}</LogicalResourceId><ResourceType>AWS::IAM::Role</ResourceType>"
            "<Replacement>False</Replacement></ResourceChange></member>")


@pytest.fixture
def paged_change_set(aws_hooks: list[Any], last_accessed: Any) -> list[str | None]:
    """Stack `pages` deployed in moto; change set `more` adds sqs to each role, its
    DescribeChangeSet answer in three pages, one change each. Returns the NextToken of
    each DescribeChangeSet call made."""
    boto3.client("cloudformation").create_stack(
        StackName="pages", TemplateBody=json.dumps(template("s3:GetObject")),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    pending = json.dumps(template("s3:GetObject", "sqs:SendMessage"), indent=2)
    pages = {None: ("First", "2"), "2": ("Second", "3"), "3": ("Third", None)}
    tokens: list[str | None] = []

    def answer(request: Any, **_kwargs: Any) -> Any:
        if "cloudformation." not in request.url:
            return None
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        params = {k: v[0] for k, v in parse_qs(body).items()}
        if params.get("ChangeSetName") != "more":
            return None
        if params.get("Action") == "GetTemplate":
            return _answer("GetTemplate", f"<TemplateBody>{escape(pending)}</TemplateBody>", request.url)
        token = params.get("NextToken")
        tokens.append(token)
        logical_id, following = pages[token]
        result = (f"<ChangeSetName>more</ChangeSetName><StackName>pages</StackName>"
                  f"<Changes>{_change(logical_id)}</Changes>"
                  + (f"<NextToken>{following}</NextToken>" if following else ""))
        return _answer("DescribeChangeSet", result, request.url)

    aws_hooks.insert(0, answer)
    return tokens


def test_every_page_of_a_change_set_counts(cli: Any, paged_change_set: list[str | None]) -> None:
    run = cli("cfn", "--stack", "pages", "--change-set", "more", "--format", "json")
    assert run.code == 0, run.err
    changes = {p["address"]: (p["change"], p["added_services"]) for p in run.json["principals"]}
    roles = ("First", "Second", "Third")
    assert changes == {f"pages/{logical_id}": ("update", ["sqs"]) for logical_id in roles}
    assert paged_change_set[-3:] == [None, "2", "3"]
