"""Data split rules and the shipped model's reported numbers (reads ../shared/data)."""

import json

import pytest

from routerlab import metrics
from routerlab.data import (
    ENV_VAR,
    data_dir,
    gsm8k_split,
    is_gsm8k_test,
    load_mmlu,
    subject_folds,
)
from routerlab.train import REPORT
from routing.complexity import get_estimator


def test_gsm8k_split_rule():
    train, test = gsm8k_split()
    assert len(test) == 257 and len(train) == 1050
    assert all(is_gsm8k_test(r.prompt) for r in test)
    assert not any(is_gsm8k_test(r.prompt) for r in train)


def test_subject_folds_deterministic_and_complete():
    domains = sorted({r.domain for r in load_mmlu()})
    folds = subject_folds(domains, 5)
    assert folds == subject_folds(list(reversed(domains)), 5)
    assert set(folds) == set(domains) and set(folds.values()) == set(range(5))


def test_other_fold_assignments_and_leave_one_subject_out():
    domains = sorted({r.domain for r in load_mmlu()})
    canonical, other = subject_folds(domains, 5), subject_folds(domains, 5, seed=1)
    assert other != canonical and sorted(other.values()) == sorted(canonical.values())
    loso = subject_folds(domains, len(domains))
    assert sorted(loso.values()) == list(range(len(domains)))  # one subject per fold


def test_report_robustness_is_consistent_with_the_canonical_folds():
    report = json.loads(REPORT.read_text())
    held, robust = report["mmlu-heldout-subjects"], report["mmlu-robustness"]
    assert robust["assignment_apgr"][0] == held["apgr"]  # seed 0 is the canonical split
    assert robust["assignment_mean_apgr"] == pytest.approx(
        sum(robust["assignment_apgr"]) / len(robust["assignment_apgr"]), abs=1e-4
    )
    assert robust["subjects"] == 45 and 0.5 < robust["loso"]["apgr"] < 1


def test_env_var_overrides_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir("/x") != tmp_path


def test_shipped_model_reproduces_reported_gsm8k_test_apgr():
    report = json.loads(REPORT.read_text())
    _, test = gsm8k_split()
    est = get_estimator("learned")
    scores = [est.score(r.prompt).value for r in test]
    weak = [r.weak_correct for r in test]
    strong = [r.strong_correct for r in test]
    assert metrics.apgr(scores, weak, strong) == pytest.approx(
        report["gsm8k-test"]["apgr"], abs=0.01
    )
    assert metrics.cpt(scores, weak, strong, 0.5) == pytest.approx(
        report["gsm8k-test"]["cpt50"], abs=0.02
    )
