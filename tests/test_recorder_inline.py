"""A figure the recorder saved is shown inline from its saved PNG (one render fewer)."""

from __future__ import annotations

import base64
import struct
from functools import partial

import IPython
import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.core.pylabtools import print_figure

from study.plots import new_figure
from study.run.recorder import Recorder, saved_png


class FakeShell:
    """What `show_saved_pngs` uses of a kernel: its display formatter, with figures shown as
    PNG as `%matplotlib inline` registers them."""

    def __init__(self):
        self.display_formatter = DisplayFormatter()
        png = self.display_formatter.formatters["image/png"]
        png.for_type(new_figure(1, 1)[0].__class__, partial(print_figure, fmt="png", base64=True))


@pytest.fixture
def shell(monkeypatch):
    fake = FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: fake)
    return fake


def _figure():
    fig, ax = new_figure(4, 3)
    ax.plot([0, 1, 2], [1, 3, 2])
    ax.set_title("a line")
    return fig


def test_a_saved_figure_is_shown_from_its_saved_png(shell, tmp_path):
    rec = Recorder(run_dir=str(tmp_path), notebook="01_x")
    Recorder(run_dir=str(tmp_path), notebook="02_y")  # a second recorder does not wrap twice
    shown = shell.display_formatter.formatters["image/png"].lookup_by_type(type(_figure()))
    wrapped = [c.cell_contents for c in shown.__closure__ if callable(c.cell_contents)]
    assert shown.shows_saved_png and not any(hasattr(f, "shows_saved_png") for f in wrapped)
    fig, other = _figure(), _figure()
    rec.figure(fig, "line")
    data, meta = shell.display_formatter.format(fig)
    on_disk = (tmp_path / "figures" / "01_x__line.png").read_bytes()
    assert base64.b64decode(data["image/png"]) == on_disk
    width, height = struct.unpack(">II", on_disk[16:24])
    # shown at the size the inline backend would use (figure dpi), from the 120-dpi file
    assert meta["image/png"] == {
        "width": round(width * fig.dpi / 120),
        "height": round(height * fig.dpi / 120),
    }
    assert saved_png(other) is None
    drawn, drawn_meta = shell.display_formatter.format(other)  # not saved: rendered as before
    assert base64.b64decode(drawn["image/png"]).startswith(b"\x89PNG")
    assert "image/png" not in drawn_meta


def test_without_a_run_folder_figures_render_as_before(shell):
    fig = _figure()
    Recorder(run_dir="", notebook="01_x").figure(fig, "line")
    data, meta = shell.display_formatter.format(fig)
    assert saved_png(fig) is None and "image/png" not in meta
    expected = print_figure(fig, fmt="png", base64=True)
    assert data["image/png"] == expected
