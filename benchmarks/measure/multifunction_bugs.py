"""Multi-function bugs in code copied from CPython's standard library (the interpreter running this).

Each bug copies real functions verbatim from a stdlib module (`colorsys`, `calendar`, `statistics`,
`heapq`, `bisect`, `base64`) into a one-module repository, then injects a bug that spans 2 to 4 of
them; the reference fix is the stdlib code itself. Three fixes need an import the buggy module lacks
(the bug replaced the imported call, and the unused import was dropped, as a linter would).
The tests compare with the stdlib module or with documented values; `check()` proves that the
buggy module fails them, the reference passes, and reverting any one fixed function fails again,
so no single-function fix can pass.
"""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Bug:
    id: str
    stdlib: str  # the module the code comes from
    file: str  # the module's name in the bug repository
    keep: list[str]  # top-level names copied verbatim, in the stdlib file's order
    mutations: list[tuple[str, str, str]]  # (function, old text, new text) injected into the copy
    tests: str
    ref_imports: str = ""  # import lines of the reference module (the stdlib's, trimmed to what is kept)
    bug_imports: str | None = None  # import lines of the buggy module (None: same as the reference)
    notes: str = ""

    @property
    def functions(self) -> list[str]:
        return list(dict.fromkeys(m[0] for m in self.mutations))

    @property
    def new_imports(self) -> list[str]:
        bug = set((self.bug_imports if self.bug_imports is not None else self.ref_imports).splitlines())
        return [ln for ln in self.ref_imports.splitlines() if ln.strip() and ln not in bug]


def _segments(module: str) -> tuple[str, dict[str, str]]:
    """The stdlib module's docstring and the exact text of each top-level def/class/assignment."""
    src = Path(inspect.getsourcefile(importlib.import_module(module))).read_text()
    tree = ast.parse(src)
    lines = src.splitlines()
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            continue
        first = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        out[name] = "\n".join(lines[first - 1 : node.end_lineno])
    return ast.get_docstring(tree, clean=False) or "", out


def sources(bug: Bug, fixed: set[str] | None = None) -> str:
    """The module text: the reference when `fixed` is None, else buggy except the functions in `fixed`."""
    doc, segs = _segments(bug.stdlib)
    first_line = doc.strip().splitlines()[0] if doc.strip() else bug.stdlib
    header = f'"""{first_line} (copied from CPython\'s Lib/{bug.stdlib}.py)."""\n'
    imports = bug.ref_imports
    parts = []
    for name in bug.keep:
        text = segs[name]
        if fixed is not None and name not in fixed:
            for fn, old, new in bug.mutations:
                if fn == name:
                    if old not in text:
                        raise ValueError(f"{bug.id}: {old!r} is not in {name}")
                    text = text.replace(old, new, 1)
        parts.append(text)
    if fixed is not None and not set(bug.functions) <= fixed and bug.bug_imports is not None:
        imports = bug.bug_imports
    head = header + ("\n" + imports.strip() + "\n" if imports.strip() else "")
    return head + "\n\n" + "\n\n\n".join(parts) + "\n"


def buggy(bug: Bug) -> str:
    return sources(bug, fixed=set())


def reference(bug: Bug) -> str:
    return sources(bug)


def make_repo(bug: Bug, dest: Path, text: str | None = None) -> Path:
    (dest / "tests").mkdir(parents=True, exist_ok=True)
    (dest / f"{bug.file}.py").write_text(buggy(bug) if text is None else text)
    (dest / "tests" / f"test_{bug.file}.py").write_text(textwrap.dedent(bug.tests))
    return dest


def _passes(bug: Bug, text: str, work: Path) -> bool:
    repo = make_repo(bug, work, text)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                       capture_output=True, text=True, timeout=300)
    return r.returncode == 0


def check(bug: Bug, work: Path) -> list[str]:
    """Problems with the bug's data ([] when sound)."""
    problems = []
    if _passes(bug, buggy(bug), work / "buggy"):
        problems.append("the buggy module passes the tests")
    if not _passes(bug, reference(bug), work / "reference"):
        problems.append("the reference module fails the tests")
    for fn in bug.functions:
        partial = sources(bug, fixed=set(bug.functions) - {fn})
        if _passes(bug, partial, work / f"without-{fn}"):
            problems.append(f"the tests pass without fixing {fn}")
    return problems


BUGS = [
    Bug(
        "colorsys-hls", "colorsys", "colors", ["ONE_THIRD", "ONE_SIXTH", "TWO_THIRD", "rgb_to_hls", "hls_to_rgb", "_v"],
        [("hls_to_rgb", "h+ONE_THIRD), _v(m1, m2, h), _v(m1, m2, h-ONE_THIRD)", "h-ONE_THIRD), _v(m1, m2, h), _v(m1, m2, h+ONE_THIRD)"),
         ("_v", "(m2-m1)*(TWO_THIRD-hue)*6.0", "(m2-m1)*(hue-TWO_THIRD)*6.0")],
        """\
        import colorsys as ref
        import pytest
        from colors import hls_to_rgb, rgb_to_hls

        COLORS = [(1.0, 0.0, 0.0), (0.2, 0.4, 0.8), (0.9, 0.5, 0.1), (0.3, 0.7, 0.6)]

        @pytest.mark.parametrize("rgb", COLORS)
        def test_round_trip(rgb):
            assert hls_to_rgb(*rgb_to_hls(*rgb)) == pytest.approx(rgb)

        def test_blue_hue():
            assert hls_to_rgb(0.6, 0.5, 0.8) == pytest.approx(ref.hls_to_rgb(0.6, 0.5, 0.8))
        """,
    ),
    Bug(
        "colorsys-hsv-yiq", "colorsys", "colors", ["rgb_to_yiq", "yiq_to_rgb", "rgb_to_hsv", "hsv_to_rgb"],
        [("rgb_to_yiq", "q = 0.48*(r-y) + 0.41*(b-y)", "q = 0.48*(r-y) - 0.41*(b-y)"),
         ("yiq_to_rgb", "g = y - 0.27478764629897834*i - 0.6356910791873801*q", "g = y - 0.27478764629897834*i + 0.6356910791873801*q"),
         ("rgb_to_hsv", "s = rangec / maxc", "s = rangec / (maxc+minc)"),
         ("hsv_to_rgb", "if i == 1:\n        return q, v, p", "if i == 1:\n        return v, q, p")],
        """\
        import colorsys as ref
        import pytest
        import colors

        COLORS = [(0.2, 0.4, 0.8), (0.9, 0.5, 0.1), (0.3, 0.7, 0.6), (0.5, 0.9, 0.2)]

        @pytest.mark.parametrize("rgb", COLORS)
        def test_yiq_matches_the_standard(rgb):
            assert colors.rgb_to_yiq(*rgb) == pytest.approx(ref.rgb_to_yiq(*rgb))

        @pytest.mark.parametrize("rgb", COLORS)
        def test_yiq_round_trip(rgb):
            assert colors.yiq_to_rgb(*ref.rgb_to_yiq(*rgb)) == pytest.approx(rgb)

        @pytest.mark.parametrize("rgb", COLORS)
        def test_hsv_matches_the_standard(rgb):
            assert colors.rgb_to_hsv(*rgb) == pytest.approx(ref.rgb_to_hsv(*rgb))

        @pytest.mark.parametrize("rgb", COLORS)
        def test_hsv_round_trip(rgb):
            assert colors.hsv_to_rgb(*ref.rgb_to_hsv(*rgb)) == pytest.approx(rgb)
        """,
    ),
    Bug(
        "calendar-leap", "calendar", "cal", ["isleap", "leapdays"],
        [("isleap", "(year % 100 != 0 or year % 400 == 0)", "year % 100 != 0"),
         ("leapdays", " + (y2//400 - y1//400)", "")],
        """\
        from cal import isleap, leapdays

        def test_centuries():
            assert isleap(2000) and not isleap(1900) and isleap(2024)

        def test_leapdays_over_four_centuries():
            assert leapdays(1600, 2000) == 97

        def test_leapdays_small_range():
            assert leapdays(2001, 2010) == 2
        """,
    ),
    Bug(
        "calendar-weekday", "calendar", "cal", ["IllegalMonthError", "February", "mdays", "isleap", "weekday", "monthrange"],
        [("weekday",
          "    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:\n        year = 2000 + year % 400\n"
          "    return datetime.date(year, month, day).weekday()",
          "    if month < 3:\n        month += 12\n        year -= 1\n"
          "    return (day + 13 * (month + 1) // 5 + year + year // 4 - year // 100 + year // 400) % 7"),
         ("monthrange", "ndays = mdays[month] + (month == February and isleap(year))", "ndays = mdays[month]")],
        """\
        import calendar
        import pytest
        from cal import monthrange, weekday

        @pytest.mark.parametrize("ymd", [(2024, 1, 1), (2023, 7, 14), (1999, 12, 31), (2000, 2, 29)])
        def test_weekday(ymd):
            assert weekday(*ymd) == calendar.weekday(*ymd)

        @pytest.mark.parametrize("ym", [(2024, 2), (2023, 2), (2021, 9)])
        def test_monthrange(ym):
            assert monthrange(*ym) == calendar.monthrange(*ym)
        """,
        ref_imports="import datetime", bug_imports="",
        notes="the fix needs `import datetime`",
    ),
    Bug(
        "statistics-means", "statistics", "stats", ["StatisticsError", "fmean", "geometric_mean"],
        [("fmean", "total = fsum(data)", "total = sum(data)"),
         ("fmean", "num = fsum(map(mul, data, weights))", "num = sum(map(mul, data, weights))"),
         ("fmean", "den = fsum(weights)", "den = sum(weights)"),
         ("geometric_mean", "exp(fmean(map(log, data)))", "exp(fmean(map(log10, data)))")],
        """\
        import pytest
        from stats import fmean, geometric_mean

        def test_fmean_is_exact_for_tenths():
            assert fmean([0.1] * 10) == 0.1

        def test_weighted_fmean():
            assert fmean([0.1] * 10, weights=[1] * 10) == 0.1

        def test_geometric_mean():
            assert round(geometric_mean([54, 24, 36]), 9) == 36.0
        """,
        ref_imports="from math import exp, log, fsum\nfrom operator import mul",
        bug_imports="from math import exp, log10\nfrom operator import mul",
        notes="the fix needs `log` and `fsum` from math",
    ),
    Bug(
        "heapq-sift", "heapq", "heap", ["heappush", "heappop", "heapify", "_siftdown", "_siftup"],
        [("heapify", "for i in reversed(range(n//2)):", "for i in range(n//2):"),
         ("_siftdown", "parentpos = (pos - 1) >> 1", "parentpos = pos >> 1"),
         ("_siftup", "    heap[pos] = newitem\n    _siftdown(heap, startpos, pos)", "    heap[pos] = newitem")],
        """\
        import random
        from heap import heapify, heappop, heappush

        def is_heap(h):
            return all(h[(i - 1) // 2] <= h[i] for i in range(1, len(h)))

        def test_heapify_makes_a_heap():
            rng = random.Random(1)
            for _ in range(200):
                xs = [rng.randrange(50) for _ in range(rng.randrange(1, 30))]
                heapify(xs)
                assert is_heap(xs)

        def test_heapsort():
            rng = random.Random(2)
            xs = [rng.randrange(1000) for _ in range(300)]
            h = []
            for x in xs:
                heappush(h, x)
            assert [heappop(h) for _ in range(len(xs))] == sorted(xs)

        def test_stable_for_equal_keys():
            h = []
            for item in [(1, "a"), (0, "b"), (1, "c"), (0, "d")]:
                heappush(h, item)
            assert [heappop(h) for _ in range(4)] == [(0, "b"), (0, "d"), (1, "a"), (1, "c")]
        """,
    ),
    Bug(
        "bisect-right", "bisect", "bisection", ["insort_right", "bisect_right", "insort_left", "bisect_left"],
        [("bisect_right", "            if x < a[mid]:\n                hi = mid", "            if x <= a[mid]:\n                hi = mid"),
         ("insort_left", "lo = bisect_left(a, x, lo, hi)", "lo = bisect_right(a, x, lo, hi)")],
        """\
        from bisection import bisect_left, bisect_right, insort_left, insort_right

        def test_bisect_right_goes_after_equal_items():
            assert bisect_right([1, 2, 2, 2, 3], 2) == 4

        def test_insort_left_keeps_the_first_equal_item_first():
            class Key:
                def __init__(self, k, tag): self.k, self.tag = k, tag
                def __lt__(self, other): return self.k < other.k
                def __le__(self, other): return self.k <= other.k
            a = [Key(1, "old")]
            insort_left(a, Key(1, "new"))
            assert [k.tag for k in a] == ["new", "old"]

        def test_insort_right():
            a = [1, 2, 4]
            insort_right(a, 3)
            assert a == [1, 2, 3, 4]
        """,
    ),
    Bug(
        "base64-b16", "base64", "b16", ["bytes_types", "_bytes_from_decode_data", "b16encode", "b16decode"],
        [("b16encode", "return binascii.hexlify(s).upper()", "return bytes(s).hex().encode()"),
         ("b16decode", "    if re.search(b'[^0-9A-F]', s):\n        raise binascii.Error('Non-base16 digit found')\n"
                       "    return binascii.unhexlify(s)",
          "    return bytes.fromhex(s.decode('ascii'))")],
        """\
        import binascii
        import pytest
        from b16 import b16decode, b16encode

        def test_encode_is_upper_case():
            assert b16encode(b"\\xab\\x01") == b"AB01"

        def test_decode_refuses_lower_case_unless_casefold():
            with pytest.raises(binascii.Error):
                b16decode(b"ab")
            assert b16decode(b"ab", casefold=True) == b"\\xab"

        def test_decode_refuses_bad_digits():
            with pytest.raises(binascii.Error):
                b16decode(b"ZZ")
        """,
        ref_imports="import re\nimport binascii", bug_imports="",
        notes="the fix needs `import re` and `import binascii`",
    ),
]
