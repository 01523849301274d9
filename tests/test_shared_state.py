"""The stores of the service state, on each location they can have: the state dir's own files
(the default), one shared SQLite database (sqlite:///), and a shared PostgreSQL database
(RISKSCORE_DATABASE_URL, the session's real cluster): same answers, same failures."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from waiting import wait_for

from riskscore.database import SharedDatabase, engine_url, locate
from riskscore.features.outcomes import Outcome, OutcomeConflict, OutcomeStore, read_outcomes
from riskscore.files import StorageError
from riskscore.models.alert_book import AlertBook
from riskscore.models.alerts import WatchList
from riskscore.models.selection_log import COLUMNS, SelectionLog, read_selections
from riskscore.serving.audit import AuditLog, SharedAuditLog, audit_log
from riskscore.serving.keys import KeyStore, SharedKeyStore, key_store
from riskscore.settings import Settings

KINDS = ["files", "sqlite-url", "postgresql"]
SHARED = ["sqlite-url", "postgresql"]


def make_settings(kind: str, tmp_path: Path, request, **extra: object) -> Settings:
    url = None
    if kind == "sqlite-url":
        url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
    return Settings(
        state_dir=tmp_path / "var",
        database_url=url,
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlruns_dir=tmp_path / "mlruns",
        _env_file=None,
        **extra,
    )


@pytest.fixture(params=KINDS)
def settings(request, tmp_path) -> Settings:
    return make_settings(request.param, tmp_path, request)


@pytest.fixture(params=SHARED)
def shared_settings(request, tmp_path) -> Settings:
    return make_settings(request.param, tmp_path, request)


def query(settings: Settings, sql: str) -> list[tuple]:
    """Rows of the shared database, read past the stores."""
    engine = sqlalchemy.create_engine(engine_url(SharedDatabase(str(settings.database_url))))
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def outcomes(n: int, illicit: int = 1) -> list[Outcome]:
    return [Outcome(f"D{i}", "GB", illicit, 10.5 * i, "2025-03-01") for i in range(n)]


# -- outcomes -------------------------------------------------------------------------------------


def test_outcomes_duplicates_and_conflicts(settings):
    store = OutcomeStore(locate(settings).outcomes)
    assert store.add(outcomes(3)) == {"stored": 3, "duplicates": 0}
    assert store.add(outcomes(3)) == {"stored": 0, "duplicates": 3}
    with pytest.raises(OutcomeConflict, match="declaration D0 .* member GB; nothing was stored"):
        store.add([Outcome("NEW", "GB", 1, None, "2025-03-02"), *outcomes(3, illicit=0)])
    assert store.count() == 3
    store.close()

    stored = read_outcomes(locate(settings).outcomes).sort_values("declaration_id")
    assert stored["declaration_id"].tolist() == ["D0", "D1", "D2"]
    assert stored["revenue_recovered"].tolist() == [0.0, 10.5, 21.0]
    assert stored["illicit"].tolist() == [1, 1, 1]


_ADD_WHEN_TOLD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from riskscore.database import locate
    from riskscore.features.outcomes import Outcome, OutcomeStore
    from riskscore.settings import Settings

    settings = Settings(_env_file=None, state_dir=sys.argv[1], database_url=sys.argv[2] or None)
    store = OutcomeStore(locate(settings).outcomes)
    store.count()  # connected, tables made
    print("ready", flush=True)
    go = Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    rows = [Outcome(f"D{i}", "GB", 1, 10.5 * i, "2025-03-01") for i in range(300)]
    print(json.dumps(store.add(rows)), flush=True)
    """
)


def test_two_processes_storing_the_same_outcomes_store_them_once(settings, tmp_path):
    go = tmp_path / "go"
    args = [str(settings.state_dir), settings.database_url or "", str(go)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ADD_WHEN_TOLD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        answers.append(json.loads(out))
    assert sum(a["stored"] for a in answers) == 300
    assert sum(a["duplicates"] for a in answers) == 300
    assert len(read_outcomes(locate(settings).outcomes)) == 300


# -- API keys ------------------------------------------------------------------------------------


def test_key_files_stay_the_default(tmp_path, request):
    settings = make_settings("files", tmp_path, request)
    store = key_store(settings)
    assert isinstance(store, KeyStore) and store.path == settings.keys_file
    assert isinstance(audit_log(settings), AuditLog)


def test_shared_keys_create_revoke_and_authenticate_within_the_reload_interval(shared_settings):
    cli = key_store(shared_settings)
    assert isinstance(cli, SharedKeyStore)
    record, secret = cli.create(" gb ", analyst=True)
    assert (record.member, record.analyst, record.revoked_at) == ("GB", True, None)
    other, _ = cli.create("*")

    # Two servers: one reads the keys at most hourly, one at most every 0.2 s.
    hourly = key_store(shared_settings.model_copy(update={"reload_seconds": 3600}))
    often = key_store(shared_settings.model_copy(update={"reload_seconds": 0.2}))
    assert hourly.authenticate(secret) == record == often.authenticate(secret)
    assert hourly.authenticate(secret[:-1] + "x") is None  # the right id, not the right key
    assert hourly.authenticate("rsk_nothing") is None and hourly.authenticate(None) is None
    assert sorted(k.key_id for k in hourly.list()) == sorted([record.key_id, other.key_id])

    revoked = cli.revoke(record.key_id)
    assert revoked.revoked_at is not None
    assert cli.authenticate(secret) is None  # the server that revoked it: at once
    # Within its interval a server answers from the keys it read, not from the database ...
    assert hourly.authenticate(secret) == record
    # ... and once the interval is over it refuses the key.
    wait_for(lambda: often.authenticate(secret) is None, "the revocation to reach a server", 10)
    assert cli.revoke(record.key_id).revoked_at == revoked.revoked_at  # the first date kept
    with pytest.raises(KeyError):
        cli.revoke("nokey")
    listed = {k.key_id: k.active for k in hourly.list()}  # list reads the database
    assert listed == {record.key_id: False, other.key_id: True}


# -- audit trail ---------------------------------------------------------------------------------


def test_the_audit_trail_keeps_one_record_per_answer(settings):
    log = audit_log(settings)
    entries = [
        {"request_id": f"r{i}", "route": "/v1/score", "member": "GB", "key_id": "k1",
         "declarations": [{"id": f"D{i}", "score": 0.5, "channel": "red"}]}
        for i in range(2)
    ]  # fmt: skip
    for entry in entries:
        log.record(entry)
    log.close()
    if settings.database_url is None:
        lines = [
            json.loads(line)
            for path in sorted(settings.audit_dir.glob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]
    else:
        assert isinstance(log, SharedAuditLog)
        rows = query(settings, "SELECT request_id, route, member, key_id, time, entry "
                               "FROM audit_log ORDER BY seq")  # fmt: skip
        lines = [json.loads(row[5]) for row in rows]
        assert [row[:4] for row in rows] == [(f"r{i}", "/v1/score", "GB", "k1") for i in (0, 1)]
        assert [row[4] for row in rows] == [line["time"] for line in lines]
    assert [{k: v for k, v in line.items() if k != "time"} for line in lines] == entries


# -- alert book and selection records ------------------------------------------------------------


def test_alert_book_basics(settings):
    where = locate(settings)
    book = AlertBook(where.alerts)
    first = book.add({"origin": "EC"}, "red", "cocaine route", author="ana")
    book.save_watchlist(WatchList("suspects", "trader", frozenset({"IMP-1"})), who="ana")
    second = book.add({"importer": ["@suspects"]}, "yellow", "watch list", author="bob")
    assert (first.id, second.id) == ("A0001", "A0002")
    assert book.change(first.id, "ana", message="new route").message == "new route"
    book.save_watchlist(WatchList("suspects", "trader", frozenset({"IMP-2"})), who="bob")
    book.expire(second.id, "bob")
    assert [a.id for a in book.list(active_only=True)] == ["A0001"]
    assert book.revision() == 6  # every change of alerts and watch lists
    assert [h["action"] for h in book.history()] == ["add", "add", "change", "expire"]
    assert [h["action"] for h in book.watchlist_history("suspects")] == ["create", "replace"]
    assert book.watchlists()["suspects"].entries == frozenset({"IMP-2"})

    rows = [{"alert_id": "A0001", "declaration_id": f"D{i}", "member": "GB"} for i in range(3)]
    assert book.record_selections(rows) == 3
    assert book.record_selections(rows[1:] + [{**rows[0], "declaration_id": "D9"}]) == 1
    assert sorted(book.selections("A0001")["declaration_id"]) == ["D0", "D1", "D2", "D9"]
    book.close()

    # The selection log sits beside the book (in a shared database, in the same one).
    log = SelectionLog(where.selections)
    log.record([selection("GB", "D0", 0.9)])
    log.close()
    assert read_selections(where.selections)["declaration_id"].tolist() == ["D0"]
    assert len(AlertBook(where.alerts).selections()) == 4


def selection(member: str, declaration_id: str, score: float, day: str = "2025-03-01") -> tuple:
    values = {
        "member": member,
        "declaration_id": declaration_id,
        "declaration_date": day,
        "scored_at": "2025-03-01T10:00:00.000+00:00",
        "source": "/v1/score",
        "model_version": "1",
        "state_version": "s1",
        "raw_score": score,
        "score": score,
        "channel": "red",
        "model_channel": "red",
        "selection": "red",
        "propensity": 1.0,
        "draw_share": None,
    }
    return tuple(values[c] for c in COLUMNS)


def test_a_declaration_scored_again_keeps_its_latest_selection_record(settings):
    log = SelectionLog(locate(settings).selections)
    assert log.record([selection("GB", "D1", 0.2), selection("FR", "D1", 0.3)]) == 2
    log.record([selection("GB", "D1", 0.8), selection("GB", "D2", 0.5, day="2025-04-01")])
    assert log.count() == 3
    records = log.read(date_to="2025-03-31").set_index("member")
    assert records.loc["GB", "score"] == 0.8 and records.loc["FR", "score"] == 0.3
    assert log.read(date_from="2025-04-01")["declaration_id"].tolist() == ["D2"]
    log.close()


# -- PostgreSQL down ---------------------------------------------------------------------------


def test_a_stopped_postgresql_is_503_naming_the_cause_and_the_service_recovers(
    postgres_cluster, postgres_url, tmp_path
):
    from riskscore.serving.app import create_app

    password_url = postgres_url.replace("postgres@", "postgres:s3cret@")  # trust: not checked
    settings = Settings(
        state_dir=tmp_path / "var",
        database_url=password_url,
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlruns_dir=tmp_path / "mlruns",
        reload_seconds=3600,
        _env_file=None,
    )
    _, secret = key_store(settings).create("GB")
    cached_keys = create_app(settings)  # reads the keys once an hour
    fresh_keys = create_app(settings.model_copy(update={"reload_seconds": 0}))

    def post(app, declaration_id: str) -> httpx.Response:
        body = {"outcomes": [{"declaration_id": declaration_id, "reporting_country": "GB",
                              "illicit": 1, "inspection_date": "2025-03-01"}]}  # fmt: skip
        transport = httpx.ASGITransport(app=app)

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                return await client.post("/v1/outcomes", json=body, headers={"X-API-Key": secret})

        return asyncio.run(send())

    assert post(cached_keys, "UP-1").json()["stored"] == 1
    assert post(fresh_keys, "UP-1").json()["duplicates"] == 1
    postgres_cluster.stop()
    try:
        stored = post(cached_keys, "DOWN-1")
        keys = post(fresh_keys, "DOWN-2")
        with pytest.raises(StorageError) as audit:
            audit_log(settings).record({"request_id": "r1"})
    finally:
        postgres_cluster.start()
    shown = postgres_url.replace("postgres@", "***@")
    assert stored.status_code == 503, stored.text
    assert stored.json()["detail"].startswith(f"cannot store outcomes in {shown}: ")
    assert stored.json()["detail"].endswith("; nothing was stored")
    assert keys.status_code == 503, keys.text
    assert keys.json()["detail"].startswith(f"cannot read the API keys in {shown}: ")
    assert str(audit.value).startswith(f"cannot record an answer in {shown}: ")
    for message in (stored.json()["detail"], keys.json()["detail"], str(audit.value)):
        assert "Connection refused" in message or "server closed the connection" in message
        assert "s3cret" not in message and "\n" not in message

    # PostgreSQL back: the pools' dead connections are replaced, nothing of DOWN-* was stored.
    assert post(cached_keys, "UP-2").json()["stored"] == 1
    assert post(fresh_keys, "UP-2").json()["duplicates"] == 1
    ids = read_outcomes(SharedDatabase(password_url))["declaration_id"]
    assert sorted(ids) == ["UP-1", "UP-2"]
    for app in (cached_keys, fresh_keys):
        app.state.services.close()


# -- the CLI and the settings --------------------------------------------------------------------


def test_cli_verbs_use_the_shared_database(invoke, monkeypatch, postgres_url, tmp_path):
    monkeypatch.setenv("RISKSCORE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("RISKSCORE_STATE_DIR", str(tmp_path / "var"))
    created = invoke("keys", "create", "--member", "FR", "--analyst")
    assert created.exit_code == 0, created.output
    added = invoke("alerts", "add", "--origin", "Colombia", "--message", "m", "--author", "a")
    assert added.exit_code == 0, added.output
    (listed,) = json.loads(invoke("alerts", "list", "--json").stdout)
    assert listed["id"] == "A0001"
    revoked = invoke("keys", "revoke", created.stdout.strip().split("_")[1])
    assert revoked.exit_code == 0, revoked.output

    settings = Settings(database_url=postgres_url, _env_file=None)
    assert query(settings, "SELECT member, analyst, revoked_at IS NOT NULL FROM api_keys") == [
        ("FR", True, True)
    ]
    assert query(settings, "SELECT id, author FROM alerts") == [("A0001", "a")]
    assert not (tmp_path / "var").exists()  # nothing of it went to the state dir


def test_an_unsupported_database_url_is_one_line_without_its_password():
    settings = Settings(database_url="mysql://user:s3cret@db/riskscore", _env_file=None)
    with pytest.raises(ValueError) as caught:
        locate(settings)
    assert str(caught.value) == (
        "RISKSCORE_DATABASE_URL mysql://***@db/riskscore: mysql is not supported "
        "(postgresql://HOST/DB with the user and password in the URL, or sqlite:///PATH)"
    )


@pytest.mark.parametrize(
    "verb", [["serve", "--port", "1"], ["keys", "list"], ["keys", "revoke", "abc"]]
)
def test_the_cli_names_an_unsupported_database_url_in_one_line(invoke, monkeypatch, verb):
    monkeypatch.setenv("RISKSCORE_DATABASE_URL", "mysql://user:s3cret@db/riskscore")
    done = invoke(*verb)
    assert done.exit_code == 2, done.output  # the CLI's exit code for a refused input
    assert "mysql is not supported" in done.stderr and "s3cret" not in done.stderr
    assert "Traceback" not in done.output + done.stderr
