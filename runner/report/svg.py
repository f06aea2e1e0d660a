"""matplotlib's SVG files made fit to sit, many of them, in one HTML page."""

from __future__ import annotations

import re

from runner.report.markup import esc

_XML_PROLOGUE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", re.S)
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(href="#|url\(#)([^")]+)')
_FONT = re.compile(r"font-family: [^;\"]*;? ?")  # one rule in the page's CSS instead
_COORDS = re.compile(r'\b(d|x|y|transform|points)="([^"]*)"')
_DIGITS = re.compile(r"(\d+\.\d)\d+")
_PATTERN = re.compile(r'<pattern id="([^"]+)".*?</pattern>', re.S)


class SvgInliner:
    """Makes matplotlib's SVG files fit to sit in one page, and small.

    Ids are prefixed per chart so charts never share one, except hatch patterns: those
    are named by a hash of what they draw, so each is kept once for the whole page (a
    bar chart per session would otherwise carry a copy of the same pattern each).  Ids
    nothing refers to, the font list on every text, and coordinates finer than a tenth of
    a point are dropped.
    """

    def __init__(self) -> None:
        self.count = 0
        self.patterns: set[str] = set()

    def inline(self, svg: str, title: str) -> str:
        self.count += 1
        prefix = f"c{self.count}"
        svg = _XML_PROLOGUE.sub("", svg).strip()
        svg = _PATTERN.sub(self._pattern, svg)
        referred = {m[2] for m in _REF.finditer(svg)}

        def rename(m: re.Match[str]) -> str:
            name = m[1]
            if name not in referred:
                return ""
            return f' id="{name}"' if name in self.patterns else f' id="{prefix}-{name}"'

        svg = _ID.sub(rename, svg)
        svg = _REF.sub(lambda m: m[0] if m[2] in self.patterns else f"{m[1]}{prefix}-{m[2]}", svg)
        svg = _FONT.sub("", svg)
        svg = _COORDS.sub(_coords, svg)
        svg = re.sub(r">\s+<", "><", svg)
        return svg.replace("<svg ", f'<svg role="img" aria-label="{esc(title)}" ', 1)

    def _pattern(self, m: re.Match[str]) -> str:
        if m[1] in self.patterns:
            return ""
        self.patterns.add(m[1])
        return m[0]


def _coords(m: re.Match[str]) -> str:
    """An attribute of coordinates on one line, to a tenth of a point."""
    return f'{m[1]}="{" ".join(_DIGITS.sub(_TENTHS, m[2]).split())}"'


_TENTHS = r"\1"
