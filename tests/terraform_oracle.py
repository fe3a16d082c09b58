"""Terraform itself, planning against moto: the oracle for Terraform's semantics.

`terraform_plan(directory)` copies a fixture root (with its `.terraform/modules/`
manifest, if the test wrote one) into a private directory, adds a provider block
pointing the AWS provider at a moto server on loopback, runs `terraform init
-get=false` (providers from the filesystem mirror, modules as the manifest lists them:
nothing is downloaded), `plan` and `show -json`, and returns the plan's JSON. The
fixture directory itself is left as it was, so the scan under test reads the same files.

Tests using it are skipped, with the reason, where terraform or the mirrored AWS
provider is absent. The mirror is `/opt/tf-plugins` unless `IAM_LASTUSED_TF_MIRROR`
names another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

MIRROR = Path(os.environ.get("IAM_LASTUSED_TF_MIRROR", "/opt/tf-plugins"))
# What the provider block names as endpoints: every service a fixture may read or write.
ENDPOINTS = ("iam", "sts", "s3", "cloudformation", "organizations", "ssoadmin")
PROVIDER_FILE = "zz_oracle_provider.tf"


def _missing() -> str | None:
    if shutil.which("terraform") is None:
        return "terraform is not installed"
    if not any(MIRROR.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")):
        return f"the AWS provider is not in a filesystem mirror at {MIRROR}"
    return None


requires_terraform = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on loopback for the whole session (per xdist worker)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"  # moto keeps no public name for the port
    finally:
        server.stop()


def _provider_block(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in ENDPOINTS)
    body = f"""
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
{endpoints}
  }}
"""
    return f'provider "aws" {{{body}}}\n'


def _has_aws_provider(directory: Path) -> bool:
    return any('provider "aws"' in path.read_text() for path in directory.glob("*.tf"))


def _environment(work: Path) -> dict[str, str]:
    config = work.parent / "terraformrc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n}}\n')
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TF_", "AWS_"))
    }
    environment.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE="/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
    )
    return environment


def terraform(work: Path, *args: str) -> str:
    """Run terraform in `work`; its output, or the test fails with terraform's own words."""
    done = subprocess.run(
        ["terraform", *args], cwd=work, env=_environment(work), capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        pytest.fail(f"terraform {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(directory: Path, endpoint: str, scratch: Path) -> Path:
    """A copy of the root `directory` with the provider pointed at moto, initialised."""
    work = scratch / "root"
    shutil.copytree(directory, work, symlinks=True)
    if _has_aws_provider(work):
        (work / "zz_oracle_provider_override.tf").write_text(_provider_block(endpoint))
    else:
        (work / PROVIDER_FILE).write_text(_provider_block(endpoint))
    terraform(work, "init", "-get=false", "-backend=false", "-input=false", "-no-color")
    return work


def terraform_plan(
    directory: Path, endpoint: str, scratch: Path, variables: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Terraform's plan of the root `directory`, as `terraform show -json` gives it.
    `scratch` is an empty directory of the test's (tmp_path)."""
    work = prepare(directory, endpoint, scratch)
    given = [f"-var={name}={value}" for name, value in (variables or {}).items()]
    terraform(work, "plan", "-input=false", "-lock=false", "-no-color", "-out=oracle.tfplan", *given)
    return json.loads(terraform(work, "show", "-json", "oracle.tfplan"))


def planned_resources(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource the plan makes, by address, with its planned values (as known)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: Mapping[str, Any]) -> None:
        for resource in module.get("resources", ()):
            found[resource["address"]] = resource.get("values", {})
        for child in module.get("child_modules", ()):
            walk(child)

    walk(plan.get("planned_values", {}).get("root_module", {}))
    return found
