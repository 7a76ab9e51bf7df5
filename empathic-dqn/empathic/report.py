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

from .worlds import GridWorld

RENDER_FPS = GridWorld.metadata["render_fps"]

CURVES = {"coexistence": [("killed_other", "episodes with a kill"), ("length", "steps survived")],
          "sharing": [("equality", "equality"), ("own_reward", "agent's coin reward")]}


def esc(value) -> str:
    return html.escape(str(value))


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def curves(world: str, runs: list[dict]) -> str:
    """Each metric's learning curve per beta: the mean over seeds, shaded between the seeds' min and max."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, (key, label) in zip(axes, CURVES[world]):
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


def gif_bytes(frames: list[np.ndarray], scale: int = 24) -> bytes:
    """An animated GIF of board frames (one pixel per cell, enlarged ``scale`` times), at the worlds' render_fps."""
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=1000 // RENDER_FPS, loop=0)
    return buf.getvalue()


def episode_gif(frames: list[np.ndarray], scale: int = 24) -> str:
    """The GIF as base64, for the report's inline image."""
    return base64.b64encode(gif_bytes(frames, scale)).decode()


def claims_table(verdicts: list[dict]) -> str:
    rows = []
    for v in verdicts:
        if v["verdict"] == "not run":
            rows.append(f"<tr><td>{esc(v['id'])}</td><td colspan=5>not run</td></tr>")
            continue
        rows.append(
            "<tr>" + "".join(f"<td>{x}</td>" for x in (
                esc(v["statement"]), esc(v["published"]),
                esc(f"selfish {v['selfish'][0]:.3g}, empathic {v['empathic'][0]:.3g}"),
                esc(f"{v['statistic']}: {v['estimate']:.3g} [{v['ci'][0]:.3g}, {v['ci'][1]:.3g}] (margin >= "
                    f"{v['margin']:g}; {v['seeds']} seeds)"),
                esc(f"{v['premise']}: {v['premise_value']:.3g} ({'met' if v['premise_met'] else 'NOT MET'})"),
                f"<b>{esc(v['verdict'])}</b>")) + "</tr>")
    return ("<table><tr><th>claim</th><th>published</th><th>ours (mean over seeds)</th><th>statistic [95 % CI]"
            "</th><th>premise</th><th>verdict</th></tr>" + "".join(rows) + "</table>")


def render(results: dict) -> str:
    runs, s = results["runs"], results["settings"]
    smoke = ('<p class="warn"><b>A smoke test, not evidence:</b> the tiny preset checks the code paths.</p>'
             if results["preset"] == "tiny" else "")
    parts = [f"<h1>Empathic DQN: the paper's two gridworlds ({esc(results['preset'])} preset)</h1>", smoke,
             f"<p>Bussmann, Heinerman &amp; Lehman (2019), 'Towards Empathic Deep Q-Learning'. Seeds "
             f"{esc(', '.join(map(str, s['seeds'])))}; {esc(s['steps'])} training steps per run in {esc(s['envs'])} "
             f"worlds at once; claims judged on {esc(s['eval_episodes'])} episodes of each trained policy.</p>",
             "<h2>Claims</h2>", claims_table(results["claims"])]
    for world in ("coexistence", "sharing"):
        parts += [f"<h2>{esc(world.title())}</h2>", curves(world, runs)]
        for beta in sorted({r["beta"] for r in runs}, reverse=True):
            frames = results.get("episodes", {}).get(f"{world}-{beta:g}")
            if frames:
                parts.append(f'<figure><img alt="an episode" src="data:image/gif;base64,{frames}"><figcaption>'
                             f"beta {beta:g}, seed {esc(s['seeds'][0])}: agent blue, other red, coins gold"
                             f"</figcaption></figure>")
    timing = results.get("timings", {})
    parts.append(f"<p>{esc(round(timing.get('seconds', 0)))} s; {esc(round(timing.get('steps_per_second', 0)))} "
                 f"training steps per second (mean over runs).</p>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}.warn{background:#fee;padding:6px}"
             "figure{display:inline-block}")
    return f"<!doctype html><meta charset=utf-8><title>Empathic DQN</title><style>{style}</style>{''.join(parts)}"


def write(results: dict, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(render(results))
    tmp.replace(path)
