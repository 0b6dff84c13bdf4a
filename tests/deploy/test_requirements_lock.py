"""The locks installed by make and the Dockerfile agree with the pins they are compiled from.

requirements.txt and requirements-dev.txt name the top-level packages; requirements.lock and
requirements-dev.lock pin every package with its hashes (the uv command is in each header).
Changing a pin without compiling the locks again fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every pinned line, following `-r` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            found.update(pins(path.parent / line.split(maxsplit=1)[1]))
        elif match := PIN.match(line):
            found[normalised(match[1])] = match[2]
    return found


def hashed(path: Path) -> dict[str, int]:
    """name -> number of sha256 hashes of each package of a lock."""
    counts: dict[str, int] = {}
    name = ""
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            name = normalised(match[1])
            counts[name] = 0
        elif line.strip().startswith("--hash=sha256:"):
            counts[name] += 1
    return counts


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_every_pin_is_in_its_lock_at_the_same_version(source: str, lock: str) -> None:
    wanted, locked = pins(ROOT / source), pins(ROOT / lock)
    assert wanted, source
    assert {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    } == {}


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_is_pinned_with_hashes(lock: str) -> None:
    counts = hashed(ROOT / lock)
    assert len(counts) > 50
    assert [name for name, count in counts.items() if count == 0] == []
    assert counts.keys() == pins(ROOT / lock).keys()


def test_the_dev_lock_installs_the_runtime_lock_unchanged() -> None:
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert {
        name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version
    } == {}


def test_make_and_the_image_install_from_the_locks() -> None:
    makefile, dockerfile = (ROOT / "Makefile").read_text(), (ROOT / "Dockerfile").read_text()
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in makefile
    assert "pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock" in dockerfile
