"""`--format html`: the page, opened from a file in a real headless browser (Chromium through
Selenium), typesets every formula without an error, fits a phone's and a desktop's width, folds
its sections, and reads as the derivation: each step's words and each left-hand side are there.
The page itself is one file: nothing is fetched, and the same command writes the same bytes."""

from __future__ import annotations

import os
import re
import shutil

import pytest

import derive
from conftest import require_tool, run
from derive import printing
from derive.graph import format_number, graph_for, has_graph
from derive.messages import FIELD, rule_msg
from derive.render import html as html_view
from derive.render.latex import unicode_math

pytestmark = pytest.mark.usefixtures("shared_derivations")

WIDTHS = (375, 1280)
# (what the page shows, its language): models with a graph, a table, long sums; and the notes
PAGES = [("logistic", "zh"), ("mlp", "en"), ("notes", "en"), ("notes", "zh")]
NOTES_MODELS = ("chain-rule", "logistic")


def _webdriver():
    """Selenium's webdriver module; skipped without it, unless CI demands every test run."""
    try:
        from selenium import webdriver
    except ImportError:
        if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
            pytest.fail("selenium is required (DERIVE_REQUIRE_TEX=1): pip install '.[test]'")
        pytest.skip("selenium not installed")
    return webdriver


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module: starting it is the slow part."""
    webdriver = _webdriver()
    require_tool("chromedriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where the screenshots go (one per page and width), to be looked at."""
    return tmp_path_factory.mktemp("html-shots")


def write_page(what: str, lang: str, folder) -> str:
    """The page for ``what`` written by the CLI with ``-o page.html`` (the extension chooses the
    format); its path."""
    path = folder / f"{what}-{lang}.html"
    args = ["notes", "--models", ",".join(NOTES_MODELS)] if what == "notes" else [what, "--show-steps"]
    out = run(*args, "--lang", lang, "-o", path)
    assert out.code == 0, out.err
    return str(path)


def derivations(what: str) -> list:
    return [derive.derivation(m) for m in (NOTES_MODELS if what == "notes" else (what,))]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def word_pieces(msg, lang: str) -> list[str]:
    """The words of ``msg`` between its formulas and arguments: what the page shows as text."""
    out = []
    for is_formula, source in msg.parts(lang):
        if not is_formula:
            out += [p.strip(" ,.:;()，。:;、") for i, p in enumerate(FIELD.split(source)) if i % 2 == 0]
    return [p for p in map(_norm, out) if len(p) >= 3 or (lang == "zh" and len(p) >= 2)]


def expected_words(d, lang: str) -> set[str]:
    """The derivation's own words (oracle: its steps' messages, its results' notes)."""
    msgs = [d.title]
    for s in d.steps:
        if s.audience != "student":  # a line for the checker, shown with --verbose
            continue
        msgs += s.note.chain() if s.note is not None and hasattr(s.note, "chain") else [s.note]
        if s.kind == "equation":
            msgs.append(rule_msg(s.rule))
        if s.kind == "table":
            msgs += [c for c in s.table.columns if not isinstance(c, str)]
    msgs += [m for r in d.results if r.audience == "student" and r.note is not None for m in r.note.chain()]
    # what the default page shows: words for the student; where a line was checked needs --verbose
    return {w for m in msgs if m is not None and hasattr(m, "parts") and m.audience == "student"
            for w in word_pieces(m, lang)}


_PAGE_STATE = """return {
  errors: document.querySelectorAll('.katex-error').length,
  formulas: document.querySelectorAll('.tex').length,
  typeset: document.querySelectorAll('.tex > .katex').length,
  tex: Array.from(document.querySelectorAll('annotation[encoding="application/x-tex"]'), a => a.textContent),
  text: document.body.innerText,
  rows: document.querySelectorAll('.eqs:not(.results) .row').length,
  results: document.querySelectorAll('.results .row').length,
  details: document.querySelectorAll('details').length,
  svg: document.querySelectorAll('figure svg').length,
  lang: document.documentElement.lang,
}"""


@pytest.mark.parametrize(("what", "lang"), PAGES)
def test_page_renders_fits_and_reads_as_the_derivation(browser, shots, tmp_path, what, lang):
    path = write_page(what, lang, tmp_path)
    browser.set_window_size(WIDTHS[0], 900)
    browser.get("file://" + path)
    state = browser.execute_script(_PAGE_STATE)

    assert state["errors"] == 0
    assert state["formulas"] > 10 and state["typeset"] == state["formulas"]
    assert state["lang"] == ("zh-Hans" if lang == "zh" else "en")

    ds = derivations(what)
    equations = sum(s.kind == "equation" and s.audience == "student" for d in ds for s in d.steps)
    assert state["rows"] == equations
    assert state["results"] == sum(r.audience == "student" for d in ds for r in d.results)
    assert state["details"] == sum(s.kind == "heading" for d in ds for s in d.steps) + len(ds)
    # a graph per model that has one (Graphviz is installed where the tests must all run)
    if shutil.which("dot"):
        assert state["svg"] == sum(has_graph(derive.model(d.model)) for d in ds)

    text = _norm(state["text"])
    missing = sorted(w for d in ds for w in expected_words(d, lang) if w not in text)
    assert not missing, missing[:10]
    shown = {re.sub(r"\s+", "", t) for t in state["tex"]}
    for d in ds:
        for s in d.steps:
            if s.kind == "equation" and not s.continued and s.audience == "student":
                lhs = re.sub(r"\s+", "", unicode_math(printing.latex(s.lhs, partial=d.partial)))
                assert any(lhs in t for t in shown), lhs

    for width in WIDTHS:
        browser.set_window_size(width, 900)
        inner, scroll = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]")
        assert inner == width
        assert scroll <= width, (width, scroll)
        browser.save_screenshot(str(shots / f"{what}-{lang}-{width}.png"))


def test_sections_fold(browser, tmp_path):
    browser.set_window_size(WIDTHS[1], 900)
    browser.get("file://" + write_page("logistic", "en", tmp_path))
    first = browser.find_element("css selector", "details")
    row = first.find_element("css selector", ".row")
    assert first.get_attribute("open") is not None and row.is_displayed()
    first.find_element("css selector", "summary").click()
    assert first.get_attribute("open") is None and not row.is_displayed()


# The file itself ---------------------------------------------------------------------------------

def test_page_is_one_file_and_the_same_bytes_each_time(tmp_path):
    a = write_page("logistic", "en", tmp_path)
    first = open(a, encoding="utf-8").read()
    assert first == open(write_page("logistic", "en", tmp_path), encoding="utf-8").read()
    # nothing to fetch: no element with a source or a linked style sheet, and every url() of the
    # style sheets is inlined data (KaTeX's script, which can write such elements, aside)
    markup = re.sub(r"<script>.*?</script>", "<script></script>", first, flags=re.S)
    assert markup.count("<script></script>") == 2
    assert not re.search(r"<(?:script|img|iframe|link)\b[^>]*\b(?:src|href)=", markup)
    assert all(u.startswith("data:") for u in re.findall(r"url\(([^)]*)\)", markup))
    assert not re.search(r"""(?:href|src)=["']?https?:""", markup)
    # every font the style sheet names is one of the fonts shipped with the package
    fonts = set(re.findall(r"font-family:(KaTeX_\w+)", first))
    shipped = {f.name.split("-")[0] for f in (html_view.KATEX / "fonts").glob("*.woff2")}
    assert fonts and fonts <= shipped
    assert (html_view.KATEX / "LICENSE").read_text().startswith("The MIT License")


def test_graph_without_graphviz_is_a_table_of_its_nodes(monkeypatch):
    g = graph_for(derive.model("logistic"))
    monkeypatch.setattr(html_view.shutil, "which", lambda name: None)
    figure = html_view.graph_html(g, "en", "x")
    assert "<svg" not in figure
    cells = re.findall(r"<td>(.*?)</td>", figure)
    assert len(cells) == 4 * len(g.nodes)
    for n in g.nodes:
        assert html_view.tex(format_number(n.grad, tex=True)) in cells
