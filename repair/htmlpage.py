"""Self-contained HTML pages (inline CSS and a few lines of JS, nothing fetched): tables whose
columns sort on a click, for the bench report and `patchwarden show --html`."""
from __future__ import annotations

import html

CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#eee}"
    "table.sortable th{cursor:pointer;user-select:none}th[data-dir=asc]:after{content:' \\25B2'}th[data-dir=desc]:after{content:' \\25BC'}"
    "td.num{text-align:right}img{max-width:100%}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;max-height:40em}"
    ".plausible{color:#080;font-weight:bold}.abstained{color:#a60}.none,.error,.timeout,.regression,.trigger-fail,.failed{color:#b00}"
    "details{margin:.3em 0}summary{cursor:pointer}code{background:#f3f3f3}"
)

# Click a header: sort its table by that column (numbers as numbers, `data-sort` when a cell has one).
SORT_JS = """<script>
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.dataset.dir !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = asc ? 'asc' : 'desc';
    var key = function (row) {
      var c = row.cells[col], s = c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim();
      return /^-?\\d+(\\.\\d+)?(e-?\\d+)?$/i.test(s) ? parseFloat(s) : s.toLowerCase();
    };
    Array.from(body.rows).sort(function (x, y) {
      var a = key(x), b = key(y);
      var d = (typeof a === 'number' && typeof b === 'number') ? a - b : String(a).localeCompare(String(b), undefined, {numeric: true});
      return asc ? d : -d;
    }).forEach(function (r) { body.appendChild(r); });
  });
});
</script>"""

e = html.escape


def td(text, *, sort=None, href=None, cls: str = "", pre: bool = False) -> str:
    """One cell: escaped text, optionally a link, a class and a sort key."""
    inner = e(str(text))
    if pre:
        inner = f"<pre>{inner}</pre>"
    if href:
        inner = f"<a href='{e(href)}'>{inner}</a>"
    attrs = (f" class='{e(cls)}'" if cls else "") + (f" data-sort='{e(str(sort))}'" if sort is not None else "")
    return f"<td{attrs}>{inner}</td>"


def num(value, fmt: str = "{:.2f}") -> str:
    """A right-aligned number cell that sorts numerically ('-' for None)."""
    if value is None:
        return "<td class='num' data-sort='-1'>-</td>"
    return f"<td class='num' data-sort='{value}'>{e(fmt.format(value))}</td>"


def table(header: list[str], rows: list[list[str]], *, sortable: bool = True, id: str = "") -> str:
    """`rows` hold cells made by `td`/`num` (or plain strings, escaped here)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header) if any(header) else ""
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else td(c) for c in row) + "</tr>" for row in rows)
    attrs = (" class='sortable'" if sortable else "") + (f" id='{e(id)}'" if id else "")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table{attrs}>{thead}<tbody>{body}</tbody></table>"


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{CSS}</style></head>"
            f"<body>{body}{SORT_JS}</body></html>\n")
