"""The reproduction's self-contained HTML page: the claims beside the published findings, learning curves with
their spread over seeds, and an episode of each trained agent as an animated GIF. Every value it did not write
itself is escaped."""

from __future__ import annotations

import base64
import html
import io
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from verdicts import claim_table_html  # noqa: E402

from .worlds import GridWorld

RENDER_FPS = GridWorld.metadata["render_fps"]

CURVES = {"coexistence": [("killed_other", "episodes with a kill"), ("length", "steps survived"),
                           ("q_loss", "selfish network's loss"), ("mean_max_q", "acting network's max Q")],
          "sharing": [("equality", "equality"), ("own_reward", "agent's coin reward"),
                      ("q_loss", "selfish network's loss"), ("mean_max_q", "acting network's max Q")]}
TRADE_OFF = {"coexistence": ("length", "steps survived (own)", "killed_other", "episodes with a kill (other's harm)"),
             "sharing": ("own_reward", "own coin reward", "other_reward", "other's coin reward")}


def esc(value) -> str:
    return html.escape(str(value))


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def curves(world: str, runs: list[dict]) -> str:
    """Each metric's learning curve per beta: the mean over seeds, shaded between the seeds' min and max."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4))
    for ax, (key, label) in zip(axes.flat, CURVES[world]):
        for beta in sorted({r["beta"] for r in runs}, reverse=True):
            mine = [r for r in runs if r["world"] == world and r["beta"] == beta]
            points = min(len(r["curve"]) for r in mine) if mine else 0
            if not points:
                continue
            steps = [p["step"] for p in mine[0]["curve"][:points]]
            values = np.array([[p.get(key, np.nan) for p in r["curve"][:points]] for r in mine])
            name = "selfish DQN (beta 1)" if beta == 1 else f"empathic (beta {beta:g})"
            with warnings.catch_warnings():  # a point where no episode of any seed ended is left empty
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, low, high = np.nanmean(values, 0), np.nanmin(values, 0), np.nanmax(values, 0)
            ax.plot(steps, mean, label=f"{name}, {len(mine)} seeds")
            ax.fill_between(steps, low, high, alpha=0.2)
        ax.set_xlabel("training steps")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    return f'<img alt="learning curves, {esc(world)}" src="data:image/png;base64,{_png(fig)}">'


def trade_off(world: str, sweep: list[dict]) -> str:
    """The beta sweep: the agent's own outcome against the other's, one point per beta (mean over seeds)."""
    own, own_label, other, other_label = TRADE_OFF[world]
    mine = [r for r in sweep if r["world"] == world]
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.plot([r[own] for r in mine], [r[other] for r in mine], "-", color="#999", zorder=1)
    # each beta its marker, named in a legend: labels written beside the points overlapped where points lie close
    for r, marker in zip(sorted(mine, key=lambda r: r["beta"]), "osD^v<>ph*"):
        ax.scatter([r[own]], [r[other]], marker=marker, s=40, zorder=2, label=f"beta {r['beta']:g}")
    ax.legend(fontsize=8, loc="best")
    ax.set_xlabel(own_label)
    ax.set_ylabel(other_label)
    return f'<img alt="beta sweep, {esc(world)}" src="data:image/png;base64,{_png(fig)}">'


def sweep_table(world: str, sweep: list[dict]) -> str:
    mine = [r for r in sweep if r["world"] == world]
    if not mine:
        return ""
    keys = [k for k in mine[0] if k not in ("world", "beta", "seeds", "episodes")]
    head = "".join(f"<th>{esc(k)}</th>" for k in ["beta", "seeds", *keys])
    body = "".join("<tr>" + "".join(f"<td>{esc(f'{r[k]:.3g}' if isinstance(r[k], float) else r[k])}</td>"
                                    for k in ["beta", "seeds", *keys]) + "</tr>" for r in mine)
    return f"<table><tr>{head}</tr>{body}</table>"


def ablation_table(world: str, ablation: list[dict]) -> str:
    mine = [r for r in ablation if r["world"] == world]
    claims = list(dict.fromkeys(r["claim"] for r in mine))
    variants = list(dict.fromkeys(r["variant"] for r in mine))
    cell = {(r["variant"], r["claim"]): r for r in mine}

    def show(r):
        if r["estimate"] is None:
            return esc(r["verdict"])
        ci = f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]" if r.get("ci") else ""
        return esc(f"{r['estimate']:.3g}{ci} {r['verdict']} (premise {r['premise']})")
    head = "<tr><th>rules</th>" + "".join(f"<th>{esc(c)}</th>" for c in claims) + "</tr>"
    body = "".join(f"<tr><td>{esc(v)}</td>" + "".join(f"<td>{show(cell[v, c])}</td>" for c in claims) + "</tr>"
                   for v in variants)
    return f"<table>{head}{body}</table>"


def gif_bytes(frames: list[np.ndarray], scale: int = 24) -> bytes:
    """An animated GIF of board frames (one pixel per cell, enlarged ``scale`` times), at the worlds' render_fps."""
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=1000 // RENDER_FPS, loop=0)
    return buf.getvalue()


def episode_gif(frames: list[np.ndarray], scale: int = 24) -> str:
    """The GIF as base64, for the report's inline image."""
    return base64.b64encode(gif_bytes(frames, scale)).decode()


def render(results: dict) -> str:
    runs, s = results["runs"], results["settings"]
    smoke = ('<p class="warn"><b>A smoke test, not evidence:</b> the tiny preset checks the code paths.</p>'
             if results["preset"] == "tiny" else "")
    parts = [f"<h1>Empathic DQN: the paper's two gridworlds ({esc(results['preset'])} preset)</h1>", smoke,
             f"<p>Bussmann, Heinerman &amp; Lehman (2019), 'Towards Empathic Deep Q-Learning'. Seeds "
             f"{esc(', '.join(map(str, s['seeds'])))}; {esc(s['steps'])} training steps per run, one minibatch of "
             f"{esc(s['batch_size'])} per step (the reference's schedule"
             f"{'' if results['preset'] == 'full' else ', shortened'}); claims judged on "
             f"{esc(s['eval_episodes'])} episodes of each trained policy.</p>",
             "<h2>Claims</h2>", str(claim_table_html(results["claims"]))]
    for world in [w for w in ("coexistence", "sharing") if any(r["world"] == w for r in runs)]:
        parts += [f"<h2>{esc(world.title())}</h2>", "<h3>Learning curves (claims' seeds)</h3>", curves(world, runs)]
        if not results.get("sweep"):
            parts.append("<p>The beta sweep and the ablation were not run (<code>--claims-only</code>).</p>")
        else:
            parts += [f"<h3>Selfishness sweep (seeds {esc(', '.join(map(str, s['side_seeds'])))})</h3>",
                      trade_off(world, results["sweep"]), sweep_table(world, results["sweep"]),
                      "<h3>Ablation: each rule where the package departs from the authors' code</h3>",
                      "<p>Each claim's statistic [95 % CI] and verdict on the side seeds, with the package's defaults "
                      "and with one rule changed (\"reference\": every rule as in the authors' code).</p>",
                      ablation_table(world, results["ablation"])]
        for beta in sorted({r["beta"] for r in runs}, reverse=True):
            frames = results.get("episodes", {}).get(f"{world}-{beta:g}")
            if frames:
                parts.append(f'<figure><img alt="an episode" src="data:image/gif;base64,{frames}"><figcaption>'
                             f"beta {beta:g}, seed {esc(s['seeds'][0])}: agent blue, other red, coins gold"
                             f"</figcaption></figure>")
    timing = results.get("timings", {})
    trained = "; ".join(f"{w}: {round(t)} s" for w, t in timing.get("train_seconds", {}).items() if t)
    trained = f"; training, as its runs recorded it: {trained}" if trained else ""
    parts.append(f"<p>{esc(timing.get('runs', 0))} runs; {esc(round(timing.get('seconds', 0)))} s this "
                 f"reproduction (runs read back from disk take no time){esc(trained)}.</p>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}.warn{background:#fee;padding:6px}"
             "figure{display:inline-block}")
    return f"<!doctype html><meta charset=utf-8><title>Empathic DQN</title><style>{style}</style>{''.join(parts)}"


def write(results: dict, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(render(results))
    tmp.replace(path)
