"""Charts as PNG bytes (matplotlib, no display needed), for the report's sections.

Each takes plain numbers (a results dict and, where it draws one, the published
reference) and returns the PNG; nothing here knows which experiment asks.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

from verdicts import Proportion


def png(fig) -> bytes:
    buf = io.BytesIO()
    if fig.get_layout_engine() is None:  # a figure with a colorbar brings its own (constrained) layout
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")  # keeps a legend set below the axes
    plt.close(fig)
    return buf.getvalue()


def figure2(results: dict, ref: dict) -> bytes:
    """The paper's Figure 2: clean and robust accuracy of std, adv, D_NR and D_R models, ours beside CIFAR-10's."""
    eps = f"{results['threat']['main_eval_eps']:g}"
    ref_eps = f"{ref['eval_eps'][0]:g}"
    names = [("std", "Std training\non D"), ("adv", "Adv training\non D"), ("d_nr", "Std training\non D_NR"),
             ("d_r", "Std training\non D_R")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    panels = [(axes[0], results["models"], eps, f"ours: {results['dataset']}, L2 eps {eps}"),
              (axes[1], ref["models"], ref_eps, f"paper: CIFAR-10, L2 eps {ref_eps}")]
    for ax, models, e, title in panels:
        xs = range(len(names))
        clean = [100 * models[n]["clean_accuracy"] for n, _ in names]
        robust = [100 * models[n]["robust_accuracy"][e] for n, _ in names]
        clean_ci = intervals([models[n]["clean_accuracy"] for n, _ in names])
        robust_ci = intervals([models[n]["robust_accuracy"][e] for n, _ in names])
        for shift, values, ci, label, colour in ((-0.2, clean, clean_ci, "clean", "#4c72b0"),
                                                 (0.2, robust, robust_ci, "robust", "#dd8452")):
            at, bars = [x + shift for x in xs], error_bars(values, ci)
            ax.bar(at, values, 0.4, label=label, color=colour, yerr=bars, capsize=3)
            label_bars(ax, at, values, bars)
        ax.set_xticks(list(xs), [label for _, label in names], fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 105)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(loc="upper right", fontsize=8)
    return png(fig)


def intervals(values: list) -> list:
    """The 95 % interval of each value that is a Proportion (None for a plain number)."""
    return [v.ci if isinstance(v, Proportion) else None for v in values]


def error_bars(values: list[float], intervals: list) -> list[list[float]] | None:
    """Matplotlib's asymmetric error bars (in %) from [low, high] intervals (fractions); None if any is missing."""
    if any(ci is None for ci in intervals):
        return None
    return [[max(0.0, v - 100 * lo) for v, (lo, _) in zip(values, intervals)],  # >= 0 whatever the rounding
            [max(0.0, 100 * hi - v) for v, (_, hi) in zip(values, intervals)]]


def table1(results: dict, ref: dict) -> bytes:
    """The paper's Table 1 as bars: accuracy on the original test set when training on D, D_rand, D_det."""
    keys = ["std", "d_rand", "d_det"]
    ours = [100 * results["models"][k]["clean_accuracy"] for k in keys]
    errors = {0: error_bars(ours, intervals([results["models"][k]["clean_accuracy"] for k in keys]))}
    series = [(f"ours ({results['dataset']})", ours, "#4c72b0"),
              ("paper: CIFAR-10", [100 * ref["cifar10"][k] for k in keys], "#bbbbbb"),
              ("paper: Restricted ImageNet", [100 * ref["restricted_imagenet"][k] for k in keys], "#888888")]
    return grouped_bars([f"trained on {g}" for g in ("D", "D_rand", "D_det")], series,
                        ylabel="original test accuracy (%)", chance=100 / results["num_classes"], size=(7, 3.4),
                        errors=errors)


def grouped_bars(groups: list[str], series: list[tuple[str, list[float], str]], *, ylabel: str, title: str = "",
                 chance: float | None = None, size=(6.5, 3.4), errors: dict | None = None) -> bytes:
    """Bars per group, one colour per series (values in %), each bar labelled; an optional chance line;
    ``errors`` maps a series' index to its error bars (as ``error_bars`` makes them)."""
    fig, ax = plt.subplots(figsize=size)
    width = 0.8 / len(series)
    for i, (label, values, color) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        bars = (errors or {}).get(i)
        ax.bar(xs, values, width, label=label, color=color, yerr=bars, capsize=3)
        label_bars(ax, xs, values, bars)
    if chance is not None:
        ax.axhline(chance, color="red", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    # below the axes: inside, it covered the bars of the first group
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(series) + (chance is not None))
    return png(fig)


def label_bars(ax, xs: list[float], values: list[float], bars: list[list[float]] | None) -> None:
    """Each bar's value just above it, or above its error bar's cap where it has one."""
    tops = [v + (bars[1][i] if bars else 0.0) for i, v in enumerate(values)]
    for x, v, top in zip(xs, values, tops):
        ax.text(x, min(top + 1, 101), f"{v:.0f}", ha="center", fontsize=8)


def robustness_curves(results: dict) -> bytes:
    """Robust accuracy against eps for every model (eps 0 is clean accuracy)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, res in results["models"].items():
        eps = [0.0] + [float(e) for e in res["robust_accuracy"]]
        points = [res["clean_accuracy"]] + list(res["robust_accuracy"].values())
        acc = [100 * a for a in points]
        ax.errorbar(eps, acc, yerr=error_bars(acc, intervals(points)), marker="o", capsize=3, label=name)
    ax.set_xlabel(f"L2 eps ({results['threat']['eval_steps']}-step PGD)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    return png(fig)


def line_plot(lines: dict[str, tuple[list, list]], *, xlabel: str, ylabel: str, title: str = "", logx: bool = False,
              points: dict[str, tuple[list, list]] | None = None, ylim=None, size=(6, 3.6),
              errors: dict | None = None) -> bytes:
    """Lines with markers (one per series), plus optional unconnected points drawn in the matching colour;
    ``errors`` maps a line's name to its error bars (as ``error_bars`` makes them)."""
    fig, ax = plt.subplots(figsize=size)
    colours = {}
    for name, (xs, ys) in lines.items():
        line = ax.errorbar(xs, ys, yerr=(errors or {}).get(name), capsize=3, marker="o" if not points else None,
                           label=name).lines[0]
        colours[name] = line.get_color()
    for name, (xs, ys) in (points or {}).items():
        ax.scatter(xs, ys, s=18, color=colours.get(name), label=None if name in colours else name)
    if logx:  # ticks as plain numbers (10, 100), not 10^1, 10^2
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return png(fig)
