"""Matplotlib set up for Chinese labels, shared by the notebooks and `callqa report`.

The font comes from the mplfonts wheel (Noto Sans CJK SC, SIL OFL): no system font is
needed and nothing is downloaded or copied into matplotlib's own directory.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

FONT_FILE = "NotoSansCJKsc-Regular.otf"


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib, make it the default; returns its family name."""
    from matplotlib import font_manager, pyplot

    path = resources.files("mplfonts") / "fonts" / FONT_FILE
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    pyplot.rcParams["font.family"] = "sans-serif"
    pyplot.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    pyplot.rcParams["axes.unicode_minus"] = False
    return family
