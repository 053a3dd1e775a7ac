"""`artclf models list|show|diff|promote|remove|audit|sign|keygen`: the saved versions, what each one
is, and signing them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from train.cli._util import CONFIG_HELP, cli_errors, models_dir_for, table

app = typer.Typer(help="List, inspect, compare, alias, remove, audit and sign saved model versions.", no_args_is_help=True)

REF_HELP = "latest, a version like v3, an alias like production, or a model folder."


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _size(n: Any) -> str:
    if not isinstance(n, int):
        return "-"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def format_show(info: dict[str, Any]) -> str:
    """Metadata, headline and per-label metrics, thresholds: what `models show` prints."""
    lines = [
        f"{info.get('version')}  {info['path']}",
        f"created        {info.get('created')}",
        f"config         {info.get('config_name')} ({info.get('config_path') or 'built-in defaults'}, fingerprint {str(info.get('config_fingerprint', ''))[:12]})",
        f"dataset        {(info.get('dataset') or {}).get('fingerprint')}",
        f"labels         topics: {', '.join(info.get('labels', {}).get('topics', [])) or '-'}; tone: {', '.join(info.get('labels', {}).get('tone', [])) or '-'}",
        "libraries      " + ", ".join(f"{k} {v}" for k, v in (info.get("library_versions") or {}).items()),
        f"git            {(info.get('git') or {}).get('commit', 'unknown')}{' (dirty)' if (info.get('git') or {}).get('dirty') else ''}",
        f"format         {info.get('format_version')}; files: " + ", ".join(f"{n} ({_size(f.get('bytes'))})" for n, f in (info.get("files") or {}).items()),
    ]
    for split, m in (info.get("metrics") or {}).items():
        lines.append(f"\n== {split} ({m.get('n', '?')} articles) ==")
        for task, values in m.items():
            if not isinstance(values, dict):
                continue
            if task == "calibration":
                lines.append("calibration: " + "; ".join(
                    f"{t} ECE {_cell(b.get('ece'))}, Brier {_cell(b.get('brier'))}" for t, b in values.items() if isinstance(b, dict)))
                continue
            headline = ", ".join(f"{k} {_cell(v)}" for k, v in values.items() if not isinstance(v, (dict, list)))
            lines.append(f"{task}: {headline}")
            per_label = values.get("per_label") or {}
            if per_label:
                lines.append(table([[label, _cell(v.get("precision")), _cell(v.get("recall")), _cell(v.get("f1")), v.get("support")]
                                    for label, v in per_label.items()], ["label", "precision", "recall", "F1", "support"]))
    thresholds = info.get("thresholds") or {}
    if thresholds:
        calibrated = "calibration" in info and (info.get("calibration") or {}).get("method") != "none"
        lines.append("\n== topic thresholds (folded into intercepts; predicted when "
                     + ("the calibrated probability >= its threshold) ==" if calibrated else "score >= 0.5) =="))
        lines.append(table([[label, _cell(t.get("decision")), _cell(t.get("probability")), t.get("calibration", "-"), _cell(t.get("fold_std")),
                             ", ".join(str(x) for x in t.get("fold_thresholds", []))] for label, t in thresholds.items()],
                           ["label", "decision", "probability", "calibration", "fold std", "per fold"]))
    return "\n".join(lines)


@app.command("list")
def list_cli(
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List saved versions with their headline test metrics."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from train.store.catalog import list_models

        rows = list_models(models_dir)
        if json_:
            typer.echo(json.dumps(rows))
            return
        if not rows:
            typer.echo(f"no model versions in {models_dir}; run `artclf train`, or pass --models-dir (or --config) "
                       "with the folder your versions are in")
            return
        typer.echo(
            table(
                [
                    [r["version"], r.get("created", "?"), r.get("config", "?"), r.get("dataset", ""),
                     _cell(r.get("topic_micro_f1", r.get("error", ""))), _cell(r.get("tone_accuracy")),
                     _size(r.get("bytes")), ",".join(r.get("aliases", []))]
                    for r in rows
                ],
                ["version", "created", "config", "dataset", "topic micro-F1", "tone acc", "size", "aliases"],
            )
        )


@app.command("show")
def show_cli(
    ref: str = typer.Argument(..., help=REF_HELP),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    summary: bool = typer.Option(False, "--summary", help="Readable summary instead of the manifest as JSON."),
) -> None:
    """Print a version's manifest as JSON (metadata, metrics per label, thresholds), or --summary."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from train.store.catalog import show_model

        info = show_model(ref, models_dir)
        typer.echo(format_show(info) if summary else json.dumps(info, indent=2))


@app.command("diff")
def diff_cli(
    a: str = typer.Argument(..., help=REF_HELP),
    b: str = typer.Argument(..., help=REF_HELP),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Config keys, metrics, thresholds and provenance that differ between two versions."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from train.store.diff import diff_versions

        result = diff_versions(a, b, models_dir)
        if json_:
            typer.echo(json.dumps(result, indent=2))
            return
        sections = [k for k in result if k not in ("a", "b")]
        rows = [[f"{section}: {key}" if section != "config" else key, _cell(va), _cell(vb)]
                for section in sections for key, (va, vb) in result[section].items()]
        if not rows:
            typer.echo(f"{result['a']} and {result['b']} have the same config, metrics, thresholds and libraries")
            return
        typer.echo(table(rows, ["key", result["a"], result["b"]]))


@app.command("promote")
def promote_cli(
    ref: str = typer.Argument(..., help=REF_HELP),
    alias: str = typer.Option(..., "--alias", help="The alias to point at this version, e.g. production."),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """Point an alias (e.g. production) at a version; apps then load it by that name."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from train.store.aliases import promote

        version, previous = promote(ref, alias, models_dir)
        was = f" (was {previous})" if previous and previous != version else ""
        typer.echo(f"{alias} -> {version}{was}")


@app.command("remove")
def remove_cli(
    ref: str = typer.Argument(..., help=REF_HELP),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a version (asks first; refuses a version an alias points at)."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from artclf.refs import resolve_ref
        from train.store.versions import remove_version

        path = resolve_ref(ref, models_dir)
        if not yes and not typer.confirm(f"remove {path}?", default=False):
            typer.echo("nothing removed")
            raise typer.Exit(1)
        removed = remove_version(ref, models_dir)
        typer.echo(f"removed {removed}")


@app.command("audit")
def audit_cli(
    path: Path = typer.Argument(..., help="A .skops file, or a version folder (audits each .skops file)."),
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the types a skops file would create when loaded, and which ones artclf refuses."""
    with cli_errors():
        from train.store.catalog import audit_file

        reports = audit_file(path)
        if json_:
            typer.echo(json.dumps(reports, indent=2))
            return
        for report in reports:
            typer.echo(f"{report['path']}:")
            for t in report["types"]:
                typer.echo(f"  {t}{'   <- not trusted: artclf refuses this file' if t in report['refused'] else ''}")
            verdict = "refused: " + ", ".join(report["refused"]) if report["refused"] else "all types trusted"
            typer.echo(f"  => {verdict}")


@app.command("sign")
def sign_cli(
    ref: str = typer.Argument(..., help=REF_HELP),
    key: Path = typer.Option(..., "--key", help="The Ed25519 private key (PEM) from `artclf models keygen`."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    ask_password: bool = typer.Option(False, "--ask-password", help="Prompt for the private key's password."),
) -> None:
    """Sign every file of a version (manifest included) and write its signature.json."""
    with cli_errors():
        from artclf.refs import resolve_ref
        from artclf.signing import sign_version

        password = typer.prompt("password", hide_input=True).encode("utf-8") if ask_password else None
        target = sign_version(resolve_ref(ref, models_dir), key, password=password)
        typer.echo(f"signed {target.parent} -> {target.name}")


@app.command("keygen")
def keygen_cli(
    private: Path = typer.Argument(..., help="Where to write the private key (created 0600, never overwritten)."),
    public: Path = typer.Argument(..., help="Where to write the public key (give it to the apps that load models)."),
    ask_password: bool = typer.Option(False, "--ask-password", help="Encrypt the private key with a password."),
) -> None:
    """Create an Ed25519 key pair for `models sign` and `--public-key`."""
    with cli_errors():
        from artclf.signing import generate_keypair

        password = (typer.prompt("password", hide_input=True, confirmation_prompt=True).encode("utf-8")
                    if ask_password else None)
        fingerprint = generate_keypair(private, public, password=password)
        typer.echo(f"wrote {private} (private, keep it off the serving machines) and {public} "
                   f"(public key sha256 {fingerprint})")
