"""The router's commands: complexity_scores, evaluate_router --json, train_router's artefact."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from routerlab import metrics
from routerlab.artefact import build_artefact
from routerlab.data import gsm8k_split
from routing.complexity import ARTEFACT, get_estimator

PROMPTS = [
    "What is the capital of France?",
    'A prompt with "quotes", commas, and\na second line',
    "",
    "Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:",
    "Tom has 3 apples and buys twice as many. He gives half away. How many are left?",
]


def _write_csv(path: Path, prompts: list[str], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh)
        out.writerow(["id", "prompt", "label"])
        out.writerows([i, p, "x"] for i, p in enumerate(prompts))
    return path


def _scores(path: Path | str, **opts: str) -> list[list[str]]:
    out = io.StringIO()
    call_command("complexity_scores", str(path), stdout=out, **opts)
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_complexity_scores_one_row_per_input_row_in_order(tmp_path):
    """Every input row comes back once, in order, with the production estimator's score."""
    rows = _scores(_write_csv(tmp_path / "in.csv", PROMPTS))
    assert rows[0] == ["prompt", "score"]
    assert [r[0] for r in rows[1:]] == PROMPTS
    est = get_estimator("learned")
    assert [float(r[1]) for r in rows[1:]] == [
        pytest.approx(est.score(p).value, abs=1e-6) for p in PROMPTS
    ]
    assert len({r[1] for r in rows[1:]}) > 1


def test_complexity_scores_with_part_names_the_part_of_each_row(tmp_path):
    """--with-part adds the part; the default output stays prompt,score."""
    rows = _scores(_write_csv(tmp_path / "in.csv", PROMPTS), with_part=True)
    assert rows[0] == ["prompt", "score", "part"]
    est = get_estimator("learned")
    assert [r[2] for r in rows[1:]] == [est.score(p).part for p in PROMPTS]
    assert {"chat:smalltalk", "multiple-choice", "word-problem"} <= {r[2] for r in rows[1:]}


def test_complexity_scores_other_estimator(tmp_path):
    """--estimator picks the baseline to score with."""
    rows = _scores(_write_csv(tmp_path / "in.csv", PROMPTS), estimator="length")
    length = get_estimator("length")
    assert [float(r[1]) for r in rows[1:]] == [
        pytest.approx(length.score(p).value, abs=1e-6) for p in PROMPTS
    ]


def test_complexity_scores_reads_a_byte_order_mark_and_long_prompts(tmp_path):
    """A spreadsheet's UTF-8 BOM and a prompt beyond csv's default field limit are read."""
    long = "Summarise this document. " * 10_000  # 250 KB, csv's default limit is 128 KiB
    rows = _scores(_write_csv(tmp_path / "in.csv", ["héllo", long], encoding="utf-8-sig"))
    assert [r[0] for r in rows[1:]] == ["héllo", long]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"a,b\n1,2\n", "no `prompt` column"),
        (b"prompt\n\xff\xfe bad bytes\n", "not UTF-8"),
        (b'prompt\nfine\n"unterminated\nrow, 3\n', "not valid CSV"),
    ],
)
def test_complexity_scores_bad_input_is_a_clear_error(tmp_path, content, message):
    """A missing file, no prompt column, other encodings, broken CSV: one clear line, no rows."""
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("complexity_scores", str(path), stdout=out)
    assert out.getvalue() == ""


def test_complexity_scores_unknown_estimator(tmp_path):
    """An unknown estimator name is refused before reading anything."""
    with pytest.raises(CommandError, match="nope"):
        _scores(tmp_path / "missing.csv", estimator="nope")


def test_complexity_scores_from_standard_input():
    """`-` reads the CSV from standard input (the command run as a user runs it)."""
    data = "prompt\nhi\n" + '"two\nlines"\n'
    done = subprocess.run(
        [sys.executable, "manage.py", "complexity_scores", "-"],
        input=data.encode(),
        capture_output=True,
        cwd=settings.BASE_DIR,
        check=True,
    )
    rows = list(csv.reader(io.StringIO(done.stdout.decode())))
    assert [r[0] for r in rows] == ["prompt", "hi", "two\nlines"]


def test_evaluate_router_json_reports_every_baseline(tiny_data, tmp_path):
    """--json: per data set, the learned estimator and the three baselines, with curves."""
    out = io.StringIO()
    curves = tmp_path / "curves.json"
    call_command(
        "evaluate_router", data=str(tiny_data), folds=2, json=True, no_dollars=True,
        curves=str(curves), stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    assert json.loads(curves.read_text()) == result
    assert set(result["datasets"]) == {"gsm8k-test", "mmlu-heldout-subjects"}
    for block in result["datasets"].values():
        estimators = block["estimators"]
        assert set(estimators) == {"learned", "random", "length", "heuristic"}
        assert estimators["random"]["seeds"] == 10
        for res in estimators.values():
            assert len(res["curve"]) == 11 and 0 <= res["cpt50"] <= res["cpt80"] <= 1
    _, test = gsm8k_split(tiny_data)
    shipped = [get_estimator("learned").score(r.prompt).value for r in test]
    weak, strong = [r.weak_correct for r in test], [r.strong_correct for r in test]
    learned = result["datasets"]["gsm8k-test"]["estimators"]["learned"]
    assert learned["apgr"] == pytest.approx(metrics.apgr(shipped, weak, strong))


def test_evaluate_router_reports_per_part_and_per_shape(tiny_data, tmp_path):
    """Each data set says which parts scored its rows (rows, shape, APGR), and the chat
    shape, which has no labels, gets the sanity suite, the agreement with the heuristic and
    the labelled proxies, printed in the text table as well."""
    out = io.StringIO()
    call_command(
        "evaluate_router", data=str(tiny_data), folds=2, json=True, no_dollars=True,
        curves=str(tmp_path / "c.json"), stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    gsm, mmlu = result["datasets"]["gsm8k-test"], result["datasets"]["mmlu-heldout-subjects"]
    assert (gsm["shape"], mmlu["shape"]) == ("word_problem", "multiple_choice")
    assert "Mixtral-8x7B vs GPT-4" in gsm["source"]
    parts = {**gsm["parts"], **mmlu["parts"]}
    assert sum(p["rows"] for p in gsm["parts"].values()) == gsm["rows"]
    assert sum(p["rows"] for p in mmlu["parts"].values()) == mmlu["rows"]
    assert parts["multiple-choice"]["shape"] == "multiple_choice"
    assert 0 < parts["multiple-choice"]["apgr"] < 2
    chat = result["chat"]
    assert chat["sanity"]["learned"]["required_ok"] == chat["sanity"]["learned"]["required"]
    assert chat["sanity"]["length"]["failed"]
    assert chat["heuristic_agreement"]["heuristic"] == pytest.approx(1.0)
    assert set(chat["proxies"]) == {"mmlu-stems", "gsm8k-test"}
    text = io.StringIO()
    call_command(
        "evaluate_router", data=str(tiny_data), folds=2, no_dollars=True,
        curves=str(tmp_path / "c.json"), stdout=text,
    )  # fmt: skip
    assert "learned part multiple-choice" in text.getvalue()
    assert "sanity learned    required pairs 360/360" in text.getvalue()


def test_training_rebuilds_the_shipped_artefact_byte_for_byte(tmp_path):
    """train_router's fit on the shared data gives exactly the committed learned_v3.json."""
    rebuilt = tmp_path / ARTEFACT.name
    build_artefact(artefact=rebuilt, report=None)
    assert rebuilt.read_bytes() == ARTEFACT.read_bytes()
