"""`riskscore simulate`: policies, the replay's information rule, its arithmetic, the CLI, and the
demo truth's revenue column.

One small demo store with truth (6,000 shipments) is shared; the replays run a few weeks with
a fixed-shape model so the file stays fast.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import ingest_demo

from riskscore.features.dataset import History, load_history
from riskscore.features.store import Store
from riskscore.synth import generate
from riskscore.training.config import TrainConfig
from riskscore.training.policies import (
    Candidates,
    Exploit,
    Explore,
    Hybrid,
    Random,
    Revealed,
    parse_policies,
    parse_policy,
    segment_of,
)
from riskscore.training.replay import WEEK, Plan, replay, totals
from riskscore.training.simulate import (
    SimulationConfig,
    SimulationError,
    ThreadedTrainConfig,
    plan_weeks,
    simulate,
)
from riskscore.training.train import train
from riskscore.training.universe import universe_of

FAST = ThreadedTrainConfig(shape_search=False, seed=3, threads=1)
WEEKS = 6


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, truth.parquet) of 6,000 demo shipments."""
    root = tmp_path_factory.mktemp("simulate")
    generate(root / "data", declarations=6_000, seed=7, truth=True)
    ingest_demo(root / "data", root / "store")
    return root / "store", root / "data" / "truth.parquet"


def _week(n: int = 200, seed: int = 0) -> Candidates:
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "hs_code": rng.choice(["100630", "240220", "851713"], n),
            "origin_country": rng.choice(["EC", "CN", "AE"], n),
        }
    )
    return Candidates(frame, raw, 1 / (1 + np.exp(-raw)))


# --------------------------------------------------------------------------------------------
# Policies


def test_exploit_selects_the_k_highest_scores():
    week = _week()
    chosen = Exploit().select(week, Revealed(), np.random.default_rng(0), 20)
    assert len(chosen) == 20
    assert set(chosen) == set(np.argsort(-week.raw)[:20])


def test_hybrid_keeps_the_top_share_and_draws_the_rest_below_it():
    week = _week()
    top10 = set(np.argsort(-week.raw)[:10])
    seen_random = set()
    for seed in range(20):
        chosen = Hybrid(0.5).select(week, Revealed(), np.random.default_rng(seed), 20)
        assert len(chosen) == len(set(chosen)) == 20
        assert top10 <= set(chosen)
        seen_random |= set(chosen) - top10
    # The other half is drawn from the rest: over 20 weeks far more than 10 distinct rows.
    assert len(seen_random) > 60


def test_random_ignores_the_scores():
    week = _week()
    flipped = Candidates(week.frame, -week.raw, 1 - week.score)
    a = Random().select(week, Revealed(), np.random.default_rng(5), 20)
    b = Random().select(flipped, Revealed(), np.random.default_rng(5), 20)
    assert list(a) == list(b) and len(set(a)) == 20
    # Each row is chosen with probability k/n = 0.1, the top-scored ones too.
    top = np.argsort(-week.raw)[:20]
    draws = [Random().select(week, Revealed(), np.random.default_rng(s), 20) for s in range(400)]
    share_top = np.mean([np.isin(top, d).mean() for d in draws])
    assert abs(share_top - 0.1) < 0.02  # sd of the mean is about 0.0034


def test_explore_spends_its_share_on_the_least_inspected_segments():
    week = _week()
    segments = segment_of(week.frame)
    revealed = Revealed()
    known = segments[0]
    revealed.add(np.array([known] * 500), np.zeros(500))  # one segment well inspected
    chosen = Explore(0.5).select(week, revealed, np.random.default_rng(0), 20)
    assert len(set(chosen)) == 20
    top10 = set(np.argsort(-week.raw)[:10])
    explored = sorted(set(chosen) - top10)
    assert len(explored) == 10
    assert not any(segments[i] == known for i in explored)
    # Spread: the in-week count makes the picks visit several segments, not one.
    assert len({segments[i] for i in explored}) >= 4
    # With no bonus it is exploit.
    greedy = Explore(0.5, bonus=0.0).select(week, revealed, np.random.default_rng(0), 20)
    assert set(greedy) == set(np.argsort(-week.raw)[:20])


def test_policy_names_are_parsed_strictly():
    assert parse_policy("exploit").name == "exploit"
    assert parse_policy("hybrid:0.10").name == "hybrid:0.1"
    assert isinstance(parse_policy("explore:0.2"), Explore)
    for bad in ("hybrid:abc", "hybrid", "hybrid:1.5", "explore:-0.1", "greedy", "random:0.1"):
        with pytest.raises(ValueError, match="exploit, random, hybrid:E or explore:E"):
            parse_policy(bad)
    with pytest.raises(ValueError, match="given twice"):
        parse_policies(["hybrid:0.1", "hybrid:0.10"])


# --------------------------------------------------------------------------------------------
# The replay


@dataclass
class Recording:
    """A policy that selects as `inner` does and remembers the ids it selected each week."""

    inner: object
    name: str = "recording"
    selected: list[list[str]] = field(default_factory=list)

    def select(self, week, revealed, rng, k):
        chosen = self.inner.select(week, revealed, rng, k)
        self.selected.append(week.frame["id"].iloc[chosen].astype(str).tolist())
        return chosen


@pytest.fixture(scope="module")
def replayed(demo):
    """One exploit replay of 6 weeks, retraining after week 3, every training history kept."""
    store, truth_path = demo
    history = load_history(Store(store))
    records = history.declarations
    weeks = plan_weeks(records["date"], None, WEEKS)
    dates = records["date"]
    period = ((dates >= weeks[0]) & (dates < weeks[-1] + WEEK)).to_numpy()
    universe = universe_of(records, truth_path, period)
    before = History(records[dates < weeks[0]].reset_index(drop=True), history.seizures, None, {})
    model = train(before, FAST).model
    seen: list[History] = []

    def trainer(h: History, config: TrainConfig):
        seen.append(h)
        return train(h, config)

    policy = Recording(Exploit())
    plan = Plan(weeks, 0.1, 3, True, 3, FAST)
    results = replay(policy, records, history.seizures, universe, plan, model, trainer)
    return {
        "weeks": weeks,
        "results": results,
        "selected": policy.selected,
        "histories": seen,
        "truth": pd.read_parquet(truth_path),
        "clearance": Store(store).read_unique("clearance"),
    }


def test_a_retrain_sees_outcomes_only_of_what_the_policy_selected(replayed):
    (history,) = replayed["histories"]  # week 3 only: no retrain after the last week
    weeks, results = replayed["weeks"], replayed["results"]
    assert results[2].retrained and not any(r.retrained for r in results[:2] + results[3:])
    frame = history.declarations
    end = weeks[3]
    assert frame["date"].max() < end
    inside = frame[frame["date"] >= weeks[0]]
    selected = {i for week in replayed["selected"][:3] for i in week}
    revealed = inside["label_source"] == "inspection"
    assert set(inside.loc[revealed, "id"].astype(str)) == selected
    truth = replayed["truth"].set_index("id")["illicit"]
    labels = inside.set_index(inside["id"].astype(str))["label"]
    assert (labels[list(selected)] == truth[list(selected)]).all()
    others = labels.drop(list(selected))
    assert (others == 0).all()
    # The point of the rule: offences the policy did not select stay unknown (0), though the
    # store's historical inspections and seizure links know some of them.
    assert truth[others.index].sum() > 0
    assert inside.loc[~revealed, "illicit"].isna().all()
    # Before the period: as recorded (real labels, positives included).
    assert frame.loc[frame["date"] < weeks[0], "label"].sum() > 0


def test_weekly_figures_match_a_recount_from_the_truth(replayed):
    truth = replayed["truth"].merge(replayed["clearance"][["id", "date"]], on="id")
    for start, week, ids in zip(
        replayed["weeks"], replayed["results"], replayed["selected"], strict=True
    ):
        days = truth[(truth["date"] >= start) & (truth["date"] < start + WEEK)]
        picked = truth[truth["id"].isin(ids)]
        assert week.week == str(start.date())
        assert week.population == len(days) and week.inspected == len(ids) == round(0.1 * len(days))
        assert week.offences == days["illicit"].sum()
        assert week.hits == picked["illicit"].sum()
        assert week.precision == pytest.approx(picked["illicit"].mean())
        if week.offences:
            assert week.recall == pytest.approx(week.hits / days["illicit"].sum())
        assert week.revenue == pytest.approx(picked.loc[picked["illicit"] == 1, "revenue"].sum())
        assert week.model_hits == week.hits  # exploit selects the model's own top k
    total = totals(replayed["results"])
    hits = sum(w.hits for w in replayed["results"])
    assert total["precision"] == pytest.approx(hits / sum(w.inspected for w in replayed["results"]))
    assert total["recall"] == pytest.approx(hits / sum(w.offences for w in replayed["results"]))


def test_the_labelled_universe_uses_recorded_outcomes_only(demo):
    store, _ = demo
    config = SimulationConfig(
        capacity=0.1, policies=("exploit", "random"), retrain_every=0, weeks=3, train=FAST
    )
    result = simulate(store, config).to_dict()
    assert result["universe"] == "labelled" and "Labelled universe" in result["universe_note"]
    declared = Store(store).read_unique("declarations")
    for week in result["policies"]["random"]["weeks"]:
        start = pd.Timestamp(week["week"])
        rows = declared[(declared["date"] >= start) & (declared["date"] < start + WEEK)]
        assert week["population"] == len(rows)
        assert week["offences"] == rows["illicit"].sum()
        assert week["inspected"] == round(0.1 * len(rows))
    assert result["policies"]["exploit"]["total"]["retrains"] == 0


def test_a_window_without_data_is_a_clear_error(demo):
    store, _ = demo
    with pytest.raises(SimulationError, match="no history before it"):
        simulate(store, SimulationConfig(start=pd.Timestamp("2023-06-05"), train=FAST))
    with pytest.raises(SimulationError, match="no whole week of records"):
        simulate(store, SimulationConfig(start=pd.Timestamp("2026-03-02"), train=FAST))


# --------------------------------------------------------------------------------------------
# The command line


def test_simulate_writes_the_summary_and_the_page(demo, invoke, tmp_path):
    store, truth = demo
    out = tmp_path / "sim"
    result = invoke(
        "simulate", "--store", str(store), "--truth", str(truth), "--weeks", "4",
        "--retrain-every", "2", "--capacity", "0.1", "--policy", "exploit",
        "--policy", "hybrid:0.5", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["universe"] == "truth" and summary["capacity"] == 0.1
    assert summary["retrain_every"] == 2 and summary["weeks"] == 4
    for key in ("from", "to", "seconds", "universe_note"):
        assert key in summary
    assert list(summary["policies"]) == ["exploit", "hybrid:0.5"]
    for run in summary["policies"].values():
        assert len(run["weeks"]) == 4
        for week in run["weeks"]:
            assert {"week", "inspected", "hits", "precision", "recall", "revenue"} <= set(week)
        assert set(run["total"]) >= {"precision", "recall", "revenue"}
        assert [w["retrained"] for w in run["weeks"]] == [False, True, False, False]
    page = (out / "simulation.html").read_text()
    assert page.count("<img") == 2 and "Truth universe" in page and "hybrid:0.5" in page
    assert "hybrid:0.5" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--policy", "hybrid:abc"), "--policy 'hybrid:abc'"),
        (("--policy", "greedy"), "exploit, random, hybrid:E or explore:E"),
        (("--capacity", "1.5"), "--capacity 1.5"),
        (("--capacity", "0"), "above 0 and below 1"),
        (("--from", "June"), "--from 'June'"),
    ],
)
def test_bad_options_are_one_error_line(demo, invoke, tmp_path, args, says):
    store, _ = demo
    result = invoke("simulate", "--store", str(store), "--out", str(tmp_path / "x"), *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_bad_store_or_truth_is_one_error_line(demo, invoke, tmp_path):
    store, truth = demo
    partial = tmp_path / "partial.csv"
    pd.read_parquet(truth).head(100).to_csv(partial, index=False)
    no_illicit = tmp_path / "no_illicit.csv"
    pd.read_parquet(truth)[["id"]].to_csv(no_illicit, index=False)
    cases = [
        (tmp_path / "nowhere", None, "no such store"),
        (store, partial, "have no row in the truth file"),
        (store, no_illicit, "needs columns id and illicit"),
        (store, tmp_path / "absent.parquet", "no such file"),
    ]
    for where, truth_file, says in cases:
        extra = ("--truth", str(truth_file)) if truth_file else ()
        result = invoke("simulate", "--store", str(where), "--out", str(tmp_path / "o"), *extra)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error:") and says in result.stderr, result.stderr
        assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------
# The demo truth's revenue column


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


def test_truth_revenue_is_what_inspection_would_recover(tmp_path):
    summary = generate(tmp_path, declarations=3_000, seed=5, truth=True)
    truth = pd.read_parquet(summary.truth_path)
    declared = pd.read_parquet(summary.declarations_path)
    paid = truth["revenue"] > 0
    assert paid.any()
    assert (truth.loc[paid, "illicit"] == 1).all()
    assert (truth.loc[paid, "pattern"] == "undervaluation").all()
    assert (truth.loc[truth["pattern"] == "undervaluation", "revenue"] > 0).all()
    both = declared.merge(truth, on="id")
    assert len(both) == len(declared)
    assert np.array_equal(both["revenue_recovered"].to_numpy(), both["revenue"].to_numpy())
    # No extra random draw: every other file is as before the column (digests taken then).
    clearance = pd.read_parquet(summary.clearance_path)
    seizures = summary.seizures_csv_path.read_bytes()
    assert _digest(clearance) == "ab0a6d3f17c702e5"
    assert _digest(declared) == "4533b15b43d0e1b8"
    assert hashlib.sha256(seizures).hexdigest()[:16] == "1380715994e70714"


def test_synth_writes_truth_only_when_asked(invoke, tmp_path):
    assert invoke("synth", "--out", "plain", "--declarations", "300").exit_code == 0
    assert not (tmp_path / "plain" / "truth.parquet").exists()
    assert invoke("synth", "--out", "full", "--declarations", "300", "--truth").exit_code == 0
    truth = pd.read_parquet(tmp_path / "full" / "truth.parquet")
    assert len(truth) == 300 and "revenue" in truth
