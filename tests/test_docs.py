"""The README's sample and the rendered files in docs/ are what the tool prints for the
examples today (docs/generate.py makes them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", TOP / "docs" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_readme_sample_and_docs_are_what_the_examples_give_today() -> None:
    generate = _generator()
    assert generate.out_of_date(generate.rendered(), generate.same_but_for_what_varies) == []


def test_a_sample_that_drifted_is_found() -> None:
    generate = _generator()
    files = generate.rendered()
    readme = TOP / "README.md"
    files[readme] = files[readme].replace("role aws_iam_role.ci_deployer", "role aws_iam_role.ci_deploy", 1)
    assert generate.out_of_date(files, generate.same_but_for_what_varies) == [readme]
    assert generate.same_but_for_what_varies("last used 3 days ago", "last used 41 days ago")
    assert generate.same_but_for_what_varies("written 2026-12-07 22:41 UTC", "written 2027-01-02 08:05 UTC")
    escaped = "written 2026\\-12\\-07 22\\:41 UTC", "written 2027\\-01\\-02 08\\:05 UTC"
    assert generate.same_but_for_what_varies(*escaped)
