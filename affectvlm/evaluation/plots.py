"""Plots people would rather look at than read: training curves and confusion matrices (PNG, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(records: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Training loss and evaluation accuracy against optimizer steps, from metrics.jsonl records."""
    plt = _pyplot()
    figure, loss_axis = plt.subplots(figsize=(7, 4))
    losses = [(r["step"], r["loss"]) for r in records if "loss" in r]
    if losses:
        loss_axis.plot(*zip(*losses), color="tab:blue", label="training loss")
    loss_axis.set_xlabel("optimizer step")
    loss_axis.set_ylabel("loss", color="tab:blue")
    accuracy_axis = loss_axis.twinx()
    for name, colour in (("validation", "tab:orange"), ("test", "tab:green")):
        points = [(r["step"], r[f"{name}/accuracy"]) for r in records if f"{name}/accuracy" in r]
        if points:
            accuracy_axis.plot(*zip(*points), marker="o", color=colour, label=f"{name} accuracy")
    accuracy_axis.set_ylim(0, 1)
    accuracy_axis.set_ylabel("accuracy")
    handles = loss_axis.get_legend_handles_labels()[0] + accuracy_axis.get_legend_handles_labels()[0]
    if handles:
        accuracy_axis.legend(handles=handles, loc="center right", fontsize=8)
    loss_axis.set_title(title, fontsize=10)
    return _save(plt, figure, path)


def plot_convergence(curves: dict[str, Sequence[tuple[int, float]]], path: str | Path, target: float | None = None,
                     title: str = "") -> Path:
    """Validation accuracy against steps for several runs (the ablation variants) on one chart."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        if points:
            axis.plot(*zip(*points), marker=".", label=name)
    if target is not None:
        axis.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("validation accuracy")
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7)
    return _save(plt, figure, path)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path,
                          title: str = "") -> Path:
    """Row-normalised confusion matrix (true class per row), with the counts written in each cell."""
    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    figure, axis = plt.subplots(figsize=(1.0 + 0.8 * len(labels), 0.8 + 0.8 * len(labels)))
    axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for (row, column), value in np.ndenumerate(counts):
        colour = "white" if normalised[row, column] > 0.5 else "black"
        axis.text(column, row, f"{int(value)}", ha="center", va="center", color=colour, fontsize=8)
    axis.set_title(title, fontsize=10)
    return _save(plt, figure, path)


def plot_method_bars(summary: dict[str, dict[str, dict[str, float]]], path: str | Path, title: str = "") -> Path:
    """Accuracy (mean and std over seeds) of each method, one group of bars per part (e.g. whole sequences,
    first halves): summary[part][method] = {"mean", "std"}."""
    plt = _pyplot()
    parts = list(summary)
    methods = list(summary[parts[0]])
    width = 0.8 / len(methods)
    figure, axis = plt.subplots(figsize=(3.8 + 2.2 * len(parts), 4))
    for number, method in enumerate(methods):
        means = [summary[part][method]["mean"] for part in parts]
        spreads = [summary[part][method]["std"] for part in parts]
        axis.bar(np.arange(len(parts)) + (number - (len(methods) - 1) / 2) * width, means, width, yerr=spreads,
                 capsize=3, label=method)
    axis.set_xticks(range(len(parts)), parts)
    axis.set_ylabel("sequence accuracy")
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, not over them
    return _save(plt, figure, path)


def _save(plt, figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
