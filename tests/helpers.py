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
