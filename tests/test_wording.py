"""What a user reads names papers, not internal labels, and points only at files the user has.

Every file a user sees is scanned: the package's sources (docstrings, messages,
help), the README, the notebooks, the shipped scenarios and topologies and the
benchmarks. The notebooks' prose may state a number or a comparison only where
a code cell computes it; the few sentences that describe what the code sets up
are listed in ``SET_UP_BY_CODE`` with the code that makes them true.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
USER_FILES = sorted(
    [
        *ROOT.glob("simsgp/**/*.py"),
        *ROOT.glob("simsgp/scenarios/*.toml"),
        *ROOT.glob("topologies/*.toml"),
        *ROOT.glob("benchmarks/*.py"),
        *ROOT.glob("notebooks/*.ipynb"),
        *ROOT.glob("notebooks/*.md"),
        ROOT / "README.md",
        ROOT / "pyproject.toml",
    ]
)

FORBIDDEN = {
    "a design or style document users do not have": re.compile(r"\b(DESIGN|STYLE)\.md\b", re.IGNORECASE),
    "a shared folder users do not have": re.compile(r"(\.\./|\b)shared/|\bshared folder\b|\bteam'?s\b", re.IGNORECASE),
    "an internal label for a paper": re.compile(
        r"\bseeds?\s+(0\d\d|00x)\b|\bseeds/|\b00[0-9]/00[0-9]\b|\b(in|see|from) the seeds\b", re.IGNORECASE
    ),
}
SECTION = re.compile(r"\bsection\s+\d", re.IGNORECASE)
CITATION = re.compile(r"et al\.|\b(19|20)\d\d\b")
"""A line that names a section must cite the paper it belongs to (authors or year)."""


def _text(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)


def _offences(text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        found += [f"line {number}: {what}: {line.strip()}" for what, pattern in FORBIDDEN.items() if pattern.search(line)]
        if SECTION.search(line) and not CITATION.search(line):
            found.append(f"line {number}: a section of a document that is not cited: {line.strip()}")
    return found


def test_the_scan_covers_every_kind_of_user_file():
    suffixes = {path.suffix for path in USER_FILES}
    assert {".py", ".toml", ".ipynb", ".md"} <= suffixes
    assert len([p for p in USER_FILES if p.suffix == ".ipynb"]) >= 4


@pytest.mark.parametrize("path", USER_FILES, ids=[str(p.relative_to(ROOT)) for p in USER_FILES])
def test_user_text_names_papers_and_files_the_user_has(path):
    assert _offences(_text(path)) == []


@pytest.mark.parametrize(
    "line",
    [
        "fit `efficiency` (DESIGN.md section 4)",
        "see STYLE.md",
        "as in ../shared/notes",
        "in the team's shared folder",
        "(Assran et al. 2018, seed 002/003)",
        "the workshop version (seed 00x)",
        "the survey in the seeds",
        "the figures of section 4",
    ],
)
def test_the_scan_catches_internal_labels_and_references(line):
    assert _offences(line)


@pytest.mark.parametrize(
    "line",
    [
        'seed = 0',
        "seed : numpy.random.SeedSequence",
        "mean over seeds 0 to 9",
        "replications over the seeds are averaged",
        "each seed's value, in the order of the seeds",  # several seeds of a run, not a folder of papers
        "Overlap SGP (Assran et al. 2019, section 3)",
        '2019, "BERT: Pre-training of Deep Bidirectional Transformers", Section 3,',
        "the flows that shared links only with the ended ones",
    ],
)
def test_the_scan_leaves_legitimate_text_alone(line):
    assert _offences(line) == []


# --- numbers and comparisons in the notebooks' prose -----------------------------------

CLAIM = re.compile(
    r"\d|\b(faster|slower|quicker|shorter|longer|sooner|later|within|up to|twice|half|percent|more|less|fewer|than|about|most|least)\b",
    re.IGNORECASE,
)
"""A digit or a comparison: a claim about numbers."""

NOT_A_CLAIM = [
    (re.compile(r"`[^`]*`"), "`…`"),  # code and formulas
    (re.compile(r"\b(ICML|NeurIPS|ICLR|SysML|SIGCOMM) \d{4}\b"), "VENUE"),  # a paper's venue and year
    (re.compile(r"\bResNet-\d+\b"), "MODEL"),  # a model's name
]
"""Numbers that are names, with what stands in for them."""

SET_UP_BY_CODE = {
    ("02_slow_nodes", "One node computes `…` times slower than the others."): ['f"cluster.slow_nodes.{SLOW}={factor}"'],
    (
        "03_paper_table",
        "over 10 Gb/s Ethernet (Assran et al., \"Stochastic Gradient Push for Distributed Deep Learning\", VENUE).",
    ): ['load("paper-resnet50-10gbe")'],  # the preset's network; its 10 Gb/s are checked in test_presets_words.py
    ("04_your_own_model", "on the 8x8 digits images"): ["(1797, 1, 8, 8)"],
    ("04_your_own_model", "on 8 nodes of a 10 Gb/s cluster"): ['"cluster": {"nodes": 8}', '"topology": "star-10gbe"'],
    ("04_your_own_model", "make the push-sum weights drift from 1"): ["mine.weights.min()", "mine.weights.max()"],
    ("04_your_own_model", "Here node 2 is four times slower in iterations 10 to 20 only."): [
        "0.4 if node == 2 and 10 <= iteration <= 20 else 0.1"
    ],
}
"""Sentences of prose with a number, each with the code that makes it true (which the notebook must hold)."""

NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))


def _sentences(markdown: str) -> list[str]:
    text = markdown.replace("\n", " ")
    for pattern, name in NOT_A_CLAIM:
        text = pattern.sub(name, text)
    return [s for s in re.split(r"(?<=[.:;!?])\s+", text) if s]


def _claims(path: Path) -> list[str]:
    cells = nbformat.read(path, as_version=4).cells
    return [s for cell in cells if cell.cell_type == "markdown" for s in _sentences(cell.source) if CLAIM.search(s)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_prose_states_numbers_only_where_code_computes_or_sets_them(path):
    code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    unchecked = []
    for sentence in _claims(path):
        allowed = [fragments for (stem, phrase), fragments in SET_UP_BY_CODE.items() if stem == path.stem and phrase in sentence]
        if not allowed:
            unchecked.append(sentence)
        for fragments in allowed:
            assert all(fragment in code for fragment in fragments), (sentence, fragments)
    assert unchecked == [], "build these sentences from the computed values in a code cell (or list the code that sets them)"


def test_every_listed_sentence_is_still_in_its_notebook():
    claims = {path.stem: " ".join(_claims(path)) for path in NOTEBOOKS}
    assert [key for key in SET_UP_BY_CODE if key[1] not in claims.get(key[0], "")] == []


def test_the_claim_scan_flags_numbers_and_comparisons():
    assert _sentences("The gossip rows are predicted within a few to 15 percent.")
    assert all(CLAIM.search(s) for s in _sentences("SGP is faster. About 82 ms."))
    assert not any(CLAIM.search(s) for s in _sentences("Ring AllReduce runs `2 (p - 1)` steps (Assran et al., ICML 2019) of ResNet-50."))
