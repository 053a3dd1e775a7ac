"""The ``artclf`` command line: one module per command, each a thin wrapper over a typed function.

Command modules import heavy libraries inside their functions, so ``artclf --help`` stays fast.
"""

from __future__ import annotations

import typer

from train.cli import audit_labels, build_dataset, compare, evaluate, label, labels, models, predict, queue, runs, serve, train

app = typer.Typer(
    name="artclf",
    help="Build datasets from news articles, train topic and tone classifiers, evaluate and ship them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("build-dataset")(build_dataset.build_dataset_cli)
app.command("train")(train.train_cli)
app.command("evaluate")(evaluate.evaluate_cli)
app.command("predict", cls=predict.PredictCommand)(predict.predict_cli)
app.add_typer(models.app, name="models")
app.command("compare")(compare.compare_cli)
app.add_typer(runs.app, name="runs")
app.command("audit-labels")(audit_labels.audit_labels_cli)
app.command("queue")(queue.queue_cli)
app.add_typer(labels.app, name="labels")
app.command("label")(label.label_cli)
app.command("serve")(serve.serve_cli)


def main() -> None:
    app()
