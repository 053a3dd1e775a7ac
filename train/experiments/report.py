"""Render a ``Comparison``: a plain-text table for the terminal, a Markdown report, a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from train.experiments.results import ALPHA, COSTS, HEADLINE, Comparison
from artclf.errors import ArtclfError

TEST_NAME = "corrected resampled t-test, Nadeau & Bengio 2003"
COST_TITLES = {"train_s": "train s", "articles_per_s": "articles/s", "model_bytes": "model KB"}


def _title(column: str) -> str:
    if column.startswith("f1:"):
        return column[3:]
    return COST_TITLES.get(column, column)


def _number(column: str, value: float) -> str:
    if column == "model_bytes":
        return f"{value / 1024:.1f}"
    if column == "articles_per_s":
        return f"{value:.0f}"
    if column == "train_s":
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cell(column: str, stats: dict[str, Any]) -> str:
    text = f"{_number(column, stats['mean'])} ± {_number(column, stats['std'])}"
    return text + (" *" if stats.get("best") else "")


def _test_cell(stats: dict[str, Any]) -> str:
    vs = stats["vs_baseline"]
    p = "n/a" if vs["p"] is None else f"{vs['p']:.3f}"
    text = f"{vs['delta']:+.3f} (p {p})"
    return text + (f" {vs['verdict']}" if vs["significant"] else "")


def _header(c: Comparison) -> str:
    d = c.dataset
    repeats = f"{c.repeats} repeat" + ("s" if c.repeats != 1 else "")
    return (
        f"{len(c.configs)} config(s) on {c.folds} folds x {repeats} of {d.get('n_articles', '?')} articles "
        f"(train+validation of dataset {d['fingerprint'][:12]}), fold seed {c.seed}"
    )


def _tables(c: Comparison) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every table, shared by the text and Markdown renderings."""
    summary = c.summary()
    base = c.configs[0].name
    out: list[tuple[str, list[str], list[list[str]]]] = []
    differing = c.differing
    if differing:
        out.append(
            ("Settings that differ", ["key"] + [r.name for r in c.configs],
             [[key] + [_value(v) for v in values] for key, values in differing.items()])
        )
    n = c.folds * c.repeats
    for task, rows in summary.items():
        labels = c.tasks[task]
        headline = list(HEADLINE[task]) + list(COSTS)
        out.append(
            (f"{task}: mean ± std over {n} folds (* best)", ["config"] + [_title(k) for k in headline],
             [[name] + [_cell(k, row[k]) for k in headline] for name, row in rows.items()])
        )
        per_label = [f"f1:{label}" for label in labels]
        out.append(
            (f"{task}: per-label F1, mean ± std (* best)", ["config"] + labels,
             [[name] + [_cell(k, row[k]) for k in per_label] for name, row in rows.items()])
        )
        if len(c.configs) > 1:
            tested = list(HEADLINE[task]) + per_label
            out.append(
                (f"{task}: difference vs {base} ({TEST_NAME}; marked where p < {ALPHA})",
                 ["config"] + [_title(k) + (" F1" if k.startswith("f1:") else "") for k in tested],
                 [[name] + [_test_cell(row[k]) for k in tested] for name, row in list(rows.items())[1:]])
            )
    return out


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def format_text(c: Comparison) -> str:
    from train.tables import table

    lines = [_header(c)]
    if c.run_id:
        cached = [r.name for r in c.configs if r.name not in c.computed]
        lines.append(
            f"run {c.run_id}; computed: {', '.join(c.computed) or 'none'}; from cache: {', '.join(cached) or 'none'}"
        )
    for title, header, rows in _tables(c):
        lines += ["", title, table(rows, header)]
    if len(c.configs) > 1:
        lines += ["", f"baseline: {c.configs[0].name}; times and sizes are not tested (they measure the machine)"]
    return "\n".join(lines)


def format_markdown(c: Comparison, chart: str | None = None) -> str:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |"

    lines = ["# Config comparison", "", _header(c) + ".", ""]
    if len(c.configs) > 1:
        lines += [f"Baseline: `{c.configs[0].name}`. Paired test per metric: {TEST_NAME}, over the folds.", ""]
    for title, header, rows in _tables(c):
        lines += [f"## {title}", "", row(header), row(["---"] * len(header))]
        lines += [row(r) for r in rows] + [""]
    if chart:
        lines += ["## Per-label F1", "", f"![per-label F1 with std over folds]({chart})", ""]
    return "\n".join(lines)


def write_chart(c: Comparison, path: Path) -> None:
    """Grouped bars: per-label F1 per config with std error bars, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt
    import numpy as np

    summary = c.summary()
    tasks = list(summary)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 + 2.5 * len(c.configs), 4), squeeze=False)
    width = 0.8 / len(c.configs)
    for ax, task in zip(axes[0], tasks):
        labels = c.tasks[task]
        x = np.arange(len(labels))
        for i, result in enumerate(c.configs):
            row = summary[task][result.name]
            means = [row[f"f1:{label}"]["mean"] for label in labels]
            stds = [row[f"f1:{label}"]["std"] for label in labels]
            ax.bar(x + (i - (len(c.configs) - 1) / 2) * width, means, width, yerr=stds, capsize=3, label=result.name)
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{task}: per-label F1 ({c.folds} folds x {c.repeats})")
        ax.set_ylabel("F1")
    # Outside the panels, so it never hides a bar.
    axes[0][-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight"))
    plt.close(fig)


def write_report(c: Comparison, path: str | Path) -> tuple[Path, Path]:
    """The Markdown report at ``path`` and its chart beside it (same name, ``.png``)."""
    path = Path(path)
    chart = path.with_suffix(".png")
    write_chart(c, chart)
    text = format_markdown(c, chart.name)
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path, chart


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    from train.fsutil import replacing

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            write(tmp)
    except OSError as exc:
        raise ArtclfError(f"{path}: cannot write the report ({exc.strerror or exc}); check the folder and permissions") from None
