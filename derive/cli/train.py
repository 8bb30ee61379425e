"""`derive train`: train a model on its built-in data set or a data file."""

from __future__ import annotations

import contextlib
import sys

from pathlib import Path

import click

from ..errors import said
from .output import emit, format_option, given, model_options, wrote

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")


def epoch_line(event, lang: str = "en") -> str:
    """One line per epoch, as a log reads it: the losses and, for a classifier, the accuracies
    (in English or Chinese). No times, so that the same run prints the same bytes."""
    from numeric.training import loss_text   # loaded already: the run that sends the events

    zh = lang == "zh"
    parts = [("轮次" if zh else "epoch") + f" {event.epoch:>{len(str(event.epochs))}}/{event.epochs}",
             ("损失" if zh else "loss") + f" {loss_text(event.loss)}"]
    if event.accuracy is not None:
        parts.append(("准确率" if zh else "accuracy") + f" {event.accuracy:.2%}")
    if event.val_loss is not None:
        parts.append(("留出集损失" if zh else "held-out loss") + f" {loss_text(event.val_loss)}")
    if event.val_accuracy is not None:
        parts.append(("留出集准确率" if zh else "held-out accuracy") + f" {event.val_accuracy:.2%}")
    return "  ".join(parts)


@contextlib.contextmanager
def _progress(bar: bool, lines: bool, lang: str = "en"):
    """What a training run shows on stderr while it runs, fed by its callbacks: a progress bar
    with elapsed time and ETA (on a terminal), one line per epoch (when stderr is a file or a
    pipe, or with --verbose), both, or nothing (``None``)."""
    if not (bar or lines):
        yield None
        return
    if not bar:
        def callback(event):
            if event.kind == "epoch":
                click.echo(epoch_line(event, lang), err=True)

        yield callback
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    zh = lang == "zh"
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("次更新" if zh else "updates"), TimeElapsedColumn(),
                        TextColumn("剩余" if zh else "ETA"), TimeRemainingColumn(),
                        console=Console(stderr=True), transient=True)
    task = progress.add_task("训练中" if zh else "training", total=None)

    def callback(event):
        if event.kind == "epoch":
            progress.update(task, description=("轮次" if zh else "epoch") + f" {event.epoch}/{event.epochs} "
                            + ("损失" if zh else "loss") + f" {event.loss:.4g}")
            if lines:
                progress.console.print(epoch_line(event, lang), markup=False, highlight=False)
        progress.update(task, completed=event.update, total=event.updates)

    with progress:
        yield callback


@click.command(name="train")
@click.argument("name")
@click.option("--data", metavar="FILE", help="A .csv (last column = target; header optional) or "
              ".npz (arrays X, y). Default: the model's built-in data set.")
@model_options()
@click.option("--lr", type=float, help="Learning rate η (default per model).")
@click.option("--epochs", type=int, help="Number of epochs (default per model).")
@click.option("--batch-size", type=int, help="Rows per update; implies sgd for a gd model.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="Default per model.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the initial parameters and the shuffling.")
@click.option("--holdout", type=float, metavar="FRACTION",
              help="With --data: keep this fraction of the rows aside as a held-out set.")
@click.option("--standardize/--no-standardize", default=True, show_default=True,
              help="With --data: scale each feature to mean 0 and std 1 over the training rows.")
@click.option("--plot", metavar="FILE.png", help="Save the pictures as a PNG (needs matplotlib) instead "
              "of drawing them in the terminal: the loss and accuracy per epoch, and what the model is "
              "about (fitted line or curve, decision boundary, confusion matrix, sampled text).")
@click.option("--save", metavar="FILE.npz", help="Save the trained parameters.")
@format_option("text: the report and the loss curve; json: the history summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no per-epoch lines and no terminal plot.")
@click.option("--verbose", "-v", is_flag=True,
              help="On a terminal, one line per epoch above the progress bar (piped, they are always printed).")
@click.option("--check-grad", is_flag=True,
              help="Check the gradient against finite differences before training.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the words.")
def train(name, data, lr, epochs, batch_size, optimizer, seed, holdout, standardize, plot, save, fmt,
          json_, quiet, verbose, check_grad, lang, **options):
    """Train model NAME with gradient descent and print the final loss and accuracy.

    Without --data every trainable model has a built-in data set (a noisy line, two blobs, the
    red curve of the notes, the 8x8 digits) and default settings that train it well.

    \b
      derive train logistic
      derive train sigmoid-sum --activation relu --plot curve.png
      derive train mlp --optimizer adam --lr 0.01 --epochs 20 --save mlp.npz
      derive train linear --data points.csv --lr 0.01
    """
    import json

    from numeric import plots
    from numeric.training import TrainingFailed, divergence_error, train_model

    if plot:
        plots.check_png_path(plot)
    if save and not Path(save).resolve().parent.is_dir():
        raise said(f"cannot write {save}: its folder does not exist", f"无法写入 {save}：它所在的文件夹不存在")
    terminal = sys.stderr.isatty()
    with _progress(bar=not quiet and terminal, lines=not quiet and (verbose or not terminal), lang=lang) as callback:
        result = train_model(
            name, data=data, lr=lr, epochs=epochs, batch_size=batch_size,
            optimizer=optimizer, seed=seed, holdout=holdout, check_grad=check_grad,
            standardize=standardize,
            callback=callback, **given(options),
        )
    problem = None if result.history.diverged else result.problem(lang)
    if save:
        result.save(save)
        if not (result.history.diverged or problem):  # else the one error line says where they went
            wrote(save)
    if plot:
        plots.save_png(result, plot, lang)
        wrote(plot)
    if json_ or fmt == "json":
        emit(json.dumps(result.summary(), indent=2, ensure_ascii=False))
    elif not result.history.diverged:
        emit(result.report(lang) + ("" if quiet or plot else "\n\n" + plots.terminal(result, lang=lang)))
    if result.history.diverged:
        raise divergence_error(result.history, saved=save, lang=lang)
    if problem:
        lr = result.history.settings["lr"]
        if lang == "zh":
            kept = f"；参数已保存到 {save}" if save else ""
            raise TrainingFailed(f"训练没有成功：{problem}{kept}；请换一个 --lr（现在是 {lr:g}）、"
                                 "增加 --epochs 或换一个 --optimizer")
        kept = f"; the parameters were saved to {save}" if save else ""
        raise TrainingFailed(f"training did not work: {problem}{kept}; try another --lr (now "
                             f"{lr:g}), more --epochs or another --optimizer")
