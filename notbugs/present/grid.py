"""A PNG grid of sample images with their labels (saved beside each constructed dataset)."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from ..core.storage import atomic_write_bytes


def image_grid_png(x: torch.Tensor, labels: list[str], title: str = "", columns: int = 8) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(x)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.25 + (0.3 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = x[i].detach().cpu().clamp(0, 1)
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_title(labels[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def save_grid(path: Path, x: torch.Tensor, y: torch.Tensor, classes: list[str], title: str = "", n: int = 16) -> None:
    atomic_write_bytes(Path(path), image_grid_png(x[:n], [classes[int(v)] for v in y[:n]], title))
