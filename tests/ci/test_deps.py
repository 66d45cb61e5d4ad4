"""`.ci/deps.sh`, what `make deps` and `make test` run first: installs only what is missing, as root or
through `sudo -n`, and otherwise stops with the one command to run.

apt-get, dpkg-query, sudo and npm are stand-ins on PATH that record how they were called (installing real
Debian packages in a test would change the machine); the script itself, bash and the user ids are real: the
non-root cases run as ``nobody``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plans import REPO

SCRIPT = REPO / ".ci" / "deps.sh"
REAL_TOOLS = ("bash", "dirname", "id", "mkdir", "tail", "touch", "env", "true")

FAKE_DPKG_QUERY = """#!/bin/bash
# prints "<name> installed" for each requested package named in $FAKE_INSTALLED
for arg in "$@"; do
  case "$arg" in -*) continue;; esac
  [[ " $FAKE_INSTALLED " == *" $arg "* ]] && echo "$arg installed"
done
exit 0
"""
FAKE_APT_GET = """#!/bin/bash
echo "apt-get uid=$(id -u) DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >>"$FAKE_LOG"
echo "E: fake apt output for $1"
exit "${FAKE_APT_RC:-0}"
"""
FAKE_SUDO = """#!/bin/bash
# sudo -n succeeds only when FAKE_SUDO=ok (as with a NOPASSWD rule); the command then runs as this user
[ "$1" = -n ] || { echo "sudo: a password is required" >&2; exit 1; }
shift
[ "$FAKE_SUDO" = ok ] || { echo "sudo: a password is required" >&2; exit 1; }
echo "sudo $*" >>"$FAKE_LOG"
exec "$@"
"""
FAKE_NPM = """#!/bin/bash
echo "npm $*" >>"$FAKE_LOG"
mkdir -p node_modules && touch node_modules/.package-lock.json
"""


@dataclass
class Checkout:
    """A copy of the files the script reads, a PATH of real tools plus stand-ins, and what they recorded."""

    root: Path
    fakes: Path

    @property
    def log(self) -> list[str]:
        path = self.root / "calls.log"
        return path.read_text().splitlines() if path.exists() else []

    def packages(self, *lines: str) -> None:
        (self.root / ".ci" / "apt-packages.txt").write_text("".join(f"{line}\n" for line in lines))

    def without(self, tool: str) -> None:
        (self.fakes / tool).unlink()

    def run(self, *, as_nobody: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
        full = {"PATH": f"{self.fakes}:{self.root / 'tools'}", "FAKE_LOG": str(self.root / "calls.log"), **env}
        argv = ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in full.items()), "/bin/bash", str(self.script)]
        if as_nobody:
            argv = ["runuser", "-u", "nobody", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    @property
    def script(self) -> Path:
        return self.root / ".ci" / "deps.sh"


def _fake(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def checkout() -> Iterator[Checkout]:
    if os.geteuid() != 0:
        pytest.skip("the non-root cases switch to nobody with runuser, which needs root")
    root = Path(tempfile.mkdtemp(prefix="deps-"))
    try:
        (root / ".ci").mkdir()
        shutil.copy(SCRIPT, root / ".ci" / "deps.sh")
        (root / "package-lock.json").write_text("{}\n")
        (root / "node_modules").mkdir()
        stamp = root / "node_modules" / ".package-lock.json"
        stamp.write_text("{}\n")
        os.utime(root / "package-lock.json", (1_000_000_000, 1_000_000_000))
        tools = root / "tools"
        tools.mkdir()
        for tool in REAL_TOOLS:
            found = shutil.which(tool)
            assert found, f"{tool} not on PATH"
            (tools / tool).symlink_to(found)
        fakes = root / "fakes"
        fakes.mkdir()
        for name, body in {
            "dpkg-query": FAKE_DPKG_QUERY,
            "apt-get": FAKE_APT_GET,
            "sudo": FAKE_SUDO,
            "npm": FAKE_NPM,
        }.items():
            _fake(fakes, name, body)
        subprocess.run(["chown", "-R", "nobody:nogroup", str(root)], check=True)
        (root / "calls.log").touch()
        (root / "calls.log").chmod(0o666)
        ready = Checkout(root, fakes)
        ready.packages("# a comment", "redis-server  # trailing comment", "", "  pgbouncer  ")
        yield ready
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_nothing_missing_installs_nothing(checkout: Checkout) -> None:
    result = checkout.run(FAKE_INSTALLED="redis-server pgbouncer")
    assert result.returncode == 0, result.stderr
    assert checkout.log == []
    assert result.stdout == "" and result.stderr == ""


def test_root_installs_only_the_missing_packages_after_one_update(checkout: Checkout) -> None:
    result = checkout.run(FAKE_INSTALLED="redis-server")
    assert result.returncode == 0, result.stderr
    assert checkout.log == [
        "apt-get uid=0 DEBIAN_FRONTEND=noninteractive update -q",
        "apt-get uid=0 DEBIAN_FRONTEND=noninteractive install -y --no-install-recommends pgbouncer -q",
    ]
    assert "installing 1 Debian packages" in result.stdout and "pgbouncer" in result.stdout


def test_non_root_installs_through_sudo_without_a_prompt(checkout: Checkout) -> None:
    result = checkout.run(as_nobody=True, FAKE_INSTALLED="", FAKE_SUDO="ok")
    assert result.returncode == 0, result.stderr
    nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True, check=True).stdout.strip()
    installs = [line for line in checkout.log if line.startswith("apt-get")]
    assert installs == [
        f"apt-get uid={nobody} DEBIAN_FRONTEND=noninteractive update -q",
        f"apt-get uid={nobody} DEBIAN_FRONTEND=noninteractive install -y --no-install-recommends "
        "redis-server pgbouncer -q",
    ]
    assert [line.split()[:3] for line in checkout.log if line.startswith("sudo")] == [["sudo", "true"]] + [
        ["sudo", "env", "DEBIAN_FRONTEND=noninteractive"]
    ] * 2


def test_non_root_without_sudo_rights_stops_with_the_command_to_run(checkout: Checkout) -> None:
    result = checkout.run(as_nobody=True, FAKE_INSTALLED="pgbouncer", FAKE_SUDO="password")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("make deps:") == 1, result.stderr
    assert "redis-server" in result.stderr
    command = "sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server"
    assert result.stderr.rstrip().endswith(command)
    assert checkout.log == [], "nothing installed, npm not run"


def test_non_root_without_sudo_at_all_is_told_to_use_su(checkout: Checkout) -> None:
    checkout.without("sudo")
    result = checkout.run(as_nobody=True, FAKE_INSTALLED="redis-server")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith(
        "su -c 'apt-get update && apt-get install -y --no-install-recommends pgbouncer'"
    )


def test_a_failing_apt_get_shows_its_output_and_fails(checkout: Checkout) -> None:
    result = checkout.run(FAKE_INSTALLED="", FAKE_APT_RC="100")
    assert result.returncode == 1
    assert "E: fake apt output for update" in result.stderr
    assert "apt-get failed (full log: build/deps/apt.log)" in result.stderr
    assert [line.split()[3] for line in checkout.log] == ["update"], "no install after a failed update"


def test_a_bad_line_names_the_file_and_line(checkout: Checkout) -> None:
    checkout.packages("redis-server", "redis-server postgresql-15")
    result = checkout.run(FAKE_INSTALLED="redis-server")
    assert result.returncode == 1
    assert "make deps: .ci/apt-packages.txt:2:" in result.stderr
    checkout.packages("redis-server", "Redis_Server")
    result = checkout.run(FAKE_INSTALLED="redis-server")
    assert result.returncode == 1 and ".ci/apt-packages.txt:2: 'Redis_Server' is not a Debian package" in (
        result.stderr
    )
    assert checkout.log == []


def test_npm_ci_runs_only_when_the_lock_file_is_newer_than_node_modules(checkout: Checkout) -> None:
    installed = "redis-server pgbouncer"
    assert checkout.run(FAKE_INSTALLED=installed).returncode == 0
    assert checkout.log == []
    (checkout.root / "package-lock.json").touch()
    result = checkout.run(FAKE_INSTALLED=installed)
    assert result.returncode == 0, result.stderr
    assert checkout.log == ["npm ci --no-audit --no-fund --loglevel=error"]
    assert checkout.run(FAKE_INSTALLED=installed).returncode == 0
    assert len(checkout.log) == 1, "second run: node_modules is current"
    shutil.rmtree(checkout.root / "node_modules")
    assert checkout.run(FAKE_INSTALLED=installed).returncode == 0
    assert len(checkout.log) == 2, "node_modules missing: installed again"


def test_no_npm_at_all_asks_for_debians_node(checkout: Checkout) -> None:
    checkout.without("npm")
    result = checkout.run(as_nobody=True, FAKE_INSTALLED="redis-server pgbouncer", FAKE_SUDO="password")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("apt-get install -y --no-install-recommends nodejs npm")


def test_make_test_runs_deps_first() -> None:
    makefile = (REPO / "Makefile").read_text()
    test_rule = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert test_rule and test_rule.group(1).split()[0] == "deps"
    deps_recipe = makefile.split("\ndeps:\n", 1)[1].split("\n\n", 1)[0]
    assert "bash .ci/deps.sh" in deps_recipe and "venv" in deps_recipe


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    lines = [
        line
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#") and line not in ("set -euo pipefail", 'cd "$(dirname "$0")/.."')
    ]
    assert lines == ["make test"]
