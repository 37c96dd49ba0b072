"""The card's layout (adapters/, judges/, cache/, cli.py at the top) installs as one namespace,
almeval.*: proven here for the editable install the tests run in and for a built wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import almeval

REPO = Path(__file__).resolve().parent.parent
LINKS = {"adapters": "../adapters", "judges": "../judges", "cache": "../cache", "cli.py": "../cli.py"}


def test_the_four_links_point_at_the_top_level_folders():
    for name, target in LINKS.items():
        link = REPO / "almeval" / name
        assert link.is_symlink(), f"almeval/{name} must be a link to {target}"
        assert os.readlink(link) == target


def test_editable_install_resolves_the_links_to_the_top_level_code():
    import almeval.adapters
    import almeval.cache
    import almeval.cli
    import almeval.judges

    assert Path(almeval.__file__).resolve().parent == REPO / "almeval"
    assert Path(almeval.cli.__file__).resolve() == REPO / "cli.py"
    for mod, folder in ((almeval.adapters, "adapters"), (almeval.judges, "judges"), (almeval.cache, "cache")):
        assert Path(mod.__file__).resolve() == REPO / folder / "__init__.py"


def test_python_m_almeval_help():
    out = subprocess.run([sys.executable, "-m", "almeval", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "eval" in out.stdout and "report" in out.stdout


def test_built_wheel_installs_the_links_as_almeval_subpackages_and_no_generic_top_level_names(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("almeval-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "almeval/cli.py",
        "almeval/adapters/base.py",
        "almeval/adapters/prompts/kimi-audio.yaml",
        "almeval/judges/pool.py",
        "almeval/judges/templates/mcq-yesno.yaml",
        "almeval/cache/keys.py",
        "almeval/data/demo/demo.jsonl",
    ):
        assert needed in names, f"{needed} missing from {wheel.name}"
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"adapters", "judges", "cache", "cli.py", "tests"}, sorted(tops)
    cli_text = zipfile.ZipFile(wheel).read("almeval/cli.py").decode()
    assert cli_text == (REPO / "cli.py").read_text(), "the wheel's almeval/cli.py must be the top-level cli.py"


def test_almeval_version_is_the_project_version():
    text = (REPO / "pyproject.toml").read_text()
    assert f'version = "{almeval.__version__}"' in text


def test_the_dockerfile_pins_the_makefile_torch_and_installs_extras_that_exist():
    import re
    import tomllib

    make = re.search(r"^TORCH := ([0-9.]+)", (REPO / "Makefile").read_text(), re.M)
    docker_text = (REPO / "Dockerfile").read_text()
    docker = re.search(r"^ARG TORCH=([0-9.]+)", docker_text, re.M)
    assert make and docker and make.group(1) == docker.group(1)
    readme = (REPO / "README.md").read_text()
    assert f"torch=={make.group(1)}" in readme
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    wanted = re.search(r'pip install "\.\[([a-z,-]+)\]"', docker_text)
    assert wanted and set(wanted.group(1).split(",")) <= extras
    assert {"hf", "prepare", "ifeval"} <= set(wanted.group(1).split(","))


def test_the_makefile_the_dockerfile_and_the_code_install_the_same_openai_whisper():
    import re

    from almeval.metrics import WHISPER_PIN

    make = re.search(r"^WHISPER := (\S+)", (REPO / "Makefile").read_text(), re.M)
    assert make and make.group(1) == WHISPER_PIN
    assert f"pip install --no-deps {WHISPER_PIN}" in (REPO / "Dockerfile").read_text()
    assert WHISPER_PIN in (REPO / "README.md").read_text()


def test_the_makefile_the_dockerfile_and_the_code_install_the_same_vlmevalkit():
    import re

    from almeval.image_rules import VLMEVAL_PIN

    make = re.search(r"^VLMEVAL := (\S+)", (REPO / "Makefile").read_text(), re.M)
    assert make and make.group(1) == VLMEVAL_PIN
    assert VLMEVAL_PIN in (REPO / "Dockerfile").read_text()
