"""SAM projects as `sam init` makes them (issue 25), through the CLI: the hello-world
templates, zip and image, and SAM resources in a template without SAM's transform."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent
ACCESS_DATA = str(ROOT / "examples/access-data.json")

HELLO_WORLD = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: hello world

Globals:
  Function:
    Timeout: 3

Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
{properties}
      Events:
        HelloWorld:
          Type: Api
          Properties:
            Path: /hello
            Method: get
      Policies:
        - S3ReadPolicy:
            BucketName: hello-assets
{metadata}
"""
ZIP = "      CodeUri: hello_world/\n      Handler: app.lambda_handler\n      Runtime: python3.12"
IMAGE = "      PackageType: Image"
DOCKER = (
    "    Metadata:\n      Dockerfile: Dockerfile\n      DockerContext: ./hello_world\n"
    "      DockerTag: python3.12-v1"
)


def write(tmp_path: Path, text: str) -> str:
    (tmp_path / "template.yaml").write_text(text)
    return str(tmp_path)


def test_sam_init_image_function_is_translated_with_a_placeholder_image(tmp_path: Path, cli) -> None:
    """`sam init`'s image layout has no ImageUri (sam build fills it in from Metadata):
    translated as `sam validate` does, with a placeholder image."""
    path = write(tmp_path, HELLO_WORLD.format(properties=IMAGE, metadata=DOCKER))
    run = cli("scan", path, "--access-data", ACCESS_DATA, "--format", "json")
    assert run.json["errors"] == []
    (role,) = run.json["principals"]
    assert (role["address"], role["line"]) == ("HelloWorldFunctionRole", 10)
    assert [grant["line"] for grant in role["unknown_grants"]] == [10]  # the basic execution role


def test_sam_init_zip_and_image_functions_are_granted_alike(tmp_path: Path, cli) -> None:
    (tmp_path / "zip").mkdir()
    (tmp_path / "image").mkdir()
    zip_run = cli("scan", write(tmp_path / "zip", HELLO_WORLD.format(properties=ZIP, metadata="")),
                  "--access-data", ACCESS_DATA, "--format", "json")
    image_run = cli("scan", write(tmp_path / "image", HELLO_WORLD.format(properties=IMAGE, metadata=DOCKER)),
                    "--access-data", ACCESS_DATA, "--format", "json")
    zip_role, image_role = zip_run.json["principals"][0], image_run.json["principals"][0]
    assert zip_role["granted_services"] == image_role["granted_services"]


def test_image_function_without_image_or_dockerfile_is_still_sams_error(tmp_path: Path, cli) -> None:
    """Nothing says how the image is built: SAM's own error, at the function, as before."""
    path = write(tmp_path, HELLO_WORLD.format(properties=IMAGE, metadata=""))
    run = cli("scan", path, "--access-data", ACCESS_DATA)
    assert run.code == 2
    assert "template.yaml:10: SAM cannot translate the template" in run.out
    assert "'ImageUri' must be set" in run.out


def test_sam_resources_without_the_transform_are_an_error_at_their_line(tmp_path: Path, cli) -> None:
    """CloudFormation rejects them ("Unrecognized resource types"): said at each, not dropped."""
    text = HELLO_WORLD.format(properties=ZIP, metadata="").replace(
        "Transform: AWS::Serverless-2016-10-31\n", ""
    ) + "  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {}\n"
    run = cli("scan", write(tmp_path, text), "--access-data", ACCESS_DATA, "--format", "lint")
    assert (
        f"{tmp_path / 'template.yaml'}:9: [input-error] HelloWorldFunction: unrecognized resource type "
        "AWS::Serverless::Function: it needs Transform: AWS::Serverless-2016-10-31"
    ) in run.out
    json_run = cli("scan", str(tmp_path), "--access-data", ACCESS_DATA, "--format", "json")
    assert [p["address"] for p in json_run.json["principals"]] == ["Worker"]  # the rest is read
    assert [(e["line"]) for e in json_run.json["errors"]] == [9]
