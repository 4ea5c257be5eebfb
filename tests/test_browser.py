"""The executed book, opened in a real browser as a reader would.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium)
visits every HTML page of the built book at a 1280 px desktop width and at a 390 px
phone width and checks that:

- MathJax typesets every formula, with no ``mjx-merror`` and no raw ``$$`` left;
- at 1280 px no display equation and no code block is wider than its column, and a
  code block shows at least 88 monospace characters (ruff's line length);
- at 390 px the page itself does not scroll sideways (a code block may scroll inside);
  a display equation fits its box (MathJax 4 breaks long ones across lines) or, where
  it still scrolls, shows a scroll cue (statlearn.css's scrolling shadows); no inline
  formula is cut off; the claims table fits the column (its cells stack);
- no table is wider than the column at 1280 px (on a phone one may scroll, with the
  cue), and no code name in a table breaks mid-word;
- every image has an alt text that is not a file path; at 1280 px a figure's smallest
  text is 9 px or more (``statlearn.plotting``'s smallest font, scaled by how wide the
  image is shown against its pixel width); in dark mode no filter dims a figure;
- axe-core's accessibility audit finds no critical or serious violation (at 1280 px);
- every image loads, and the browser logs no console error;
- every widget renders, and every slider changes the picture beside it when it moves
  (``statlearn.book.frames``: a ``SelectionSlider`` jslinked to a ``Stack`` of images);
- the search page finds a term of chapter 7, and each chapter's Colab and Binder
  buttons open that chapter's notebook in this repository.

The build is never touched: the site is copied to a temporary folder, where the CDN
URLs of MathJax (4, and its font package), require.js and the Jupyter widgets HTML
manager are pointed at the npm packages pinned by ``tools/browser/package-lock.json``
(``npm ci`` there, which also installs axe-core). The browser
cannot reach the network (every host but 127.0.0.1 resolves to nothing), so a page that
still needs a CDN fails here. The scripts the browser runs are ``tools/browser/*.js``.

    make book && make test-browser          # the executed build in _build/html
    STATLEARN_BOOK_HTML=path/to/_build/html pytest tests/test_browser.py

The pages are shared out among one Chromium per core (at most 4;
``STATLEARN_BROWSERS=n`` sets how many), each reading its pages at both widths.

Without Chromium the test skips with a message saying how to install it; with
``CI=true`` it fails instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import queue
import re
import shutil
import threading
import time
from collections import defaultdict

import pytest

try:  # the figure style's smallest text, to check figures are shown large enough
    from statlearn.plotting import RETINA_SCALE, SMALLEST_FONT_PX
except ImportError:  # an older statlearn: PNGs at 2x, 9 pt text at 100 dpi
    RETINA_SCALE, SMALLEST_FONT_PX = 2, 9.0 * 100 / 72

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = pathlib.Path(os.environ.get("STATLEARN_BOOK_HTML", ROOT / "_build" / "html"))
BROWSER = ROOT / "tools" / "browser"
NODE_MODULES = BROWSER / "node_modules"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() == "true"

REPO = "statlearn-book/statlearn"
COLAB = (
    f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{{}}.ipynb"
)
BINDER = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/notebooks/{{}}.ipynb"
SEARCH_TERM, SEARCH_PAGE = "bottleneck", "notebooks/07_information_bottleneck.html"

WIDE, PHONE = 1280, 390
CODE_CHARS = 88  # at 1280 px a code block shows this many monospace characters
# browsers reading pages side by side (default: one per core, at most 4)
SESSIONS = max(
    1, int(os.environ.get("STATLEARN_BROWSERS", min(4, os.cpu_count() or 1)))
)
# seconds for a page to typeset, render its widgets and load images, and for axe-core
# to audit one page, per browser: the browsers share the cores, so each waits longer
PAGE_TIMEOUT = 30 * SESSIONS
AXE_TIMEOUT = 120 * SESSIONS

# what the browser runs on each page
WAIT_JS = (BROWSER / "wait.js").read_text()  # async: math, widgets, images done
MEASURE_JS = (BROWSER / "measure.js").read_text()  # every check on the loaded page
SLIDERS_JS = (BROWSER / "sliders.js").read_text()  # each slider's value and pictures
READER_JS = (BROWSER / "reader.js").read_text()  # phone, dark mode, alt, figure text
AXE_JS = (BROWSER / "axe.js").read_text()  # async: axe-core's serious violations
AXE_SOURCE = NODE_MODULES / "axe-core" / "axe.min.js"

# the npm packages, served under /_vendor/ in the copy of the site
VENDOR = {
    "mathjax": NODE_MODULES / "mathjax",
    "@mathjax": NODE_MODULES / "@mathjax",  # MathJax 4's fonts (loader.paths.fonts)
    "requirejs": NODE_MODULES / "requirejs",
    "html-manager": NODE_MODULES / "@jupyter-widgets" / "html-manager",
}
CDN = "https://cdn.jsdelivr.net/npm/"
REWRITES = [
    (re.compile(re.escape(CDN) + r"mathjax@[\d.]+/"), "/_vendor/mathjax/"),
    (re.compile(re.escape(CDN) + r"@mathjax(?=[\"'/])"), "/_vendor/@mathjax"),
    (
        re.compile(
            r"https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[\d.]+/\S+?\.js"
        ),
        "/_vendor/requirejs/require.js",
    ),
    (
        re.compile(re.escape(CDN) + r"@jupyter-widgets/html-manager@[\d.]+/"),
        "/_vendor/html-manager/",
    ),
    # modules the manager does not bundle would load from here: a 404, so an error
    (
        re.compile(r'data-jupyter-widgets-cdn="[^"]*"'),
        'data-jupyter-widgets-cdn="/_vendor/npm/"',
    ),
]
# an integrity hash belongs to the CDN file it was computed for
INTEGRITY = re.compile(r'\s(integrity|crossorigin)="[^"]*"')


def _unavailable(reason: str) -> None:
    how = (
        "To run it: apt-get install chromium chromium-driver; "
        "(cd tools/browser && npm ci); make book; then make test-browser."
    )
    if IN_CI:
        pytest.fail(f"browser test cannot run on CI: {reason}. {how}")
    pytest.skip(f"browser test skipped: {reason}. {how}")


def _prepare_site(dest: pathlib.Path) -> list[str]:
    """Copy the site to ``dest``, CDN URLs made local; return the pages to visit."""
    shutil.copytree(SITE, dest)
    vendor = dest / "_vendor"
    vendor.mkdir()
    for name, path in VENDOR.items():
        (vendor / name).symlink_to(path, target_is_directory=True)
    pages = []
    for page in sorted(dest.rglob("*.html")):
        rel = page.relative_to(dest).as_posix()
        if rel.startswith("_"):
            continue
        text = page.read_text(encoding="utf-8")
        for pattern, local in REWRITES:
            text = pattern.sub(local, text)
        text = re.sub(
            r"<script[^>]*/_vendor/[^>]*>",
            lambda m: INTEGRITY.sub("", m.group(0)),
            text,
        )
        page.write_text(text, encoding="utf-8")
        if re.search(r'http-equiv="refresh"', text, re.I):
            continue  # index.html only redirects to the first page
        pages.append(rel)
    return pages


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        # The browser asks the server's root for /favicon.ico, which is outside the
        # book (published under /statlearn/): "no content" rather than a 404.
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):  # keep pytest's output readable
        pass


class _Book:
    """One Chromium session over the copy of the site; collects every finding."""

    def __init__(self, driver, base: str, pages: list[str]):
        self.driver, self.base, self.pages = driver, base, pages
        self.failures: dict[str, list[str]] = defaultdict(list)
        self.code_chars: dict[str, dict] = {}
        self.sliders: dict[str, list[str]] = {}
        self.colab: dict[str, list[str]] = {}
        self.binder: dict[str, list[str]] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.snippets: list[str] = []

    def merge(self, other: "_Book") -> None:
        """Add what another session found (over other pages) to this one's."""
        for check, lines in other.failures.items():
            self.failures[check].extend(lines)
        for key, n in other.counts.items():
            self.counts[key] += n
        for mine, theirs in [
            (self.code_chars, other.code_chars),
            (self.sliders, other.sliders),
            (self.colab, other.colab),
            (self.binder, other.binder),
        ]:
            mine.update(theirs)

    def fail(self, check: str, page: str, width: int, message: str) -> None:
        self.failures[check].append(f"{page} @{width}px: {message}")

    def set_width(self, width: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": 900,
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            },
        )

    def console(self, page: str, width: int) -> None:
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                self.fail("console", page, width, entry["message"][:300])

    def visit(self, page: str, width: int) -> None:
        self.driver.get(self.base + page)
        status = self.driver.execute_async_script(WAIT_JS, PAGE_TIMEOUT)
        if status["mathjax"] not in ("none", "done"):
            self.fail("math", page, width, status["mathjax"])
        if status["widgets"] == "timeout":
            self.fail(
                "widgets",
                page,
                width,
                f"widgets still not rendered after {PAGE_TIMEOUT} s",
            )
        found = self.driver.execute_script(MEASURE_JS, width == WIDE, width)
        for message in found["math"]:
            self.fail("math", page, width, message)
        for w in found["wide"]:
            size = f"content {w['scroll']} px in a {w['client']} px column"
            self.fail("column", page, width, f"{w['kind']} {w['what']}: {size}")
        if found["codeChars"]:
            self.code_chars[page] = found["codeChars"]
        if found["sideways"]:
            s = found["sideways"]
            self.fail(
                "sideways",
                page,
                width,
                f"page is {s['scrollWidth']} px wide in a {s['innerWidth']} px window; "
                f"sticking out: {'; '.join(s['culprits']) or '?'}",
            )
        for src in found["images"]:
            self.fail("images", page, width, f"image did not load: {src}")
        for message in found["widgets"]:
            self.fail("widgets", page, width, message)
        self.read_as_reader(page, width)
        if width == WIDE:
            self.audit(page)
            self.try_sliders(page)
            self.launch_links(page)
        self.console(page, width)

    def read_as_reader(self, page: str, width: int) -> None:
        """What a reader on a phone, in dark mode or with a screen reader meets."""
        found = self.driver.execute_script(
            READER_JS, width, SMALLEST_FONT_PX, RETINA_SCALE
        )
        for key, n in found["counts"].items():
            self.counts[f"{key}@{width}"] += n
        for check in ("equations", "inline", "tables", "codeBreaks"):
            for message in found[check]:
                self.fail("reading", page, width, f"{check}: {message}")
        for check in ("alt", "figureText", "dark"):
            for message in found[check]:
                self.fail(check, page, width, message)

    def audit(self, page: str) -> None:
        """axe-core's audit: no critical or serious violation."""
        self.driver.execute_script(AXE_SOURCE.read_text(encoding="utf-8"))
        self.driver.set_script_timeout(AXE_TIMEOUT)  # a long page takes a while
        try:
            violations = self.driver.execute_async_script(AXE_JS)
        finally:
            self.driver.set_script_timeout(PAGE_TIMEOUT + 10)
        for v in violations:
            self.counts["axe"] += 1
            self.fail(
                "axe",
                page,
                WIDE,
                f"{v['impact']} {v['id']} ({v['help']}), {v['count']} elements: "
                + " | ".join(v["nodes"]),
            )

    def try_sliders(self, page: str) -> None:
        """Move each slider a step with the keyboard: the picture beside it changes,
        and moving back brings the first picture back."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.keys import Keys

        before = self.driver.execute_script(SLIDERS_JS)
        if not before:
            return
        results = []
        handles = self.driver.find_elements("css selector", ".widget-slider")
        for i, (handle_box, old) in enumerate(zip(handles, before)):
            try:
                handle = handle_box.find_element("css selector", ".noUi-handle")
                self.driver.execute_script(
                    "arguments[0].scrollIntoView({block: 'center'})", handle
                )
                handle.send_keys(Keys.ARROW_RIGHT)
                back = Keys.ARROW_LEFT
                if (
                    self.driver.execute_script(SLIDERS_JS)[i]["readout"]
                    == old["readout"]
                ):
                    handle.send_keys(Keys.ARROW_LEFT)  # it was at the right end
                    back = Keys.ARROW_RIGHT
            except WebDriverException as exc:
                self.fail(
                    "sliders", page, WIDE, f"slider {i + 1} cannot be moved: {exc.msg}"
                )
                continue
            now = self._wait_for_pictures(i, old["pictures"])
            where = f"slider {i + 1} ({old['label'].strip() or 'no label'})"
            if now["readout"] == old["readout"]:
                self.fail("sliders", page, WIDE, f"{where} did not move")
            elif not old["pictures"]:
                self.fail("sliders", page, WIDE, f"{where} has no picture next to it")
            elif now["pictures"] == old["pictures"]:
                self.fail(
                    "sliders",
                    page,
                    WIDE,
                    f"{where} moved from {old['readout']} to {now['readout']} "
                    "but the picture did not change",
                )
            else:
                handle.send_keys(back)
                again = self._wait_for_pictures(i, now["pictures"])
                if again["pictures"] != old["pictures"]:
                    self.fail(
                        "sliders",
                        page,
                        WIDE,
                        f"{where} moved back to {again['readout']} but does not show "
                        f"the picture it showed at {old['readout']}",
                    )
                else:
                    results.append(f"{where}: {old['readout']} -> {now['readout']}")
        self.sliders[page] = results

    def _wait_for_pictures(self, i: int, pictures: str, seconds: float = 5) -> dict:
        """Slider ``i``'s state once its pictures are not ``pictures`` (or time out)."""
        deadline = time.monotonic() + seconds
        now = self.driver.execute_script(SLIDERS_JS)[i]
        while (
            now["pictures"] == pictures or "loading" in now["pictures"]
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.driver.execute_script(SLIDERS_JS)[i]
        return now

    def launch_links(self, page: str) -> None:
        hrefs = self.driver.execute_script(
            "return [...document.querySelectorAll('a[href]')].map((a) => a.href)"
        )
        self.colab[page] = [h for h in hrefs if "colab.research.google.com" in h]
        self.binder[page] = [h for h in hrefs if "mybinder.org" in h]

    def search(self, term: str) -> list[str]:
        self.driver.get(f"{self.base}search.html?q={term}")
        deadline = time.monotonic() + PAGE_TIMEOUT
        links: list[str] = []
        while time.monotonic() < deadline:
            links = self.driver.execute_script(
                "return [...document.querySelectorAll('#search-results li a')]"
                ".map((a) => a.getAttribute('href'))"
            )
            status = self.driver.execute_script(
                "const s = document.querySelector('#search-results p.search-summary');"
                "return s ? s.textContent : ''"
            )
            # Sphinx lists hits one by one; the summary is written once all are shown.
            if "Search finished" in status or "did not match" in status:
                break
            time.sleep(0.2)
        self.snippets = self.driver.execute_script(
            "return [...document.querySelectorAll('#search-results li p.context')]"
            ".map((p) => p.textContent)"
        )
        self.console("search.html?q=" + term, WIDE)
        return links


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    if not (pathlib.Path(CHROMIUM).exists() and pathlib.Path(CHROMEDRIVER).exists()):
        _unavailable(f"no Chromium at {CHROMIUM} or no chromedriver at {CHROMEDRIVER}")
    if not all(path.is_dir() for path in VENDOR.values()):
        _unavailable(
            f"MathJax and the widget manager are not installed under {NODE_MODULES}"
        )
    if not (SITE / "search.html").exists():
        _unavailable(f"no built book at {SITE} (make book builds it)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install selenium)")

    site = tmp_path_factory.mktemp("browser") / "html"
    pages = _prepare_site(site)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"

    def launch():
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in [
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            # offline like the build machine: only the local server resolves
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.set_script_timeout(PAGE_TIMEOUT + 10)
        driver.set_page_load_timeout(PAGE_TIMEOUT + 10)
        return driver

    # The pages are shared out among SESSIONS browsers, one per core: typesetting and
    # the audit keep a browser's renderer busy, so one browser leaves the other core
    # idle. Each browser takes the next page from a queue (chapters, the longest,
    # first) and reads it at both widths.
    todo: queue.Queue = queue.Queue()
    for page in sorted(pages, key=lambda p: not p.startswith("notebooks/")):
        todo.put(page)
    drivers: list = []
    sessions: list[_Book] = []
    errors: list[BaseException] = []

    def work(session: _Book) -> None:
        try:
            while True:
                try:
                    page = todo.get_nowait()
                except queue.Empty:
                    return
                for width in (WIDE, PHONE):
                    session.set_width(width)
                    session.visit(page, width)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    start = time.monotonic()
    try:
        for _ in range(SESSIONS):
            drivers.append(launch())
            sessions.append(_Book(drivers[-1], base, pages))
        threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        result = sessions[0]
        for other in sessions[1:]:
            result.merge(other)
        result.set_width(WIDE)
        result.search_links = result.search(SEARCH_TERM)
        result.seconds = time.monotonic() - start
        switched = sum(len(lines) for lines in result.sliders.values())
        c = result.counts
        print(
            f"\nbrowser test: {len(pages)} pages at {WIDE} and {PHONE} px "
            f"in {result.seconds:.0f} s ({SESSIONS} browsers); {switched} sliders "
            f"switched their picture; at {PHONE} px {c[f'displayScroll@{PHONE}']} of "
            f"{c[f'display@{PHONE}']} display equations scroll (with a cue), "
            f"{c[f'inline@{PHONE}']} inline formulas; {c[f'images@{WIDE}']} images; "
            f"{c['axe']} axe violations"
        )
        yield result
    finally:
        for driver in drivers:
            driver.quit()
        server.shutdown()


def _report(book: _Book, check: str) -> None:
    problems = book.failures.get(check, [])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_math_typesets(book):
    _report(book, "math")


def test_equations_and_code_fit_the_column(book):
    _report(book, "column")


def test_code_column_shows_88_characters(book):
    assert book.code_chars, "no code block found on any page"
    narrow = {page: m for page, m in book.code_chars.items() if m["chars"] < CODE_CHARS}
    assert not narrow, "\n".join(
        f"{page}: a code block shows {m['chars']} characters ({m['width']:.0f} px at "
        f"{m['charWidth']:.2f} px per character, font {m['font']})"
        for page, m in narrow.items()
    )


def test_phone_page_does_not_scroll_sideways(book):
    _report(book, "sideways")


def test_images_load(book):
    _report(book, "images")


def test_no_console_errors(book):
    _report(book, "console")


def test_widgets_render(book):
    _report(book, "widgets")


def test_sliders_change_the_picture(book):
    _report(book, "sliders")
    moved = [line for lines in book.sliders.values() for line in lines]
    assert moved, "no frames slider found in the book (statlearn.book.frames)"


def test_search_finds_a_chapter_7_term(book):
    found = book.search_links
    assert any(SEARCH_PAGE in (link or "") for link in found), (
        f"search for {SEARCH_TERM!r} does not list {SEARCH_PAGE}; it lists {found}"
    )


def test_phone_reading(book):
    """At 390 px display equations fit or scroll with a cue, no inline formula is cut
    off and the claims table fits; at 1280 px tables fit; code names stay whole."""
    _report(book, "reading")


def test_images_have_alt_text(book):
    assert book.counts[f"images@{WIDE}"], "no image found in the book"
    _report(book, "alt")


def test_figure_text_at_least_9_px(book):
    _report(book, "figureText")


def test_dark_mode_does_not_dim_figures(book):
    _report(book, "dark")


def test_accessibility_audit(book):
    """axe-core: no critical or serious violation on any page."""
    _report(book, "axe")


def test_search_snippets_quote_the_text(book):
    """A hit's snippet is the page's text: no "Contents" of the print-only table of
    contents, no "previous ... next" links (book/_ext/search_snippets.py)."""
    assert book.snippets, "the search lists no snippet"
    navigation = re.compile(r"\bContents\b|\bprevious\b.*\bnext\b", re.S)
    bad = [s for s in book.snippets if navigation.search(s)]
    assert not bad, "snippets with navigation text:\n" + "\n".join(bad)


def test_launch_buttons_open_the_chapter(book):
    chapters = [page for page in book.pages if page.startswith("notebooks/")]
    assert chapters, "no chapter pages"
    problems = []
    for page in chapters:
        stem = pathlib.PurePosixPath(page).stem
        for name, links, want in [
            ("Colab", book.colab, COLAB.format(stem)),
            ("Binder", book.binder, BINDER.format(stem)),
        ]:
            if links.get(page) != [want]:
                problems.append(
                    f"{page}: {name} links {links.get(page)}, expected [{want}]"
                )
    assert not problems, "\n".join(problems)
