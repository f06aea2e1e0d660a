"""Small HTML helpers shared by the report's sections: escaping and tables."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


@dataclasses.dataclass(frozen=True)
class Td:
    """A table cell of already-escaped HTML, with a class or a column span."""

    html: str
    cls: str = ""
    colspan: int = 0

    def render(self) -> str:
        attrs = (f' class="{self.cls}"' if self.cls else "") + (
            f' colspan="{self.colspan}"' if self.colspan else ""
        )
        return f"<td{attrs}>{self.html}</td>"


Row = Sequence["str | Td"]


def table(headers: Sequence[str], rows: Sequence[Row | tuple[str, Row]], cls: str = "") -> str:
    """A table of already-escaped cells; a row may be a ``(row_class, cells)`` pair."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for row in rows:
        row_cls, cells = row if isinstance(row, tuple) else ("", row)
        attr = f' class="{row_cls}"' if row_cls else ""
        tds = "".join((c if isinstance(c, Td) else Td(c)).render() for c in cells)
        body.append(f"<tr{attr}>{tds}</tr>")
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
