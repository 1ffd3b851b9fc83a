"""The documentation keeps its promises: the README stays short, every relative link and image
in the README and under docs/ points at a file that exists, every docs page is in mkdocs.yml's
navigation, and the README's test command is the one .ci/run runs. (CI also builds the site
with ``mkdocs build --strict``; these checks need no mkdocs and run in a fraction of a second.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
CI = REPO / ".ci" / "run"

#: The README is an entry point, not the manual: measurements and explanations live in docs/.
README_MAX_LINES = 260

_FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
# [text](target) and ![alt](target), with an optional "title"; <img src="target">
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMG_SRC = re.compile(r"<img\s[^>]*src=[\"']([^\"']+)[\"']", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (a link there is no link)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _relative_targets(md: Path) -> list[str]:
    prose = _prose(md.read_text(encoding="utf-8"))
    targets = _LINK.findall(prose) + _IMG_SRC.findall(prose)
    return [t for t in targets if not _SCHEME.match(t) and not t.startswith("#")]


def _resolve(md: Path, target: str) -> Path:
    path = target.split("#", 1)[0].split("?", 1)[0]
    return (md.parent / path).resolve()


def _nav_files(node) -> list[str]:
    """Every page named in a mkdocs ``nav`` (nested lists and ``{title: page}`` maps)."""
    if isinstance(node, str):
        return [] if _SCHEME.match(node) else [node]
    if isinstance(node, list):
        return [f for item in node for f in _nav_files(item)]
    if isinstance(node, dict):
        return [f for value in node.values() for f in _nav_files(value)]
    return []


def _ci_test_command() -> list[str]:
    """The lines .ci/run quotes between its markers as the README's test command."""
    lines = CI.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "the README's test command" in line)
    end = next(i for i in range(start + 1, len(lines)) if re.fullmatch(r"#\s*-{3,}\s*", lines[i]))
    return [line for line in lines[start + 1 : end] if line.strip()]


def _readme_code_lines() -> list[str]:
    """Every line inside the README's fenced code blocks, in order."""
    text = README.read_text(encoding="utf-8")
    return [line for match in _FENCE.finditer(text) for line in match.group(0).splitlines()[1:-1]]


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, (
        f"README.md has {n} lines (at most {README_MAX_LINES}): move measurements and "
        "explanations to a page under docs/"
    )


def test_the_link_pattern_finds_links_and_images_but_not_code():
    md = "see [a](x.md), ![b](img/y.png \"title\"), <img src='z.gif'>, `[c](no.md)`\n"
    md += "```\n[d](no2.md)\n```\n[e](https://example.org) [f](#anchor)\n"
    prose = _prose(md)
    found = _LINK.findall(prose) + _IMG_SRC.findall(prose)
    assert [t for t in found if not _SCHEME.match(t) and not t.startswith("#")] == [
        "x.md",
        "img/y.png",
        "z.gif",
    ]


@pytest.mark.parametrize("md", [README, *_pages()], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_image_exists(md):
    missing = [t for t in _relative_targets(md) if not _resolve(md, t).exists()]
    assert not missing, f"{md.relative_to(REPO)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("md", _pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_docs_pages_link_only_inside_docs(md):
    """mkdocs publishes docs/ only: a page's link out of it would be broken on the site."""
    docs = DOCS.resolve()
    outside = [t for t in _relative_targets(md) if docs not in _resolve(md, t).parents]
    assert not outside, f"{md.relative_to(REPO)} links outside docs/: {outside}"


def test_every_docs_page_is_in_the_nav_and_every_nav_page_exists():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config.get("docs_dir", "docs") == "docs"
    nav = _nav_files(config["nav"])
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    pages = {p.relative_to(DOCS).as_posix() for p in _pages()}
    assert set(nav) - pages == set(), "nav names pages that do not exist"
    assert pages - set(nav) == set(), "pages under docs/ missing from mkdocs.yml's nav"
    assert nav[0] == "index.md"


def test_readme_test_command_is_what_ci_runs_verbatim():
    command = _ci_test_command()
    assert command, ".ci/run quotes no test command between its markers"
    code = _readme_code_lines()
    for i in range(len(code) - len(command) + 1):
        if code[i : i + len(command)] == command:
            break
    else:
        pytest.fail(f"the README's code blocks do not hold .ci/run's test command {command}")
