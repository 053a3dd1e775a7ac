"""Helpers shared by the CLI commands: error reporting, config lookup, table printing."""

from __future__ import annotations

import contextlib
import errno
import sys
from pathlib import Path
from typing import Any, Iterator

import typer

from artclf.errors import ArtclfError
from train.tables import table

DEFAULT_CONFIG = Path("configs/default.toml")

SET_HELP = "Override one config key, e.g. --set features.min_df=2 (repeatable)."
TRUST_PICKLE_HELP = ("Allow unpickling .joblib files of a version that has no skops file for a task (format 1). "
                     "Pickle runs any code the file contains: only for folders you wrote or whose signature verified.")
PUBLIC_KEY_HELP = ("Ed25519 public key (PEM) to verify signature.json with; a version that is unsigned or does "
                   "not verify is refused.")


def _one_line_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    text = str(message).strip().splitlines()
    typer.echo(f"warning: {text[0] if text else category.__name__}", err=True)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and exit status 1 (130 on Ctrl-C); Python
    warnings (a library version mismatch) become one `warning:` line each, without source lines."""
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        yield
    except ArtclfError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; nothing partial was saved", err=True)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `artclf predict ... | head`: the reader left; that is not an error.
        sys.stderr.close()
        raise typer.Exit(0) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        hint = "free some disk space" if exc.errno == errno.ENOSPC else "check the path and its permissions"
        typer.echo(f"error: {where}{exc.strerror or exc}; {hint}", err=True)
        raise typer.Exit(1) from None
    finally:
        warnings.showwarning = shown


def config_path(path: Path | None) -> Path | None:
    """The config to use: the given one, else configs/default.toml when present, else built-ins."""
    if path is not None:
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


CONFIG_HELP = "An experiment config: its train.models_dir is where versions are looked for (unless --models-dir)."


def models_dir_for(models_dir: Path | None, config: Path | None) -> Path:
    """The models folder: --models-dir when given, else the config's train.models_dir (with
    --config), else ``models``."""
    if models_dir is not None:
        return models_dir
    if config is not None:
        from train.config import load_config

        return Path(load_config(config).train.models_dir)
    return Path("models")


def format_metrics(result: dict[str, Any]) -> str:
    lines = [f"articles: {result['n']}"]
    if "topic" in result:
        topic = result["topic"]
        if "accuracy" in topic:  # multiclass topics: one per article
            lines.append(f"\ntopic  accuracy {topic['accuracy']:.3f}  macro-F1 {topic['macro_f1']:.3f}  (one topic per article)")
        else:
            lines.append(
                f"\ntopic  micro-F1 {topic['micro_f1']:.3f}  macro-F1 {topic['macro_f1']:.3f}  samples-F1 {topic['samples_f1']:.3f}"
                f"  hamming {topic['hamming_loss']:.3f}  subset-acc {topic['subset_accuracy']:.3f}"
            )
        lines.append(_per_label_table("topic", topic["per_label"]))
        if "confusion_matrix" in topic:
            lines.append(_confusion(topic["confusion_matrix"]))
    if "tone" in result:
        tone = result["tone"]
        lines.append(f"\ntone   accuracy {tone['accuracy']:.3f}  macro-F1 {tone['macro_f1']:.3f}")
        lines.append(_per_label_table("tone", tone["per_label"]))
        lines.append(_confusion(tone["confusion_matrix"]))
    if result.get("calibration"):
        lines.append(_calibration(result["calibration"]))
    if result.get("risk_coverage"):
        lines.append(_risk_coverage(result["risk_coverage"]))
    for name, block in (result.get("by") or {}).items():
        lines.append(_slices(block))
    if result.get("errors"):
        lines.append("\nmost confident mistakes:")
        for e in result["errors"]:
            lines.append(f"  {e['confidence']:.3f}  {e['id']}  {e['task']} {e['label']} ({e['kind']}; true topics "
                         f"{', '.join(e['true_topics']) or 'none'})  evidence: {', '.join(e['evidence']) or '-'}  | {e['text'][:70]}")
    for path in result.get("plots") or []:
        lines.append(f"wrote {path}")
    return "\n".join(lines)


def _calibration(cal: dict[str, Any]) -> str:
    rows = []
    for task in ("topic", "tone"):
        if task in cal:
            block = cal[task]
            rows.append([f"{task} (overall)" if task == "topic" else "tone (top label)", f"{block['ece']:.3f}", f"{block['brier']:.3f}", f"{block['log_loss']:.3f}"])
            for label, m in block.get("per_label", {}).items():
                rows.append([f"  {label}", f"{m['ece']:.3f}", f"{m['brier']:.3f}", f"{m['log_loss']:.3f}"])
    return "\ncalibration (ECE: 10 equal-width bins)\n" + table(rows, ["", "ECE", "Brier", "log-loss"])


def _risk_coverage(rc: dict[str, Any]) -> str:
    out = []
    if "topic" in rc:
        rows = [[f"{r['coverage']:.0%}", f"{r['min_confidence']:.3f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['accuracy']:.3f}"] for r in rc["topic"]]
        out.append("\nrisk-coverage, topic decisions (keep the most confident share; --min-confidence = the cut)\n"
                   + table(rows, ["coverage", "min confidence", "precision", "recall", "accuracy"]))
    if "tone" in rc:
        rows = [[f"{r['coverage']:.0%}", f"{r['min_confidence']:.3f}", f"{r['accuracy']:.3f}"] for r in rc["tone"]]
        out.append("\nrisk-coverage, tone\n" + table(rows, ["coverage", "min confidence", "accuracy"]))
    return "\n".join(out)


def _slices(block: dict[str, Any]) -> str:
    rows, warnings = [], []
    for value, s in block["slices"].items():
        row = [value, s["n"]]
        for key in ("topic_micro_f1", "tone_accuracy"):
            if key in s:
                row.append(f"{s[key]['value']:.3f} [{s[key]['ci95'][0]:.3f}, {s[key]['ci95'][1]:.3f}]")
        rows.append(row)
        if "warning" in s:
            warnings.append(f"warning: {block['field']}={value}: {s['warning']}")
    headers = [block["field"], "n"] + [h for h, k in (("topic micro-F1 [95% CI]", "topic_micro_f1"), ("tone accuracy [95% CI]", "tone_accuracy"))
                                       if any(k in s for s in block["slices"].values())]
    return f"\nby {block['field']} (bootstrap, {block['bootstrap']} resamples)\n" + table(rows, headers) + ("\n" + "\n".join(warnings) if warnings else "")


def _confusion(cm: dict[str, Any]) -> str:
    rows = [[f"true {label}"] + row for label, row in zip(cm["labels"], cm["matrix"])]
    return "\n" + table(rows, [""] + [f"pred {label}" for label in cm["labels"]])


def _per_label_table(task: str, per_label: dict[str, dict[str, Any]]) -> str:
    rows = [[k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]] for k, v in per_label.items()]
    return table(rows, [task, "precision", "recall", "f1", "support"])


class ProgressPrinter:
    """Shows :class:`train.progress.Progress` events on stderr: one redrawn line per stage on a
    terminal; in a log or a pipe, plain lines (a stage's first event, then every 10% of it, and
    at most one a second for stages of unknown size)."""

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        import time

        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._clock = time.monotonic
        self._stage = ""
        self._step = -1
        self._last = 0.0

    def __call__(self, event: Any) -> None:
        if self.quiet:
            return
        now = self._clock()
        new_stage = event.stage != self._stage
        if self.tty:
            if new_stage and self._stage:
                self.stream.write("\n")
            self.stream.write("\r\x1b[K" + str(event))
            self.stream.flush()
        else:
            step = int(10 * event.done / event.total) if event.total else -1
            if new_stage or (event.total and step != self._step) or (not event.total and now - self._last >= 1.0):
                self.stream.write(str(event) + "\n")
                self.stream.flush()
                self._step, self._last = step, now
        self._stage = event.stage

    def close(self) -> None:
        if self.tty and self._stage and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
