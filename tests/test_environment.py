"""Where the code is deployed (`Environment`) reaches every source the same way: the
partition the run knows (an account's, say, whatever the region) is the one Terraform's
data.aws_partition, CloudFormation's AWS::Partition and a CDK assembly's templates see."""

from __future__ import annotations

import shutil
from pathlib import Path

from iam_lastused.environment import Environment
from iam_lastused.sources import scan_paths

ROOT = Path(__file__).parent.parent

TERRAFORM = """\
data "aws_partition" "current" {}

resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "read" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}
"""

TEMPLATE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      ManagedPolicyArns:
        - !Sub "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"
"""


def test_every_source_takes_the_partition_of_the_environment(tmp_path: Path) -> None:
    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "main.tf").write_text(TERRAFORM)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    shutil.copytree(ROOT / "examples" / "cdk" / "cdk.out", tmp_path / "cdk.out")
    china = Environment("111122223333", None, "aws-cn")  # an account's partition, no region given
    found = scan_paths(
        [tmp_path / "terraform", tmp_path / "template.yaml", tmp_path / "cdk.out"], environment=china,
        use_cache=False,
    )
    arns = {p.address: sorted(g.policy_arn for g in p.grants or () if g.policy_arn) for p in found.principals}
    assert arns["aws_iam_role.app"] == ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]
    assert arns["Role"] == ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]
    assert arns["MyStack/Worker/Role"] == ["arn:aws-cn:iam::aws:policy/CloudWatchAgentServerPolicy"]
    assert found.errors == ()
