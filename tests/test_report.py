"""The analyst report: renders in headless Chromium, self-contained, readable, and shows the
planted demo patterns; the audit's flag rule; `riskscore report` end to end."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from factories import demo_store
from PIL import Image
from typer.testing import CliRunner

from riskscore.cli import report as cli_report
from riskscore.models import registry
from riskscore.reports.audit import AuditRule, disparity_table
from riskscore.reports.build import SECTION_IDS, logged_report, render_report, write_report
from riskscore.settings import Settings
from riskscore.training.job import run_training

# Planted pattern (docs/demo-data.md) -> features any of which should rank in the top 15.
PATTERN_FEATURES = {
    "rice_cocaine": {"seizure_lift_hs4_origin", "seizure_lift_hs4_departure", "hs4", "hs6"},
    "cigarette_hub": {
        "departure_country",
        "origin_differs",
        "seizure_lift_hs4_departure",
        "seizure_lift_route",
        "route_hit_rate",
    },
    "undervaluation": {"value_vs_reference", "log_unit_value"},
    "repeat_offender": {"importer_hit_rate", "importer_offences", "importer_days_since_offence"},
    "new_trader": {"importer_days_known", "importer_declarations"},
    "parcel_drugs": {"mode_origin_hit_rate", "log_weight", "seizure_lift_mode"},
    "description_mismatch": {"desc_hs_match", "desc_vague"},
    "timber_origin": {"origin_hit_rate", "origin_country", "seizure_lift_hs4_origin", "hs6"},
}


class Tables(HTMLParser):
    """Every table with an id as rows of cell texts, and every <img> and <section>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str | None]] = []
        self.sections: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = found["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(found)
        elif tag == "section" and found.get("id"):
            self.sections.append(str(found["id"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data

    def column(self, table: str, header: str) -> list[str]:
        head, *rows = self.tables[table]
        j = head.index(header)
        return [row[j] for row in rows]


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Demo data -> store -> a registered model (MLflow in tmp) -> its report, logged."""
    root = tmp_path_factory.mktemp("report")
    data, store = demo_store(root, declarations=20_000, seed=7, workbook=True)
    mlruns = root / "mlruns"
    tracking_uri = f"sqlite:///{mlruns / 'mlflow.db'}"
    settings = Settings(store_dir=store, mlruns_dir=mlruns, tracking_uri=tracking_uri)
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; undone after this module so later
    # tests do not find their models in this registry.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        trained = run_training(store, settings)
        assert trained.registered is not None
        uri = f"models:/{settings.model_name}/{trained.registered.version}"
        written = write_report(uri, store, root / "report.html", settings, log=True)
        yield {
            "root": root,
            "store": store,
            "settings": settings,
            "registered": trained.registered,
            "uri": uri,
            "written": written,
            "html": written.path.read_text(encoding="utf-8"),
        }


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


# A probe for the test copy only (the report itself has no script): after load, count the
# images the browser could not decode.
PROBE = (
    '<script>window.addEventListener("load",function(){var i=document.images,b=0;'
    "for(var k=0;k<i.length;k++){if(!i[k].complete||i[k].naturalWidth===0)b++;}"
    'document.body.setAttribute("data-images",i.length);'
    'document.body.setAttribute("data-broken",b);});</script>'
)
BROWSER_ERRORS = re.compile(r"Uncaught|Failed to load resource|:CONSOLE\(|net::ERR_")


def test_report_renders_in_headless_chromium(demo, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    report = demo["written"].path
    shot = tmp_path / "report.png"
    taken = _chromium(
        f"--screenshot={shot}", "--window-size=1400,6000", report.as_uri(), profile=tmp_path / "p1"
    )
    assert shot.exists(), taken.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype="float64")
    assert pixels.shape == (6000, 1400)
    assert pixels.std() > 20, "the screenshot is blank"
    assert (pixels < 200).mean() > 0.05, "the screenshot is nearly empty"

    probe = tmp_path / "probe.html"
    probe.write_text(demo["html"].replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dumped = _chromium(
        "--virtual-time-budget=10000", "--dump-dom", probe.as_uri(), profile=tmp_path / "p2"
    )
    dom = parse(dumped.stdout)
    assert dom.sections == list(SECTION_IDS)
    body = re.search(r"<body[^>]*>", dumped.stdout)
    assert body is not None
    expected = len(parse(demo["html"]).images)
    assert f'data-images="{expected}"' in body.group(0)
    assert 'data-broken="0"' in body.group(0), "the browser could not decode an image"
    errors = [line for line in dumped.stderr.splitlines() if BROWSER_ERRORS.search(line)]
    errors += [line for line in taken.stderr.splitlines() if BROWSER_ERRORS.search(line)]
    assert not errors


def test_report_is_self_contained_with_titled_sections_and_embedded_pngs(demo):
    html = demo["html"]
    page = parse(html)
    assert page.sections == list(SECTION_IDS)
    for section_id in SECTION_IDS:
        assert re.search(rf'<section id="{section_id}">\s*<h2>[^<]+</h2>', html), section_id
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert len(page.images) >= 14  # importance, beeswarm, 4 dependence, performance, seizures...
    for image in page.images:
        src = str(image["src"])
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = Image.open(io.BytesIO(png)).size
        assert width > 300 and height > 200
        assert image.get("alt"), "every image needs alt text"


def test_tables_name_hs_headings_and_countries(demo):
    page = parse(demo["html"])
    chapters = page.column("segment-HS-chapter", "HS chapter")
    assert chapters and all(re.fullmatch(r"\d{2} \([a-z ,]+\)", c) for c in chapters), chapters
    origins = page.column("audit-origin", "origin country")
    assert origins and not any(re.fullmatch(r"[A-Z]{2}", c) for c in origins), origins
    cells = page.column("seizure-highest", "what, from where")
    assert any(
        re.search(r"\b1006 \(cereals\) from (Ecuador|Colombia|Peru|Brazil)\b", c) for c in cells
    )
    assert not any(re.search(r"\b[A-Z]{2}\b", c) for c in cells), cells
    regions = page.column("segment-origin-region", "origin region")
    assert "Latin America and the Caribbean" in regions


def test_planted_patterns_are_visible_in_the_importance_table(demo):
    page = parse(demo["html"])
    features = page.column("importance-features", "feature")
    top = set(features[:15])
    missing = {p: f for p, f in PATTERN_FEATURES.items() if not f & top}
    assert not missing, f"patterns without a feature in the top 15 {features[:15]}: {missing}"
    criteria = page.column("importance-criteria", "TFA criterion")
    assert {
        "compliance record of traders",
        "HS code",
        "seizure intelligence",
        "value",
    } <= set(criteria[:5]), criteria


def test_seizure_intelligence_shows_the_planted_routes(demo):
    page = parse(demo["html"])
    cells = page.column("seizure-highest", "what, from where")
    kind = dict(zip(cells, page.column("seizure-highest", "criteria cell"), strict=True))

    def shown(pattern: str, cell_type: str) -> bool:
        found = [c for c in cells if re.fullmatch(pattern, c)]
        return bool(found) and all(kind[c] == cell_type for c in found)

    # Cocaine in rice from South America.
    assert shown(r"1006 \(cereals\) from (Ecuador|Colombia|Peru|Brazil)", "HS heading x origin")
    # Cigarettes routed through a hub: the heading x country shipped from, not the origin.
    assert shown(
        r"2402 \(tobacco\) shipped from (United Arab Emirates|Singapore|Panama)",
        "HS heading x country shipped from",
    ), cells
    # Timber from Cameroon: no wood heading from Cameroon has the 30 declarations a year a cell
    # needs to rank (IntelConfig.min_traffic), so it ranks as Cameroon's route, whose seizures
    # are almost all timber.
    assert shown("from Cameroon, shipped direct", "route (origin to country shipped from)"), cells


def test_performance_reproduces_the_metrics_logged_at_training(demo):
    page = parse(demo["html"])
    assert "precision@5% equals the figure logged at training" in demo["html"]
    head, *rows = page.tables["capacity-metrics"]
    for row in rows:
        assert row[head.index("precision@n%")] == row[head.index("precision@n% logged at training")]


def test_report_is_logged_to_the_model_run_for_serving(demo):
    written, registered = demo["written"], demo["registered"]
    assert written.logged and written.model.run_id == registered.run_id
    registry.configure(demo["settings"])
    assert logged_report(registered.name, registered.version) == demo["html"]
    assert logged_report(registered.name, "999") is None


def test_report_without_the_history_keeps_every_section(demo):
    registry.configure(demo["settings"])
    model = registry.load_model(demo["uri"])
    html = render_report(model, None)
    page = parse(html)
    assert page.sections == list(SECTION_IDS)
    assert (
        page.column("importance-features", "feature")[0] == model.info["importance"][0]["feature"]
    )
    assert "needs the labelled history" in html


def test_audit_flags_a_group_selected_beyond_its_hit_rate():
    groups, selected, label = [], [], []
    # group: rows, selected, offences (exact counts, spread through the group)
    for name, rows, chosen, offences in (
        ("over-selected", 1000, 400, 20),  # selected 1.7x the average, offends below it
        ("justified", 1000, 400, 50),  # selected 1.7x the average, offends 2x
        ("ordinary", 4000, 600, 80),
        ("tiny", 30, 27, 0),  # too few rows to judge
    ):
        groups += [name] * rows
        selected += [i < chosen for i in range(rows)]
        label += [i % (rows // offences) == 0 if offences else False for i in range(rows)]
    table = disparity_table(groups, np.array(selected), np.array(label), AuditRule(1.5, 100))
    flagged = set(table.loc[table["flagged"], "group"])
    assert flagged == {"over-selected"}
    row = table.set_index("group").loc["over-selected"]
    assert row["selection_ratio"] > 1.5 * row["hit_ratio"]
    assert table.iloc[0]["group"] == "over-selected"  # flagged groups come first


@pytest.fixture
def report_cli(demo, monkeypatch):
    """`riskscore report` through a small app (cli.py wires the same register call)."""
    settings = demo["settings"]
    monkeypatch.setenv("RISKSCORE_STORE_DIR", str(settings.store_dir))
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(settings.mlruns_dir))
    monkeypatch.setenv("RISKSCORE_TRACKING_URI", str(settings.tracking_uri))
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_report.register(app)
    yield lambda *args: CliRunner().invoke(app, list(args))


def test_cli_report_writes_the_html(report_cli, tmp_path):
    out = tmp_path / "r.html"
    result = report_cli("report", "--out", str(out), "--no-log", "--from", "2025-10-01")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and out.exists()
    assert "evaluation window 2025-10-01 to" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "models:/no-such-model@champion"), "cannot resolve models:/no-such-model"),
        (("--from", "01/10/2025"), "give a date as YYYY-MM-DD"),
        (("--store", "/no/such/store"), "store /no/such/store not found"),
    ],
)
def test_cli_report_fails_with_one_clear_line(report_cli, tmp_path, args, message):
    result = report_cli("report", "--out", str(tmp_path / "r.html"), "--no-log", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_cli_drift_shows_every_input_against_the_reference(report_cli, demo):
    result = report_cli("drift", "--from", "2025-10-01", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    model = registry.load_model(demo["uri"])
    names = {row["feature"] for row in found["features"]}
    assert names == {*model.feature_names, "(score)"}
    assert found["date_from"] == "2025-10-01" and found["rows"] > 0
    assert "validation window" in found["reference"]
    assert all(row["psi"] >= 0 for row in found["features"])
    table = report_cli("drift", "--days", "60")
    assert table.exit_code == 0 and "largest drift on the score" in table.stdout
    empty = report_cli("drift", "--from", "2030-01-01", "--to", "2030-02-01")
    assert empty.exit_code == 2 and "no declarations from 2030-01-01" in empty.output


def test_the_report_has_the_learning_loop_sections(demo):
    model = registry.load_model(demo["uri"])
    html = render_report(model, demo["settings"].store_dir, start=pd.Timestamp("2025-10-01"))
    assert 'id="selection-bias"' in html and "No selection records in this window" in html
    assert 'id="drift"' in html and "Largest drift on the score" in html
