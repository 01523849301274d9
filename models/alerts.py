"""Analyst alerts and watch lists: criteria that force a minimum control channel.

Like the selectivity criteria of an ASYCUDA-style system or a WCO CTS watch list, an `Alert`
names criteria (HS prefix, countries, mode, traders, documents, containers; all must hold, any
value of one criterion will do) and the channel it imposes at least. A `Matcher`, built once
from the active alerts and the watch lists, finds the alerts each declaration matches without
looping over every alert: each alert is indexed under the values of its most selective
criterion, and only those candidates are checked in full. `apply_alerts` raises the model's
channels, never lowers them; `alert_reason` says why, in the shape of the model's reasons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features import normalise
from riskscore.features.errors import BadInputError
from riskscore.features.readers import SOURCE_ROW, read_raw

ALERT_CHANNELS = ("red", "yellow")
CHANNEL_RANK = {"green": 0, "random": 1, "yellow": 2, "red": 3}  # random: below yellow
WATCHLIST_KINDS = ("trader", "document", "container")
LIST_PREFIX = "@"
_LIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HS_NOISE = re.compile(r"[\s.\-]")
_DOCUMENT_NOISE = re.compile(r"[\s\-/]+")
_NON_DIGIT = re.compile(r"\D")
_CONTROL = re.compile(normalise.CONTROL_ANY)


class AlertError(ValueError):
    """An alert or watch list that cannot be accepted; the message names what and why."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- values: the analyst's side (validated), the declaration's side (as keys) ---------------


def trader_key(raw: str) -> str | None:
    """A trader id as compared: trimmed and upper-cased."""
    return raw.strip().upper() or None


def document_key(raw: str) -> str | None:
    """A transport document or container number without spaces, hyphens and slashes."""
    return _DOCUMENT_NOISE.sub("", raw).upper() or None


def _hs_prefix(raw: str) -> str | None:
    digits = _HS_NOISE.sub("", raw.strip())
    if not (digits.isascii() and digits.isdigit() and 2 <= len(digits) <= 10):
        return None
    chapter = int(digits[:2])
    return digits if 1 <= chapter <= 97 and chapter != 77 else None


_country, _mode = normalise.country_code, normalise.transport_mode
_NO_COUNTRY = "unknown country"
_BLANK = "blank after normalisation"


# Declarations repeat their values heavily; a bounded cache keeps a server's memory flat.
@lru_cache(maxsize=1 << 16)
def _hs_keys(raw: str) -> tuple[str, ...]:
    """Every prefix (2 to 10 digits) of a declared HS code: what an `hs` value may equal."""
    digits = _NON_DIGIT.sub("", raw)[:10]
    return tuple(digits[:k] for k in range(2, len(digits) + 1))


@lru_cache(maxsize=1 << 12)
def _country_keys(raw: str) -> tuple[str, ...]:
    code = normalise.country_code(raw) or raw.strip().upper()
    return (code,) if code else ()


@lru_cache(maxsize=1 << 12)
def _transit_keys(raw: str) -> tuple[str, ...]:
    return tuple(k for part in raw.split(";") for k in _country_keys(part))


@lru_cache(maxsize=1 << 8)
def _mode_keys(raw: str) -> tuple[str, ...]:
    mode = normalise.transport_mode(raw) or raw.strip().lower()
    return (mode,) if mode else ()


def _trader_keys(raw: str) -> tuple[str, ...]:
    key = trader_key(raw)
    return (key,) if key else ()


@lru_cache(maxsize=1 << 16)
def _document_keys(raw: str) -> tuple[str, ...]:
    key = document_key(raw)
    return (key,) if key else ()


@dataclass(frozen=True)
class Criterion:
    fields: tuple[str, ...]  # declaration fields it looks at (any of them may match)
    check: Callable[[str], str | None]  # analyst value -> normalised, None when invalid
    keys: Callable[[str], tuple[str, ...]]  # declaration value -> comparable keys
    problem: str  # what an invalid value is, for the message
    list_kinds: tuple[str, ...] = ()  # watch-list kinds its `@name` values may use
    rank: int = 9  # lower: more selective, preferred as the index key


_TRADER_IDS = ("importer_id", "exporter_id", "declarant_id")
_DOCUMENT_LISTS = ("document", "container")  # one normalisation: either kind of list fits

CRITERIA: dict[str, Criterion] = {
    "document": Criterion(
        ("transport_document",), document_key, _document_keys, _BLANK, _DOCUMENT_LISTS, 0
    ),
    "container": Criterion(
        ("transport_document", "x_container"),
        document_key,
        _document_keys,
        _BLANK,
        _DOCUMENT_LISTS,
        0,
    ),
    "importer": Criterion(("importer_id",), trader_key, _trader_keys, _BLANK, ("trader",), 1),
    "exporter": Criterion(("exporter_id",), trader_key, _trader_keys, _BLANK, ("trader",), 1),
    "declarant": Criterion(("declarant_id",), trader_key, _trader_keys, _BLANK, ("trader",), 1),
    "trader": Criterion(_TRADER_IDS, trader_key, _trader_keys, _BLANK, ("trader",), 2),
    "hs": Criterion(
        ("hs_code",),
        _hs_prefix,
        _hs_keys,
        "not an HS prefix (2 to 10 digits, chapter 01 to 97, 77 is reserved):",
        rank=3,
    ),
    "origin": Criterion(("origin_country",), _country, _country_keys, _NO_COUNTRY, rank=5),
    "departure": Criterion(("departure_country",), _country, _country_keys, _NO_COUNTRY, rank=5),
    "transit": Criterion(("transit_countries",), _country, _transit_keys, _NO_COUNTRY, rank=6),
    "mode": Criterion(("transport_mode",), _mode, _mode_keys, "unknown mode", rank=8),
}
_WATCHLIST_KEY = {"trader": trader_key, "document": document_key, "container": document_key}


def _list_name(value: str) -> str | None:
    """The watch-list name of an `@name` value, else None."""
    return value[1:] if value.startswith(LIST_PREFIX) else None


def check_list_name(name: str) -> str:
    if not _LIST_NAME.match(name):
        raise AlertError(
            f"watch list name {name!r}: use letters, digits, '_', '.', '-' (at most 64)"
        )
    return name


def normalise_criteria(criteria: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """Validated criteria, values normalised ("Colombia" -> CO, "1006.30" -> 100630)."""
    if not criteria:
        raise AlertError("an alert needs at least one criterion")
    out: dict[str, tuple[str, ...]] = {}
    for name, raw_values in criteria.items():
        spec = CRITERIA.get(name)
        if spec is None:
            raise AlertError(f"unknown criterion {name!r}: expected one of {', '.join(CRITERIA)}")
        values = [raw_values] if isinstance(raw_values, str) else list(raw_values)  # type: ignore[call-overload]
        if not values:
            raise AlertError(f"{name}: no value given")
        clean: list[str] = []
        for raw in values:
            if not isinstance(raw, str) or _CONTROL.search(raw):
                raise AlertError(f"{name}: invalid value {raw!r}")
            text = raw.strip()
            listed = _list_name(text)
            if listed is not None:
                if not spec.list_kinds:
                    raise AlertError(
                        f"{name}: {text!r}: only trader, document and container "
                        "criteria take a watch list"
                    )
                value = LIST_PREFIX + check_list_name(listed)
            else:
                value = spec.check(text) if text else None
                if value is None:
                    raise AlertError(f"{name}: {spec.problem} {raw!r}")
            if value not in clean:
                clean.append(value)
        out[name] = tuple(clean)
    return out


def criteria_text(criteria: Mapping[str, Sequence[str]]) -> str:
    """Criteria as analysts read them: "hs 1006; origin CO, EC"."""
    return "; ".join(f"{name} {', '.join(values)}" for name, values in criteria.items())


def _iso_date(value: object, what: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise AlertError(f"{what}: not an ISO date (YYYY-MM-DD) {value!r}") from None
    return (day.date() if isinstance(day, datetime) else day).isoformat()


# ---- alerts and watch lists ----------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """An analyst's criteria and the minimum channel they impose; validated on creation."""

    id: str
    criteria: dict[str, tuple[str, ...]] = field(hash=False)
    channel: str
    message: str
    author: str
    valid_from: str | None = None  # ISO dates, inclusive, against the declaration's date
    valid_until: str | None = None
    created_at: str = ""  # UTC timestamp; now when empty
    expired_at: str | None = None  # set when an analyst withdraws it: it matches nothing more

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise the fields once, here
        put(self, "criteria", normalise_criteria(self.criteria))
        channel = str(self.channel).strip().lower()
        if channel not in ALERT_CHANNELS:
            raise AlertError(f"channel: {self.channel!r} is not one of {', '.join(ALERT_CHANNELS)}")
        put(self, "channel", channel)
        for name in ("id", "message", "author"):
            text = str(getattr(self, name) or "").strip()
            if not text:
                raise AlertError(f"{name}: must not be empty")
            put(self, name, text)
        put(self, "valid_from", _iso_date(self.valid_from, "valid_from"))
        put(self, "valid_until", _iso_date(self.valid_until, "valid_until"))
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise AlertError(
                f"valid_until: {self.valid_until} is before valid_from {self.valid_from}"
            )
        put(self, "created_at", self.created_at or _now())

    @property
    def expired(self) -> bool:
        return self.expired_at is not None

    def active(self, today: date | str | None = None) -> bool:
        """Not expired, and not ended before `today` (a future start still counts)."""
        day = _iso_date(today or date.today(), "today")
        return not self.expired and (self.valid_until is None or self.valid_until >= day)

    def valid_on(self, day: str) -> bool:
        """Whether a declaration dated `day` (ISO) is inside the validity window."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def watchlists_used(self) -> dict[str, tuple[str, ...]]:
        """Watch-list name -> the criteria that use it."""
        used: dict[str, tuple[str, ...]] = {}
        for criterion, values in self.criteria.items():
            for value in values:
                name = _list_name(value)
                if name is not None:
                    used[name] = (*used.get(name, ()), criterion)
        return used

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "criteria": {k: list(v) for k, v in self.criteria.items()},
            "channel": self.channel,
            "message": self.message,
            "author": self.author,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "created_at": self.created_at,
            "expired_at": self.expired_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Alert:
        fields = dict(data)
        fields["criteria"] = {k: tuple(v) for k, v in dict(fields["criteria"]).items()}
        return cls(**fields)


def check_watchlists(alert: Alert, kinds: Mapping[str, str]) -> None:
    """Refuse an alert naming a watch list that does not exist or is of the wrong kind."""
    for name, criteria in alert.watchlists_used().items():
        if name not in kinds:
            raise AlertError(f"{criteria[0]}: no watch list named {name!r}")
        for criterion in criteria:
            allowed = CRITERIA[criterion].list_kinds
            if kinds[name] not in allowed:
                raise AlertError(
                    f"{criterion}: watch list {name!r} holds {kinds[name]} entries, "
                    f"not {' or '.join(allowed)}"
                )


@dataclass(frozen=True)
class WatchList:
    name: str
    kind: str  # trader, document or container
    entries: frozenset[str]  # normalised as the criteria normalise
    source_file: str = ""
    loaded_at: str = ""
    author: str = ""

    def __post_init__(self) -> None:
        check_list_name(self.name)
        if self.kind not in WATCHLIST_KINDS:
            raise AlertError(
                f"watch list {self.name}: kind {self.kind!r} is not one of "
                f"{', '.join(WATCHLIST_KINDS)}"
            )
        key = _WATCHLIST_KEY[self.kind]
        object.__setattr__(self, "entries", frozenset(filter(None, map(key, self.entries))))
        object.__setattr__(self, "loaded_at", self.loaded_at or _now())


def load_watchlist(
    path: Path | str,
    name: str,
    kind: str,
    column: str | None = None,
    *,
    author: str = "",
    sheet: str | None = None,
) -> tuple[WatchList, list[dict]]:
    """A watch list from a CSV or xlsx file (first row: the header), from `column` or the
    first column, and the rows refused ({"row", "reason", "value"}; blank rows are skipped).

    Raises BadInputError naming the file when it is missing or unreadable, the column does
    not exist, or no row holds an entry; AlertError for a bad name or kind.
    """
    path = Path(path)
    check_list_name(name)
    if kind not in WATCHLIST_KINDS:
        raise AlertError(f"watch list kind {kind!r} is not one of {', '.join(WATCHLIST_KINDS)}")
    raw = read_raw(path, sheet=sheet)
    columns = [c for c in raw.frame.columns if c != SOURCE_ROW]
    if not columns:
        raise BadInputError(path, "no column")
    chosen = column if column is not None else columns[0]
    if chosen not in columns:
        raise BadInputError(path, f"no column {chosen!r}; columns are: {', '.join(columns)}")
    rejected = [
        {"row": int(r[SOURCE_ROW]), "reason": r["reason"], "value": r["text"]}
        for _, r in raw.malformed.iterrows()
    ]
    key = _WATCHLIST_KEY[kind]
    entries: set[str] = set()
    for row, value in zip(raw.frame[SOURCE_ROW], raw.frame[chosen], strict=True):
        text = "" if pd.isna(value) else str(value).strip()
        if not text:
            reason = f"empty {chosen}"
        elif _CONTROL.search(text):
            reason = "contains a control character"
        elif (entry := key(text)) is None:
            reason = _BLANK
        else:
            entries.add(entry)
            continue
        rejected.append({"row": int(row), "reason": reason, "value": text})
    if not entries:
        raise BadInputError(path, f"no {kind} entry in column {chosen!r}")
    rejected.sort(key=lambda r: r["row"])
    return WatchList(name, kind, frozenset(entries), str(path), _now(), author), rejected


# ---- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Test:
    """One criterion of one alert: its literal values, and the watch lists it names."""

    criterion: str
    literals: frozenset[str]
    lists: tuple[frozenset[str], ...]

    def holds(self, keys: tuple[str, ...]) -> bool:
        for k in keys:  # plain loops: this runs for every candidate of every declaration
            if k in self.literals:
                return True
            for entries in self.lists:
                if k in entries:
                    return True
        return False


@dataclass(frozen=True)
class _Compiled:
    alert: Alert
    rest: tuple[_Test, ...]  # the criteria other than the one it is indexed under
    first: str  # valid_from, "" when open
    last: str  # valid_until, "~" (after any date) when open


@dataclass
class _Index:
    """Alerts indexed under one criterion: literal value -> alerts, and per watch list."""

    literals: dict[str, list[int]] = field(default_factory=dict)
    lists: dict[str, tuple[frozenset[str], list[int]]] = field(default_factory=dict)

    def candidates(self, keys: tuple[str, ...], into: set[int]) -> None:
        for k in keys:
            hit = self.literals.get(k)
            if hit:
                into.update(hit)
            for entries, alerts in self.lists.values():
                if k in entries:
                    into.update(alerts)


def _anchor(alert: Alert, watchlists: Mapping[str, WatchList]) -> str:
    """The criterion to index the alert under: the one that likely selects the fewest
    declarations, judged by its kind and how many values it accepts (a watch list counts
    its entries: a list of 20,000 traders selects more than one country does)."""

    def cost(criterion: str) -> float:
        values = alert.criteria[criterion]
        rank = CRITERIA[criterion].rank
        if criterion == "hs":  # a chapter selects far more than a subheading
            rank += max(0, 6 - min(map(len, values))) / 2
        accepted = sum(len(watchlists[n].entries) if (n := _list_name(v)) else 1 for v in values)
        return rank + math.log10(max(accepted, 1))

    return min(alert.criteria, key=cost)


class Matcher:
    """The alerts that each declaration matches; immutable once built, safe to share."""

    def __init__(
        self, compiled: list[_Compiled], index: dict[str, _Index], today: str | None = None
    ) -> None:
        self._compiled = compiled
        self._index = index
        self._today = today

    @classmethod
    def build(
        cls,
        alerts: Sequence[Alert],
        watchlists: Mapping[str, WatchList],
        today: date | str | None = None,
    ) -> Matcher:
        """Index the alerts that are not expired. `today` is the date of declarations that
        carry none (default: the day of each `match` call). Raises AlertError when an alert
        names a watch list that is missing or of the wrong kind."""
        kinds = {name: w.kind for name, w in watchlists.items()}
        compiled: list[_Compiled] = []
        index: dict[str, _Index] = {}
        for alert in alerts:
            if alert.expired:
                continue
            check_watchlists(alert, kinds)
            anchor = _anchor(alert, watchlists)
            rest = []
            for criterion, values in alert.criteria.items():
                if criterion != anchor:  # a candidate found under the anchor meets it
                    names = [n for v in values if (n := _list_name(v)) is not None]
                    literals = frozenset(v for v in values if _list_name(v) is None)
                    lists = tuple(watchlists[n].entries for n in names)
                    rest.append(_Test(criterion, literals, lists))
            position = len(compiled)
            first, last = alert.valid_from or "", alert.valid_until or "~"
            compiled.append(_Compiled(alert, tuple(rest), first, last))
            slot = index.setdefault(anchor, _Index())
            for value in alert.criteria[anchor]:
                name = _list_name(value)
                if name is None:
                    slot.literals.setdefault(value, []).append(position)
                else:
                    slot.lists.setdefault(name, (watchlists[name].entries, []))[1].append(position)
        return cls(compiled, index, _iso_date(today, "today"))

    def __len__(self) -> int:
        return len(self._compiled)

    def match(
        self, columns: Mapping[str, Sequence] | pd.DataFrame, dates: Sequence | None = None
    ) -> list[list[Alert]]:
        """Per declaration, the alerts it matches, in the order they were given to `build`.

        `columns`: field -> values, as the scorer gets them (missing fields are missing);
        `dates`: each declaration's date (ISO text, date, datetime64), default the `date` column.
        """
        n = _length(columns)
        if not self._compiled or n == 0:
            return [[] for _ in range(n)]
        days = _iso_days(dates if dates is not None else columns.get("date"), n, self._today)
        texts: dict[str, list[str | None]] = {}  # field -> values as text, on first use
        keys: dict[str, list[tuple[str, ...]]] = {}  # criterion -> each row's keys, on first use

        def keys_of(criterion: str) -> list[tuple[str, ...]]:
            if criterion not in keys:
                spec = CRITERIA[criterion]
                for f in spec.fields:
                    if f in columns and f not in texts:
                        texts[f] = _texts(columns[f], n)
                present = [texts[f] for f in spec.fields if f in texts]
                keys[criterion] = _key_column(spec, present, n)
            return keys[criterion]

        indexed = [(slot, keys_of(criterion)) for criterion, slot in self._index.items()]
        out: list[list[Alert]] = []
        for i in range(n):
            candidates: set[int] = set()
            for slot, column in indexed:
                slot.candidates(column[i], candidates)
            found = []
            day = days[i]
            for position in sorted(candidates):  # usually none, or a few
                c = self._compiled[position]
                if c.first <= day <= c.last:
                    for test in c.rest:
                        if not test.holds(keys_of(test.criterion)[i]):
                            break
                    else:
                        found.append(c.alert)
            out.append(found)
        return out


def _key_column(spec: Criterion, columns: list[list[str | None]], n: int) -> list[tuple[str, ...]]:
    """Each row's keys for one criterion, from the text of the fields it looks at."""
    if not columns:
        return [()] * n
    if len(columns) == 1:
        return [() if v is None else spec.keys(v) for v in columns[0]]
    return [
        tuple(k for column in columns if column[i] is not None for k in spec.keys(column[i]))
        for i in range(n)
    ]


def _length(columns: Mapping[str, Sequence] | pd.DataFrame) -> int:
    if isinstance(columns, pd.DataFrame):
        return len(columns)
    return len(next(iter(columns.values()))) if columns else 0


def _texts(values: Sequence, n: int) -> list[str | None]:
    """Values as text (None for missing or blank); numbers such as an HS code as digits."""
    if isinstance(values, pd.Series):
        values = values.astype("string").to_numpy(dtype=object, na_value=None)
    out: list[str | None] = []
    for v in values:
        if isinstance(v, str):
            out.append(v if v.strip() else None)
        elif v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            out.append(None)
        else:
            out.append(str(v))
    if len(out) != n:
        raise ValueError(f"columns of different lengths ({len(out)} and {n})")
    return out


def _iso_days(dates: Sequence | None, n: int, today: str | None) -> list[str]:
    """Each declaration's day as ISO text; `today` (or the current day) where it is missing."""
    if isinstance(dates, pd.Series | np.ndarray) and dates.dtype.kind == "M":
        dates = [None if t == "NaT" else t for t in np.datetime_as_string(dates, unit="D")]
    out: list[str | None] = [None] * n if dates is None else [_iso_day(v) for v in dates]
    if None in out:
        default = today or date.today().isoformat()
        return [default if day is None else day for day in out]
    return out  # type: ignore[return-value]


def _iso_day(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip()[:10] or None
    if isinstance(value, date):  # also datetime and pandas Timestamp
        return None if value is pd.NaT else value.isoformat()[:10]
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return str(value.astype("datetime64[D]"))
    return None


def apply_alerts(channel: np.ndarray, matches: Sequence[Sequence[Alert]]) -> np.ndarray:
    """The channels raised to at least each matching alert's (red > yellow > random > green);
    a new array, never lower than the given one."""
    if len(channel) != len(matches):
        raise ValueError(f"{len(channel)} channels but {len(matches)} match lists")
    out = np.array(channel, dtype=object, copy=True)
    for i, alerts in enumerate(matches):
        for alert in alerts:
            if CHANNEL_RANK[alert.channel] > CHANNEL_RANK.get(out[i], -1):
                out[i] = alert.channel
    return out


def alert_reason(alert: Alert) -> dict:
    """A reason shaped like the model's (models.reasons.Reason.to_dict), naming the alert."""
    until = alert.valid_until or "no end"
    return {
        "feature": f"alert:{alert.id}",
        "criterion": "alert",
        "value": alert.id,
        "contribution": None,
        "sentence": f"Analyst alert {alert.id} (by {alert.author}, valid until {until}): "
        f"{alert.message}",
        "alert_id": alert.id,
        "message": alert.message,
    }


__all__ = [
    "ALERT_CHANNELS",
    "CHANNEL_RANK",
    "CRITERIA",
    "WATCHLIST_KINDS",
    "Alert",
    "AlertError",
    "Matcher",
    "WatchList",
    "alert_reason",
    "apply_alerts",
    "check_list_name",
    "check_watchlists",
    "criteria_text",
    "document_key",
    "load_watchlist",
    "normalise_criteria",
    "trader_key",
]
