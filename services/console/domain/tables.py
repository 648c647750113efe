"""A table as the pages show it and as its CSV export writes it: the same rows, the same columns."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False


@dataclass
class Table:
    name: str
    """The export's file name (without .csv); unique on its page."""
    caption: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    empty: str = "Nothing to show."
    total: int = -1
    """Rows in all, when only one page of them is shown (see `paged`)."""
    page: int = 1
    pages: int = 1

    def paged(self, page: int, size: int) -> "Table":
        """Keep only page `page` (from 1) of `size` rows for the page shown; the CSV export has them all."""
        self.total = len(self.rows)
        self.pages = max(1, -(-self.total // size))
        self.page = min(max(page, 1), self.pages)
        self.rows = self.rows[(self.page - 1) * size:self.page * size]
        return self

    def of_page(self, total: int, page: int, size: int) -> "Table":
        """These rows are page `page` (from 1) of `size` of `total` rows, as an owning service paged them."""
        self.total, self.pages = total, max(1, -(-total // size))
        self.page = max(page, 1)
        return self

    def cell(self, row: dict[str, Any], key: str) -> str:
        return text(row.get(key))

    def to_csv(self, *, header: bool = True) -> str:
        """The rows as CSV, after a header line of the column labels (`header=False`: a later chunk)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if header:
            writer.writerow([c.label for c in self.columns])
        for row in self.rows:
            writer.writerow([csv_safe(self.cell(row, c.key)) for c in self.columns])
        return out.getvalue()


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list | tuple):
        return "; ".join(text(v) for v in value)
    return str(value)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(value) else value


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
