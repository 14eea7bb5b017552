"""The documentation's code runs: every ```python block of docs/, page by page (one
namespace per page, blocks in order, in a temporary directory). Blocks that are not meant
to run are fenced as ```text or ```bash. A page about an optional package says so in a
comment, ``<!-- requires: onnx onnxruntime -->``, and is skipped where one is missing."""

import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)
REQUIRES = re.compile(r"^<!-- requires: ([\w. -]+) -->$", re.M)


def test_the_pages_are_found():
    assert len(PAGES) >= 10, PAGES


@pytest.mark.usefixtures("restore_threads")  # a page may set the thread count
@pytest.mark.parametrize("page", [p for p in PAGES if BLOCK.search(p.read_text())],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs(page, tmp_path, monkeypatch, capsys):
    for needs in REQUIRES.findall(page.read_text()):
        for module in needs.split():
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs.{page.stem}"}
    for i, block in enumerate(BLOCK.findall(page.read_text())):
        code = compile(block, f"{page.relative_to(DOCS)} (block {i + 1})", "exec")
        exec(code, namespace)
