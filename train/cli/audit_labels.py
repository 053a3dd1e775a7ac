"""`artclf audit-labels`: parse the arguments, call ``train.label.audit.write_audit``, print a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import SET_HELP, cli_errors, config_path


def audit_labels_cli(
    config: Optional[Path] = typer.Argument(None, help="Experiment config (default: configs/default.toml)."),
    out: Path = typer.Option(Path("label_audit.jsonl"), "--out", help="Ranked flags as JSONL."),
    report: Path = typer.Option(Path("label_audit.md"), "--report", help="Markdown summary."),
    top: int = typer.Option(50, "--top", min=1, help="How many flags to write."),
    all_pairs: bool = typer.Option(False, "--all", help="Rank every (article, task) pair, not only cleanlab's flags."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Rank the gold labels most likely to be wrong (cleanlab on out-of-fold probabilities)."""
    with cli_errors():
        from train.label.audit import write_audit

        result, shown = write_audit(config_path(config), set_, out, report, top, all_pairs)
        flagged = result.flagged
        typer.echo(f"audited {result.n_articles} articles: {len(flagged)} label issue(s) flagged "
                   f"({sum(f.task == 'topics' for f in flagged)} topics, {sum(f.task == 'tone' for f in flagged)} tone)")
        for rank, f in enumerate(shown[:10], start=1):
            given = ",".join(f.given) if isinstance(f.given, list) else f.given
            suggested = ",".join(f.suggested) if isinstance(f.suggested, list) else f.suggested
            typer.echo(f"{rank:>3}  {f.score:.3f}  {f.task:<6} {f.id}: {given or '(none)'} -> {suggested or '(none)'}")
        typer.echo(f"wrote {len(shown)} row(s) to {out} and the summary to {report}")
