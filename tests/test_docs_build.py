"""The documentation site builds strictly with no warning at all.

``mkdocs build --strict`` aborts on warnings, but only a build whose output is read (no
``-q``) shows which; these tests build the site into a temporary directory, fail on any
``WARNING`` line, and prove the check can fail by building a copy with a broken link.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]


def build_docs(project: Path, site: Path) -> tuple[int, list[str]]:
    """Build ``project``'s docs into ``site``; returns (exit code, the WARNING lines)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    return proc.returncode, [line for line in output.splitlines() if "WARNING" in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The real docs, built once for the tests of this module."""
    out = tmp_path_factory.mktemp("site")
    code, warnings = build_docs(ROOT, out)
    assert warnings == [], "\n".join(warnings)
    assert code == 0
    return out


def test_docs_build_without_warnings(site):
    assert (site / "index.html").is_file()
    assert (site / "reference" / "cli" / "index.html").is_file()


def _copy_project(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", dest / "docs")
    shutil.copytree(ROOT / "scripts", dest / "scripts")
    (dest / "src").symlink_to(ROOT / "src")
    (dest / "README.md").symlink_to(ROOT / "README.md")
    return dest


def test_a_broken_link_fails_the_check(tmp_path):
    project = _copy_project(tmp_path / "project")
    page = project / "docs" / "concepts.md"
    page.write_text(page.read_text() + "\n\nSee [nowhere](no-such-page.md).\n")
    code, warnings = build_docs(project, tmp_path / "site")
    assert code != 0
    assert any("no-such-page.md" in line for line in warnings), warnings


# -- offline: nothing the pages load comes from the network ------------------------------

#: tag -> the attributes through which a browser loads something (an <a href> is a link the
#: reader may follow, not a load, so external documentation links are allowed)
LOADS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
CSS_REMOTE = re.compile(r"(url\(\s*['\"]?\s*(https?:)?//|@import\s+['\"]?(https?:)?//)", re.I)


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self.mermaid_pre = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for attr in LOADS.get(tag, ()):
            value = values.get(attr) or ""
            if any(REMOTE.match(part) for part in value.split(",")):
                self.remote.append(f"<{tag} {attr}={value!r}>")
        if tag == "pre" and "mermaid" in (values.get("class") or "").split():
            self.mermaid_pre += 1  # mkdocs-material would fetch mermaid from unpkg for these
        style = values.get("style") or ""
        if CSS_REMOTE.search(style):
            self.remote.append(f"<{tag} style={style!r}>")


def remote_loads(html: str) -> list[str]:
    """What ``html`` loads from the network (scripts, stylesheets, images, frames...)."""
    parser = _Loads()
    parser.feed(html)
    extra = ["<pre class=mermaid> (material loads mermaid from a CDN)"] * parser.mermaid_pre
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S | re.I):
        extra += [f"<style> {m.group(0)}" for m in CSS_REMOTE.finditer(block)]
    return parser.remote + extra


def test_remote_loads_are_found():
    page = (
        '<a href="https://docs.aws.amazon.com/">fine</a>'
        '<script src="https://unpkg.com/mermaid@11/dist/mermaid.min.js"></script>'
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">'
        '<img src="http://example.org/x.png"><img src="local.png">'
        '<pre class="mermaid"><code>flowchart LR</code></pre>'
        "<style>@font-face { src: url('https://fonts.gstatic.com/x.woff2') }</style>"
    )
    found = remote_loads(page)
    assert len(found) == 5, found
    assert not any("docs.aws.amazon.com" in f for f in found)


def test_built_pages_load_nothing_remote(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    problems = {}
    for page in pages:
        found = remote_loads(page.read_text(encoding="utf-8"))
        if found:
            problems[str(page.relative_to(site))] = found
    for css in site.rglob("*.css"):
        found = [m.group(0) for m in CSS_REMOTE.finditer(css.read_text(encoding="utf-8"))]
        if found:
            problems[str(css.relative_to(site))] = found
    assert problems == {}


def test_diagrams_render_with_the_vendored_mermaid(site):
    page = (site / "explanation" / "monitoring-order" / "index.html").read_text()
    assert page.count('<div class="mermaid">') >= 2
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any(s.endswith("assets/javascripts/mermaid/mermaid.min.js") for s in scripts)
    vendored = site / "assets" / "javascripts" / "mermaid"
    assert (vendored / "mermaid.min.js").stat().st_size > 1_000_000
    assert "MIT" in (vendored / "LICENSE").read_text()
    assert "fonts.googleapis.com" not in page


# -- the griffe extension: attrs specs show their real signature -------------------------


def _load_with_attrs_extension(module: str):
    griffe = pytest.importorskip("griffe")
    extensions = griffe.load_extensions(str(ROOT / "scripts" / "mkdocs" / "griffe_attrs.py"))
    return griffe.load(module, search_paths=[str(ROOT / "src")], extensions=extensions)


def test_attrs_specs_get_their_generated_signature():
    spec = _load_with_attrs_extension("smkit.training")
    params = {p.name: p for p in spec["TrainingSpec"].parameters}
    assert str(params["tags"].annotation) == "dict[str, str]"
    assert str(params["tags"].default) == "{}"  # attrs.field(factory=dict)
    assert str(params["profiler"].default) == "ProfilerSpec()"
    assert str(params["instance_type"].default) == "'ml.m5.xlarge'"
    assert params["entry_point"].default is not None  # None, not "required"
    # every documented argument is in the signature, with a type
    for section in spec["TrainingSpec"].docstring.parse("google"):
        if section.kind.value == "parameters":
            for item in section.value:
                assert item.name in params and item.annotation is not None, item.name


def test_attrs_keyword_only_fields_and_init_false_classes():
    states = _load_with_attrs_extension("smkit.workflow.states")
    params = list(states["Pass"].parameters)
    names = [p.name for p in params]
    assert names[:2] == ["self", "name"]
    assert "comment" in names and "result_path" in names  # inherited and own fields
    assert "kwargs" not in names  # **kwargs replaced by the fields it forwards
    kinds = {p.name: p.kind.value for p in params}
    assert kinds["comment"] == "keyword-only"
    assert all(not n.isupper() for n in names)  # ClassVar constants are not fields


# -- the reference reads as markdown: no Sphinx roles, examples as code, no internals ----

SPHINX_ROLE = re.compile(r":(py:)?(func|class|meth|mod|attr|data|exc|obj|const):`")


def test_no_page_shows_a_sphinx_role(site):
    shown = [
        str(p.relative_to(site)) for p in site.rglob("*.html") if SPHINX_ROLE.search(p.read_text())
    ]
    assert shown == []


def test_reference_pages_render_docstrings_as_markdown(site):
    for page in sorted((site / "reference").rglob("index.html")):
        html = page.read_text(encoding="utf-8")
        name = str(page.relative_to(site))
        assert not SPHINX_ROLE.search(html), name
        assert "example.invalid" not in html, name
        # a doctest outside a code block renders as nested quotes with the prompts run together
        assert "<blockquote>" not in html, name
        for match in re.finditer(r'doc-section-title">Examples:</span>', html):
            after = html[match.end() : match.end() + 300]
            assert '<div class="highlight">' in after, name


def test_backends_and_monitoring_references_show_the_public_api(site):
    for name in ("backends", "monitoring"):
        html = (site / "reference" / name / "index.html").read_text(encoding="utf-8")
        ids = re.findall(r'id="(smkit\.[^"]+)"', html)
        assert ids
        for internal in ("_protocol", "Requester", "java_double", "dumps_jackson", "utcnow"):
            assert not [i for i in ids if internal in i], (name, internal)
