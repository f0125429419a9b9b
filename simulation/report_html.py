"""HTML and figure helpers of the operator report: embedded PNG plots, tables, notes."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never a window, never a display server

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def figure(draw: Callable[[Axes], None], *, title: str, dates: bool = False) -> str:
    """``draw`` on a fresh axes, as an embedded PNG (``dates``: the x axis holds dates)."""
    figure: Figure = plt.figure(figsize=(9, 3.4), dpi=90)
    try:
        ax = figure.add_subplot()
        draw(ax)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if dates:
            figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{escape(title)}" src="data:image/png;base64,{encoded}">'


def days(dates: Sequence[date]) -> npt.NDArray[np.datetime64]:
    return np.array(dates, dtype="datetime64[D]")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def escape(text: str) -> str:
    return html.escape(text, quote=True)
