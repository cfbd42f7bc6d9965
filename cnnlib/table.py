"""Table: the one table renderer of the course (aligned text, HTML and markdown).

arith's receptive-field and parameter tables, the explorer's table and the
notebooks' tables are all Tables; viz re-exports it as viz.Table. It lives in
its own module so that arith and widgets can use it without importing pyplot.
"""
import html


class Table:
    """Rows of values with headers; HTML in a notebook, aligned text elsewhere.

    The text form is stable (no floating-point noise beyond the formats given),
    so cells that print tables can be compared by nbval. Integers get thousands
    separators, floats four significant digits, None a dash; `formats` maps a
    header to a format spec for its column.
    """

    def __init__(self, headers, rows, formats=None, title=None):
        self.headers = list(headers)
        self.rows = [list(r) for r in rows]
        self.formats = formats or {}
        self.title = title

    def _numeric(self, column):
        """A column whose values are all numbers (or missing): right-aligned in markdown."""
        values = [row[column] for row in self.rows if row[column] is not None]
        return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    def _cell(self, column, value):
        fmt = self.formats.get(self.headers[column])
        if fmt is not None and value is not None:
            return format(value, fmt)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:.4g}"
        return "-" if value is None else str(value)

    def cells(self):
        return [[self._cell(c, v) for c, v in enumerate(row)] for row in self.rows]

    def __str__(self):
        cells = self.cells()
        widths = [max(len(h), *(len(r[c]) for r in cells)) if cells else len(h) for c, h in enumerate(self.headers)]
        line = lambda values: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))
        out = [self.title] if self.title else []
        out += [line(self.headers), line(["-" * w for w in widths])] + [line(r) for r in cells]
        return "\n".join(out)

    __repr__ = __str__

    def html(self):
        """The table as an HTML string (what a notebook shows)."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self.cells())
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    _repr_html_ = html

    def markdown(self):
        """The table as GitHub markdown (the README's tables), numeric columns right-aligned."""
        escape = lambda text: text.replace("|", "\\|")  # noqa: E731
        align = ["---:" if self._numeric(c) else "---" for c in range(len(self.headers))]
        lines = ["| " + " | ".join(escape(h) for h in self.headers) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(escape(v) for v in row) + " |" for row in self.cells()]
        return "\n".join(lines) + "\n"
