"""Assertions shared by the CLI tests."""

from __future__ import annotations


def assert_one_error(result, *fragments: str) -> str:
    """Exit 1, exactly one `error:` line naming the problem, and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not (result.exception and not isinstance(result.exception, SystemExit))
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit 1 and the whole output is one `error:` line naming the problem."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def edit_manifest(folder, change, reseal: bool = True) -> None:
    """Apply ``change`` to a version's manifest. ``reseal`` recomputes the manifest's integrity
    record, as a writer who knows the format would (the integrity record catches honest edits
    and damage, not an attacker; signatures do that), so a test can reach the checks behind it."""
    import json
    from pathlib import Path

    from artclf.manifest import field_digests

    path = Path(folder) / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    if reseal and isinstance(manifest, dict) and isinstance(manifest.get("integrity"), dict):
        manifest["integrity"]["fields"] = field_digests(manifest)
    path.write_text(json.dumps(manifest))


def rehash(folder) -> None:
    """Make the manifest's hashes match the files again, as a careful attacker (or a bug) would."""
    from pathlib import Path

    from train.fsutil import sha256_file

    folder = Path(folder)

    def change(m):
        for name in m["files"]:
            m["files"][name] = {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
    edit_manifest(folder, change)


CLI = "from train.cli import main; main()"


def cli_popen(*args: object, cwd, **kwargs):
    """`artclf ARGS` in a real subprocess (pipes for stdout and stderr), started, not waited for."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", CLI, *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def cli_run(*args: object, cwd, input: str | None = None, timeout: float = 300):
    """`artclf ARGS` in a real subprocess, waited for (CompletedProcess with text output)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=timeout)


def invoke(*args: object, input: str | None = None):
    """`artclf ARGS` in-process through Typer's runner (fast; for output and exit-code checks)."""
    from typer.testing import CliRunner

    from train.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input)
