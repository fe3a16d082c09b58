"""How fast the Terraform source reads a large tree, against python-hcl2 alone.

Generates a tree of .tf files (root modules calling local modules; roles with
heredoc, jsonencode and policy-document policies, managed policies and
attachments), then times python-hcl2's own parse of every file, a first scan
(cold parse cache) and a second scan of the unchanged tree (warm cache).

    python bench/parse.py [--files 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hcl2.api import parses
from iam_lastused.sources.terraform.scan import scan_terraform

MODULES_PER_STACK = 4
FILES_PER_MODULE = 12
ROOT_FILES = 2
FILES_PER_STACK = ROOT_FILES + MODULES_PER_STACK * FILES_PER_MODULE

ROOT_VARIABLES = """\
variable "env" {
  default = "prod"
}

variable "team" {
  type = string
}
"""

MODULE_CALL = """\
module "svc{index}" {{
  source = "./modules/svc{index}"
  env    = var.env
  name   = "svc{index}-${{var.env}}"
}}
"""

MODULE_FILE = """\
# {stack}/svc{module}/part{index}.tf
variable "name_{index}" {{
  default = "part{index}"
}}

locals {{
  role_{index} = "${{var.name}}-${{var.name_{index}}}"
}}

resource "aws_iam_role" "worker_{index}" {{
  name = local.role_{index}
  path = "/service/"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = {{ Service = "lambda.amazonaws.com" }}
    }}]
  }})
}}

resource "aws_iam_role_policy" "inline_{index}" {{
  name   = "inline"
  role   = aws_iam_role.worker_{index}.name
  policy = <<EOF
{{
  "Version": "2012-10-17",
  "Statement": [
    {{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}},
    {{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}}
  ]
}}
EOF
}}

data "aws_iam_policy_document" "doc_{index}" {{
  statement {{
    sid       = "Queue"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage"]
    resources = ["arn:aws:sqs:*:*:${{var.env}}-queue"]
  }}
  statement {{
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = ["*"]
  }}
}}

resource "aws_iam_policy" "managed_{index}" {{
  name   = "${{local.role_{index}}}-managed"
  policy = data.aws_iam_policy_document.doc_{index}.json
}}

resource "aws_iam_role_policy_attachment" "managed_{index}" {{
  role       = aws_iam_role.worker_{index}.name
  policy_arn = aws_iam_policy.managed_{index}.arn
}}

resource "aws_iam_role_policy_attachment" "readonly_{index}" {{
  role       = aws_iam_role.worker_{index}.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}}
"""


def generate(root: Path, files: int) -> None:
    for stack in range(-(-files // FILES_PER_STACK)):
        stack_dir = root / f"stack{stack}"
        stack_dir.mkdir(parents=True)
        (stack_dir / "variables.tf").write_text(f"# stack {stack}\n{ROOT_VARIABLES}")
        calls = "\n".join(MODULE_CALL.format(index=index) for index in range(MODULES_PER_STACK))
        (stack_dir / "main.tf").write_text(calls)
        for module in range(MODULES_PER_STACK):
            module_dir = stack_dir / "modules" / f"svc{module}"
            module_dir.mkdir(parents=True)
            variables = f'# {stack}/svc{module}\nvariable "name" {{}}\nvariable "env" {{}}\n'
            (module_dir / "variables.tf").write_text(variables)
            for index in range(FILES_PER_MODULE - 1):
                content = MODULE_FILE.format(stack=stack, module=module, index=index)
                (module_dir / f"part{index}.tf").write_text(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["IAM_LASTUSED_CACHE_DIR"] = str(Path(tmp) / "cache")
        tree = Path(tmp) / "tree"
        generate(tree, args.files)
        paths = sorted(tree.rglob("*.tf"))
        parses(paths[0].read_text())  # builds python-hcl2's parser outside the timings

        start = time.perf_counter()
        for path in paths:
            parses(path.read_text())
        raw = time.perf_counter() - start

        start = time.perf_counter()
        first = scan_terraform([tree])
        cold = time.perf_counter() - start

        start = time.perf_counter()
        second = scan_terraform([tree])
        warm = time.perf_counter() - start

    assert first == second and not first.errors
    grants = sum(len(principal.grants or ()) for principal in first.principals)
    print(f"tree:                {len(paths)} files, {len(first.principals)} principals, {grants} grants")
    print(f"python-hcl2 parse:   {raw:6.2f} s  {len(paths) / raw:7.0f} files/s")
    print(f"first scan (cold):   {cold:6.2f} s  {len(paths) / cold:7.0f} files/s")
    print(f"overhead:            {cold / raw:6.2f}x python-hcl2's parse time (target <= 0.7x)")
    print(f"second scan (warm):  {warm:6.2f} s  {len(paths) / warm:7.0f} files/s")
    print(f"speed-up:            {cold / warm:6.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
