"""The notebooks run top to bottom on their small default settings, and say what their numbers show.

Their prose states a number or a comparison only in sentences a code cell
builds from the values it computed (``Markdown(...)`` as the cell's last
expression); tests/test_wording.py keeps numbers out of the fixed prose.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
ENDS_IN_A_SENTENCE = re.compile(r"^Markdown\(", re.MULTILINE)
"""A code cell whose output is prose built from computed values."""


def test_notebooks_exist():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in cells), "clear the outputs"


def _sentences(notebook) -> list[str]:
    """The generated prose of each code cell that builds some, in order (None where the cell showed none)."""
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and ENDS_IN_A_SENTENCE.search(cell.source)]
    return [
        next((o["data"]["text/markdown"] for o in cell.outputs if "text/markdown" in o.get("data", {})), None)
        for cell in cells
    ]


def _unfinite(text: str) -> list[str]:
    return re.findall(r"\b(?i:nan|inf)\b|\bNone\b", text)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_without_errors(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    for module in notebook.metadata.get("simsgp", {}).get("requires", []):  # optional extras, such as torch
        pytest.importorskip(module, reason=f"{path.name} needs {module}: pip install 'simsgp[{module}]'")
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
    sentences = _sentences(notebook)
    assert sentences, f"{path.name} builds none of its sentences from its numbers"
    assert None not in sentences, "a cell meant to show a sentence showed none"
    assert [s for s in sentences if _unfinite(s)] == []


def test_unfinite_values_in_a_sentence_are_caught():
    assert _unfinite("off by nan% to inf%")
    assert _unfinite("first at None s")
    assert not _unfinite("infinite care, a financial nance: none of them")
