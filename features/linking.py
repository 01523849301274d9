"""Labels for clearance records: link seizures to the clearance records they came from.

Two steps, strongest evidence first (docs/labels.md explains the choices):

1. **Transport document** (B/L, AWB, container): the normalised document numbers are equal and the
   clearance date is within `document_window_days` of the seizure date, either side.
2. **Trader + HS heading + route**, only for seizures step 1 did not settle: the seizure's trader or
   consignee is the record's importer or exporter, the HS headings (hs4) are equal, origin and
   departure countries agree where both are known, the record is declared in the seizure's
   reporting or destination country, and the clearance date lies in
   [seizure date - window_before_days, seizure date + window_after_days].

Several candidates: the closest in date wins; a tie is "ambiguous" and links nothing. Every input
seizure gets exactly one status, with a plain-text reason; nothing is dropped.

All matching is vectorised: keys are factorised to integers, and the date window is turned into an
equi-join on (key, time bucket) with buckets as wide as the window, so a very active trader is only
paired with its records of a few months around each seizure, never with its whole history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features.membership import is_in

DOCUMENT = "transport_document"
TRADER_ROUTE = "trader_hs4_route"
METHODS = (DOCUMENT, TRADER_ROUTE)

LINKED_DOCUMENT = "linked_document"
LINKED_TRADER_ROUTE = "linked_trader_route"
AMBIGUOUS = "ambiguous"
UNLINKED = "unlinked"
NOT_ELIGIBLE = "not_eligible"
STATUSES = (LINKED_DOCUMENT, LINKED_TRADER_ROUTE, AMBIGUOUS, UNLINKED, NOT_ELIGIBLE)

_REQUIRED = ("id", "date", "reporting_country")
_NOT_FOUND = -1
MAX_PAIRS = 4_000_000
"""Joined rows per chunk of the window joins: bounds memory whatever the skew of traders."""
_PACK_LIMIT = 2**62


@dataclass(frozen=True)
class LinkConfig:
    """Date windows of the two link steps, in days (all bounds inclusive)."""

    document_window_days: int = 90  # containers are reused: a document match must be close in time
    window_before_days: int = 45  # seizure may come up to this many days after clearance
    window_after_days: int = 7  # ... or this many days before it (pre-arrival seizure)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"LinkConfig.{name} must be >= 0, got {value}")


@dataclass
class LinkResult:
    """Links (one row per linked seizure) and the status of every input seizure.

    links: seizure_id, clearance_id, method, days_apart (seizure date - clearance date),
        candidates (records in the window), seizure_date.
    seizures: one row per input seizure, in input order: seizure_id, status, clearance_id,
        days_apart, candidates, tied_clearance_ids (ambiguous only), reason.
    """

    links: pd.DataFrame
    seizures: pd.DataFrame
    config: LinkConfig = field(default_factory=LinkConfig)

    def counts(self) -> dict[str, int]:
        """Seizures per status, plus "total"; the statuses always add up to the total."""
        by_status = self.seizures["status"].value_counts()
        counts = {status: int(by_status.get(status, 0)) for status in STATUSES}
        counts["total"] = len(self.seizures)
        assert sum(counts[s] for s in STATUSES) == counts["total"]
        return counts

    def write(self, folder: Path | str) -> dict[str, str]:
        """Write the link report files into `folder`; returns {name: path}.

        links.parquet      one row per linked seizure
        seizure-links.csv  every input seizure with its status and reason
        unlinked.csv       seizures with status "unlinked"
        ambiguous.csv      seizures with status "ambiguous", with the tied clearance ids
        link-report.json   counts per status and the configuration used
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "links": folder / "links.parquet",
            "seizure_links": folder / "seizure-links.csv",
            "unlinked": folder / "unlinked.csv",
            "ambiguous": folder / "ambiguous.csv",
            "report": folder / "link-report.json",
        }
        self.links.to_parquet(paths["links"], index=False)
        status = self.seizures["status"]
        self.seizures.to_csv(paths["seizure_links"], index=False)
        self.seizures[status == UNLINKED].to_csv(paths["unlinked"], index=False)
        self.seizures[status == AMBIGUOUS].to_csv(paths["ambiguous"], index=False)
        report = {"counts": self.counts(), "config": asdict(self.config)}
        paths["report"].write_text(json.dumps(report, indent=2) + "\n")
        return {name: str(path) for name, path in paths.items()}


def normalise_document(values: pd.Series) -> pd.Series:
    """Transport document numbers for matching: upper case, without spaces, dashes, slashes or
    dots; empty values become <NA>."""
    array = pa.array(values.astype("string"), from_pandas=True, type=pa.large_string())
    clean = pc.replace_substring_regex(pc.utf8_upper(array), r"[\s\-/.]+", "")
    clean = pc.if_else(pc.equal(clean, ""), pa.scalar(None, pa.large_string()), clean)
    return pd.Series(clean.to_numpy(zero_copy_only=False), index=values.index, dtype="string")


def _normalise_key(values: pd.Series) -> pd.Series:
    """Trader identifiers and codes: strip + upper, empty -> <NA>."""
    text = values.astype("string").str.strip().str.upper()
    return text.mask(text == "")


def link_seizures(
    seizures: pd.DataFrame, clearance: pd.DataFrame, config: LinkConfig = LinkConfig()
) -> LinkResult:
    """Link every seizure to at most one clearance record (rules in the module docstring)."""
    _check_columns(seizures, "seizures")
    _check_columns(clearance, "clearance")
    s = _Side(seizures, is_seizure=True)
    c = _Side(clearance, is_seizure=False)
    doc, doc_count = _by_document(s, c, config.document_window_days)
    open_s = doc.candidates == 0  # step 2 only for the seizures step 1 did not settle
    trader, party_known, key_known, in_window = _by_trader_route(s, c, config, open_s)
    status, reason = _statuses(
        s, config, doc, doc_count, trader, party_known, key_known, in_window, s.covered(c)
    )
    return _result(seizures, clearance, config, doc, trader, status, reason)


def labels_from_links(links: pd.DataFrame) -> pd.DataFrame:
    """One positive label per linked clearance record.

    Columns: clearance_id, label (1), link_method (transport_document if any of its seizures linked
    by document, else trader_hs4_route), seizure_ids (";"-joined, sorted), n_seizures, and
    known_from (the earliest linked seizure date) when `links` carries seizure_date.
    """
    columns = ["clearance_id", "label", "link_method", "seizure_ids", "n_seizures"]
    has_dates = "seizure_date" in links.columns
    if links.empty:
        empty = pd.DataFrame({col: pd.Series([], dtype="string") for col in columns})
        empty = empty.astype({"label": "int8", "n_seizures": "int64"})
        if has_dates:
            empty["known_from"] = pd.Series([], dtype="datetime64[ns]")
        return empty
    rank = links["method"].map({m: i for i, m in enumerate(METHODS)})
    if rank.isna().any():
        bad = sorted(links.loc[rank.isna(), "method"].astype(str).unique())
        raise ValueError(f"unknown link method(s) {bad}: expected one of {list(METHODS)}")
    frame = links.assign(_rank=rank.astype("int8")).sort_values(["clearance_id", "seizure_id"])
    grouped = frame.groupby("clearance_id", sort=True)
    out = pd.DataFrame(
        {
            "label": np.int8(1),
            "link_method": grouped["_rank"].min().map(dict(enumerate(METHODS))),
            "n_seizures": grouped.size().astype("int64"),
        }
    )
    # Joining strings per group is slow in bulk; most records have a single seizure.
    ids = frame["seizure_id"].astype("string")
    multi = frame["clearance_id"].duplicated(keep=False).to_numpy()
    joined = pd.concat(
        [
            pd.Series(ids[~multi].to_numpy(), index=frame.loc[~multi, "clearance_id"]),
            ids[multi].groupby(frame.loc[multi, "clearance_id"]).agg(";".join),
        ]
    )
    out["seizure_ids"] = joined.reindex(out.index).astype("string")
    if has_dates:
        out["known_from"] = grouped["seizure_date"].min()
    out = out.rename_axis("clearance_id").reset_index()
    out["clearance_id"] = out["clearance_id"].astype("string")
    out["link_method"] = out["link_method"].astype("string")
    return out[columns + (["known_from"] if has_dates else [])]


@dataclass
class Outcomes:
    """Final labels of records that may carry their own inspection outcome."""

    frame: pd.DataFrame  # id, label, label_source, link_method, seizure_ids, conflict
    labels_without_record: int  # seizure labels whose clearance_id is not among the records

    def counts(self) -> dict[str, int]:
        """Records per label source, conflicts (inspection 0, seizure link present), confirmations
        (inspection 1, seizure link present) and labels pointing at no record."""
        source = self.frame["label_source"].value_counts()
        has_inspection = self.frame["label_source"] == "inspection"
        linked = self.frame["link_method"].notna()
        return {
            "inspection": int(source.get("inspection", 0)),
            "seizure_link": int(source.get("seizure_link", 0)),
            "none": int(source.get("none", 0)),
            "conflicts": int(self.frame["conflict"].sum()),
            "confirmed": int((has_inspection & linked & (self.frame["label"] == 1)).sum()),
            "labels_without_record": self.labels_without_record,
            "total": len(self.frame),
        }

    @property
    def conflicts(self) -> pd.DataFrame:
        """Records whose inspection found nothing but to which a seizure links."""
        return self.frame[self.frame["conflict"]]


def resolve_outcomes(records: pd.DataFrame, labels: pd.DataFrame) -> Outcomes:
    """Final label per record: its own inspection outcome (`illicit`) where present, else 1 if a
    seizure links to it, else 0. Disagreements are flagged as conflicts, never silently resolved.
    """
    illicit = (
        records["illicit"].astype("Int8")
        if "illicit" in records.columns
        else pd.Series(pd.NA, index=records.index, dtype="Int8")
    )
    ids = records["id"].astype("string")
    by_id = labels.set_index(labels["clearance_id"].astype("string"))
    link_method = by_id["link_method"].reindex(ids).to_numpy()
    seizure_ids = by_id["seizure_ids"].reindex(ids).to_numpy()
    linked = pd.notna(link_method)
    inspected = illicit.notna().to_numpy()
    label = np.where(inspected, illicit.fillna(0).to_numpy(dtype=np.int8), linked.astype(np.int8))
    source = np.select([inspected, linked], ["inspection", "seizure_link"], "none")
    frame = pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "label": label.astype("int8"),
            "label_source": pd.array(source, dtype="string"),
            "link_method": pd.array(link_method, dtype="string"),
            "seizure_ids": pd.array(seizure_ids, dtype="string"),
            "conflict": inspected & linked & (label == 0),
        },
        index=records.index,
    )
    without = int((~is_in(by_id.index, ids)).sum())
    return Outcomes(frame=frame, labels_without_record=without)


# --- internals ---------------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, what: str) -> None:
    missing = [col for col in _REQUIRED if col not in frame.columns]
    if missing:
        raise ValueError(f"{what}: required column(s) missing: {', '.join(missing)}")


class _Side:
    """The columns linking needs, normalised, as arrays aligned with the input rows."""

    def __init__(self, frame: pd.DataFrame, is_seizure: bool) -> None:
        def text(col: str) -> pd.Series:
            if col in frame.columns:
                return _normalise_key(frame[col]).reset_index(drop=True)
            return pd.Series(pd.NA, index=range(len(frame)), dtype="string")

        dates = pd.to_datetime(frame["date"]).reset_index(drop=True)
        self.dated = dates.notna().to_numpy()
        self.day = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
        self.day[~self.dated] = 0
        document = frame[DOCUMENT] if DOCUMENT in frame.columns else text(DOCUMENT)
        self.document = normalise_document(document).reset_index(drop=True)
        if "hs4" in frame.columns:
            self.hs4 = text("hs4")
        else:
            self.hs4 = text("hs_code").str.slice(0, 4)
            self.hs4 = self.hs4.mask(self.hs4.str.len() < 4)
        self.reporting = text("reporting_country")
        self.origin = text("origin_country")
        self.departure = text("departure_country")
        if is_seizure:
            self.countries = [self.reporting, text("destination_country")]
            self.parties = [text("trader"), text("consignee")]
        else:
            self.countries = [self.reporting]
            self.parties = [text("importer_id"), text("exporter_id")]

    def covered(self, clearance: _Side) -> np.ndarray:
        """Seizures whose reporting or destination country is a clearance reporting country."""
        known = pd.Index(clearance.reporting.dropna().unique())
        return np.logical_or.reduce([c.isin(known).to_numpy() for c in self.countries])


def _lookup(uniques: pd.Index | np.ndarray, values: pd.Series) -> np.ndarray:
    """Position of each value in `uniques`, -1 when absent or missing."""
    codes = pd.Index(uniques).get_indexer(values)
    codes[values.isna().to_numpy()] = _NOT_FOUND
    return codes.astype(np.int64)


@dataclass
class _Keys:
    key: np.ndarray  # int64 composite key
    row: np.ndarray  # input row the key belongs to


def _by_document(s: _Side, c: _Side, window_days: int) -> tuple[_Pick, np.ndarray]:
    """Step 1: records with the seizure's transport document within `window_days` either side;
    also, per seizure, how many dated records carry its document at all."""
    n, n_c = len(s.day), len(c.day)
    doc_c, doc_uniques = pd.factorize(c.document.where(c.dated))
    doc_s = _lookup(doc_uniques, s.document)
    doc_s[~s.dated] = _NOT_FOUND
    doc_records = np.bincount(doc_c[doc_c >= 0], minlength=len(doc_uniques))
    doc_count = np.r_[doc_records, 0][np.where(doc_s >= 0, doc_s, len(doc_records))]
    pick = _Pick(n, n_c, max_days=window_days)
    s_rows, c_rows = np.arange(n), np.arange(n_c)
    w = window_days
    for pairs in _window_pairs(doc_s, s.day, s_rows, doc_c, c.day, c_rows, before=w, after=w):
        pick.add(*pairs)
    return pick, doc_count


def _by_trader_route(
    s: _Side, c: _Side, config: LinkConfig, open_s: np.ndarray
) -> tuple[_Pick, np.ndarray, np.ndarray, np.ndarray]:
    """Step 2, for the seizures in `open_s`: records with the seizure's trader, HS heading and
    route in the date window. Also, per seizure, for the reasons: party known, (party, hs4,
    country) key known, and some record with the key in the window whatever its route."""
    key_s, key_c, party_known, key_known = _trader_keys(s, c, open_s)
    origin_s, origin_c = _shared_codes(s.origin, c.origin)
    departure_s, departure_c = _shared_codes(s.departure, c.departure)
    n = len(s.day)
    in_window = np.zeros(n, dtype=bool)
    pick = _Pick(n, len(c.day), max(config.window_before_days, config.window_after_days))
    for ps, pc_, days in _window_pairs(
        key_s.key,
        s.day[key_s.row],
        key_s.row,
        key_c.key,
        c.day[key_c.row],
        key_c.row,
        before=config.window_before_days,
        after=config.window_after_days,
    ):
        in_window[ps] = True
        route = _route_ok(origin_s, origin_c, ps, pc_)
        route &= _route_ok(departure_s, departure_c, ps, pc_)
        pick.add(ps[route], pc_[route], days[route])
    return pick, party_known, key_known, in_window


def _trader_keys(
    s: _Side, c: _Side, open_s: np.ndarray
) -> tuple[_Keys, _Keys, np.ndarray, np.ndarray]:
    """(party, hs4, country) keys of both sides, and per seizure whether its party is known in its
    countries at all and whether a (party, hs4, country) key exists in the clearance data."""
    party_codes, party_uniques = pd.factorize(pd.concat(c.parties, ignore_index=True))
    hs_codes, hs_uniques = pd.factorize(c.hs4)
    country_codes, country_uniques = pd.factorize(c.reporting)
    n_hs, n_country = len(hs_uniques) + 1, len(country_uniques) + 1
    n_c = len(c.day)

    c_rows = np.tile(np.arange(n_c), len(c.parties))
    c_party = party_codes.astype(np.int64)
    c_hs = np.tile(hs_codes, len(c.parties)).astype(np.int64)
    c_country = np.tile(country_codes, len(c.parties)).astype(np.int64)
    c_party_ok = (c_party >= 0) & (c_country >= 0) & c.dated[c_rows]
    c_ok = c_party_ok & (c_hs >= 0)
    party_country_c = c_party * n_country + c_country
    key_c = (c_party * n_hs + c_hs) * n_country + c_country

    s_hs = _lookup(hs_uniques, s.hs4)
    rows, keys, party_country = [], [], []
    for party in s.parties:
        p = _lookup(party_uniques, party)
        for country in s.countries:
            k = _lookup(country_uniques, country)
            ok = (p >= 0) & (k >= 0)
            rows.append(np.flatnonzero(ok))
            party_country.append((p * n_country + k)[ok])
            keys.append(((p * n_hs + s_hs) * n_country + k)[ok & (s_hs >= 0)])
    n_s = len(s.day)
    pc_rows = np.concatenate(rows)
    pc_known = np.isin(np.concatenate(party_country), party_country_c[c_party_ok])
    party_known = np.bincount(pc_rows[pc_known], minlength=n_s) > 0

    key_rows = np.concatenate([r[s_hs[r] >= 0] for r in rows])  # in the order of `keys`
    key_s = np.concatenate(keys)
    key_known = np.isin(key_s, key_c[c_ok])
    key_known_s = np.bincount(key_rows[key_known], minlength=n_s) > 0

    use = key_known & open_s[key_rows] & s.dated[key_rows]
    unique = pd.DataFrame({"key": key_s[use], "row": key_rows[use]}).drop_duplicates()
    seizure_keys = _Keys(key=unique["key"].to_numpy(), row=unique["row"].to_numpy())
    clearance_keys = _Keys(key=key_c[c_ok], row=c_rows[c_ok])
    return seizure_keys, clearance_keys, party_known, key_known_s


def _window_pairs(
    left_key: np.ndarray,
    left_day: np.ndarray,
    left_row: np.ndarray,
    right_key: np.ndarray,
    right_day: np.ndarray,
    right_row: np.ndarray,
    before: int,
    after: int,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs with equal keys (>= 0) and -after <= left_day - right_day <= before, in chunks.

    Yields arrays s, c (input row numbers) and days (left_day - right_day). The join runs on
    (key, bucket) keys from `_bucket_join`. The join size of every left row is known in advance,
    so left rows are cut into chunks of about MAX_PAIRS joined rows, all rows of one seizure in
    the same chunk.
    """
    lk, rk = left_key >= 0, right_key >= 0
    left_key, left_day, left_row = left_key[lk], left_day[lk], left_row[lk]
    right_key, right_day, right_row = right_key[rk], right_day[rk], right_row[rk]
    if not len(left_key) or not len(right_key):
        return
    l_join, l_idx, r_join = _bucket_join(left_key, left_day, right_key, right_day, before, after)
    if not len(l_idx):
        return

    join_keys, join_counts = np.unique(r_join, return_counts=True)
    at = np.minimum(np.searchsorted(join_keys, l_join), len(join_keys) - 1)
    size = np.where(join_keys[at] == l_join, join_counts[at], 0)
    # Chunks by seizure row: the pairs of one seizure are never split.
    rows = left_row[l_idx]
    per_row = np.bincount(rows, weights=size)
    chunk_of_row = (np.cumsum(per_row) - per_row) // max(MAX_PAIRS, 1)
    chunk = chunk_of_row[rows]
    right = pd.DataFrame({"k": r_join, "ri": np.arange(len(right_key))})
    for value in np.unique(chunk[size > 0]):
        part = (chunk == value) & (size > 0)
        left = pd.DataFrame({"k": l_join[part], "li": l_idx[part]})
        merged = left.merge(right, on="k", how="inner", sort=False)
        li, ri = merged["li"].to_numpy(), merged["ri"].to_numpy()
        del merged
        days = left_day[li] - right_day[ri]
        ok = (days >= -after) & (days <= before)
        yield left_row[li[ok]], right_row[ri[ok]], days[ok]


def _bucket_join(
    left_key: np.ndarray,
    left_day: np.ndarray,
    right_key: np.ndarray,
    right_day: np.ndarray,
    before: int,
    after: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equi-join keys for the date window: (l_join, l_idx, r_join).

    Buckets are `before + after + 1` days wide, so a left row's window touches at most two
    buckets: l_join has one or two keys per left row, l_idx the left position of each (left keys
    absent on the right are dropped), r_join one key per right row.
    """
    width = before + after + 1
    r_bucket = right_day // width
    lo, hi = (left_day - before) // width, (left_day + after) // width
    two = hi != lo
    l_bucket = np.concatenate([lo, hi[two]])
    l_idx = np.concatenate([np.arange(len(left_key)), np.flatnonzero(two)])

    # Dense codes keep key * n_buckets + bucket well inside int64.
    codes, uniques = pd.factorize(right_key)
    l_codes = pd.Index(uniques).get_indexer(left_key[l_idx])
    keep = l_codes >= 0
    l_codes, l_bucket, l_idx = l_codes[keep], l_bucket[keep], l_idx[keep]
    if not len(l_idx):
        return l_idx, l_idx, l_idx
    base = min(int(r_bucket.min()), int(l_bucket.min()))
    n_buckets = max(int(r_bucket.max()), int(l_bucket.max())) - base + 1
    r_join = codes.astype(np.int64) * n_buckets + (r_bucket - base)
    l_join = l_codes.astype(np.int64) * n_buckets + (l_bucket - base)
    return l_join, l_idx, r_join


def _route_ok(s_codes: np.ndarray, c_codes: np.ndarray, s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Equal where both sides know the value (codes: -1 = unknown)."""
    a, b = s_codes[s], c_codes[c]
    return (a < 0) | (b < 0) | (a == b)


def _shared_codes(s_values: pd.Series, c_values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, _ = pd.factorize(pd.concat([s_values, c_values], ignore_index=True))
    return codes[: len(s_values)], codes[len(s_values) :]


class _Pick:
    """Per seizure: the closest candidate, how many candidates, how many tie at the minimum."""

    def __init__(self, n: int, n_clearance: int, max_days: int) -> None:
        self.chosen = np.full(n, _NOT_FOUND, dtype=np.int64)  # clearance row; -1 none or tied
        self.days = np.zeros(n, dtype=np.int64)  # seizure date - date of the closest candidate
        self.candidates = np.zeros(n, dtype=np.int64)  # distinct candidates in the window
        self.tied = np.zeros(n, dtype=np.int64)  # candidates at the minimum distance
        self._tied: list[tuple[np.ndarray, np.ndarray]] = []
        # (seizure, 2|days| + negative, clearance row) packs into one int64 when it fits: one
        # np.sort then orders by seizure, distance (ties: positive days first) and record.
        self._n_c = max(n_clearance, 1)
        self._span = 2 * max_days + 2
        self._packs = n * self._span * self._n_c < _PACK_LIMIT

    @property
    def tied_rows(self) -> pd.DataFrame:
        """s, c of the tied candidates of ambiguous seizures."""
        s = np.concatenate([t[0] for t in self._tied] or [np.zeros(0, np.int64)])
        c = np.concatenate([t[1] for t in self._tied] or [np.zeros(0, np.int64)])
        return pd.DataFrame({"s": s, "c": c})

    def add(self, s: np.ndarray, c: np.ndarray, days: np.ndarray) -> None:
        """Take the candidate pairs of some seizures (all pairs of each; duplicates allowed)."""
        if not len(s):
            return
        code = 2 * np.abs(days) + (days < 0)
        if self._packs:
            key = np.sort((s * self._span + code) * self._n_c + c)
            first = np.r_[True, key[1:] != key[:-1]]  # duplicate pairs pack identically
            key = key[first]
            c, rest = key % self._n_c, key // self._n_c
            s, code = rest // self._span, rest % self._span
        else:
            order = np.lexsort((c, code, s))
            s, c, code = s[order], c[order], code[order]
            first = np.r_[True, (s[1:] != s[:-1]) | (c[1:] != c[:-1]) | (code[1:] != code[:-1])]
            s, c, code = s[first], c[first], code[first]
        dist, negative = code // 2, code % 2 == 1
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        sizes = np.diff(np.r_[starts, len(s)])
        at_min = dist == np.repeat(dist[starts], sizes)
        n_min = np.add.reduceat(at_min.astype(np.int64), starts)
        groups = s[starts]
        self.candidates[groups] = sizes
        self.tied[groups] = n_min
        self.days[groups] = np.where(negative[starts], -dist[starts], dist[starts])
        self.chosen[groups] = np.where(n_min == 1, c[starts], _NOT_FOUND)
        amb = at_min & (np.repeat(n_min, sizes) > 1)
        if amb.any():
            self._tied.append((s[amb], c[amb]))


def _statuses(
    s: _Side,
    config: LinkConfig,
    doc: _Pick,
    doc_count: np.ndarray,
    trader: _Pick,
    party_known: np.ndarray,
    key_known: np.ndarray,
    in_window: np.ndarray,
    covered: np.ndarray,
) -> tuple[np.ndarray, pd.Series]:
    """Status of every seizure and the plain-text reason for it."""
    status = _status(s, doc, trader, covered)
    w = config.document_window_days
    no_doc = _no_document_link(s, doc_count, w)
    reason = pd.Series("", index=range(len(status)), dtype="string")
    _explain_document(reason, status, doc, w)
    _explain_trader_route(reason, status, doc, trader, no_doc)
    _explain_not_eligible(reason, status, s, no_doc)
    unlinked = status == UNLINKED
    no_trader = _no_trader_link(s, config, trader, party_known, key_known, in_window)
    reason[unlinked] = no_doc[unlinked] + "; " + no_trader[unlinked]
    reason[~s.dated] = "seizure has no date, so no date window can be applied"
    return status, reason


def _status(s: _Side, doc: _Pick, trader: _Pick, covered: np.ndarray) -> np.ndarray:
    """A document link or tie settles a seizure; else a trader link or tie; else it is not
    eligible when no clearance data covers its countries, and unlinked otherwise."""
    doc_linked = doc.chosen >= 0
    doc_amb = doc.tied > 1
    trader_linked = ~doc_linked & ~doc_amb & (trader.chosen >= 0)
    trader_amb = ~doc_linked & ~doc_amb & (trader.tied > 1)
    settled = doc_linked | doc_amb | trader_linked | trader_amb
    not_eligible = ~settled & s.dated & ~covered
    return np.select(
        [doc_linked, doc_amb, trader_linked, trader_amb, not_eligible],
        [LINKED_DOCUMENT, AMBIGUOUS, LINKED_TRADER_ROUTE, AMBIGUOUS, NOT_ELIGIBLE],
        UNLINKED,
    )


def _counts(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype="int64").astype("string")


def _explain_document(reason: pd.Series, status: np.ndarray, doc: _Pick, w: int) -> None:
    """Fill in the reasons of the seizures linked, or tied, by transport document."""
    linked = status == LINKED_DOCUMENT
    tied = doc.tied > 1
    days = _counts(np.abs(doc.days))
    reason[linked] = (
        "transport document match, "
        + days[linked]
        + " day(s) apart, closest of "
        + _counts(doc.candidates)[linked]
        + f" within {w} days"
    )
    reason[tied] = (
        "transport document matches "
        + _counts(doc.tied)[tied]
        + " clearance records equally close in date ("
        + days[tied]
        + " day(s) apart)"
    )


def _explain_trader_route(
    reason: pd.Series, status: np.ndarray, doc: _Pick, trader: _Pick, no_doc: pd.Series
) -> None:
    """Fill in the reasons of the seizures linked, or tied, by trader, HS heading and route."""
    linked = status == LINKED_TRADER_ROUTE
    tied = (status == AMBIGUOUS) & ~(doc.tied > 1)
    days = _counts(np.abs(trader.days))
    reason[linked] = (
        no_doc[linked]
        + "; trader, HS heading and route match, "
        + days[linked]
        + " day(s) apart, closest of "
        + _counts(trader.candidates)[linked]
    )
    reason[tied] = (
        no_doc[tied]
        + "; trader, HS heading and route match "
        + _counts(trader.tied)[tied]
        + " clearance records equally close in date ("
        + days[tied]
        + " day(s) apart)"
    )


def _explain_not_eligible(
    reason: pd.Series, status: np.ndarray, s: _Side, no_doc: pd.Series
) -> None:
    """Fill in the reasons of the seizures whose countries no clearance data covers."""
    rows = status == NOT_ELIGIBLE
    destination = s.countries[1].fillna("?")
    reason[rows] = (
        no_doc[rows]
        + "; neither reporting country "
        + s.reporting.fillna("?")[rows]
        + " nor destination country "
        + destination[rows]
        + " appears in the clearance data (kept as regional intelligence)"
    )


def _no_document_link(s: _Side, doc_count: np.ndarray, w: int) -> pd.Series:
    """Why step 1 linked nothing, per seizure ("" where it did find candidates)."""
    has_doc = s.document.notna().to_numpy()
    text = pd.Series(
        np.select(
            [~has_doc, doc_count == 0],
            ["no transport document", "transport document not in the clearance data"],
            "",
        ),
        dtype="string",
    )
    far = has_doc & (doc_count > 0)
    text[far] = (
        "transport document matches "
        + _counts(doc_count)[far]
        + f" clearance record(s), none within {w} days"
    )
    return text


def _no_trader_link(
    s: _Side,
    config: LinkConfig,
    trader: _Pick,
    party_known: np.ndarray,
    key_known: np.ndarray,
    in_window: np.ndarray,
) -> pd.Series:
    """Why step 2 linked nothing: the first of its conditions that failed, per seizure."""
    window = f"{config.window_before_days} days before to {config.window_after_days} days after"
    has_party = np.logical_or.reduce([p.notna().to_numpy() for p in s.parties])
    route_fail = in_window & (trader.candidates == 0)
    text = pd.Series(
        np.select(
            [
                s.hs4.isna().to_numpy(),
                ~has_party,
                ~party_known,
                ~key_known,
                ~in_window,
                route_fail,
            ],
            [
                "no HS code, so no trader and route link",
                "no trader or consignee, so no trader and route link",
                "trader/consignee not an importer or exporter in the seizure's reporting or "
                "destination country",
                "trader/consignee found, but never with HS heading ",
                f"trader and HS heading match, but no clearance from {window} the seizure",
                "trader, HS heading and dates match, but origin or departure country differs",
            ],
            "",
        ),
        dtype="string",
    )
    wrong_hs = s.hs4.notna().to_numpy() & has_party & party_known & ~key_known
    text[wrong_hs] = text[wrong_hs] + s.hs4.fillna("")[wrong_hs]
    return text


def _result(
    seizures: pd.DataFrame,
    clearance: pd.DataFrame,
    config: LinkConfig,
    doc: _Pick,
    trader: _Pick,
    status: np.ndarray,
    reason: pd.Series,
) -> LinkResult:
    n = len(status)
    seizure_ids = seizures["id"].astype("string").reset_index(drop=True)
    clearance_ids = clearance["id"].astype("string").reset_index(drop=True)

    def ids_at(rows: np.ndarray) -> np.ndarray:
        return clearance_ids.take(rows).to_numpy(dtype=object, na_value=None)

    by_doc = status == LINKED_DOCUMENT
    by_trader = status == LINKED_TRADER_ROUTE
    chosen = np.where(by_doc, doc.chosen, np.where(by_trader, trader.chosen, _NOT_FOUND))
    linked = chosen >= 0
    ambiguous = status == AMBIGUOUS
    use_doc = by_doc | (ambiguous & (doc.tied > 1))
    days = np.where(use_doc, doc.days, trader.days)
    candidates = np.where(use_doc, doc.candidates, trader.candidates)

    # Step 2 only sees seizures without a document candidate: the two sets never overlap.
    tied = pd.concat([doc.tied_rows, trader.tied_rows], ignore_index=True).sort_values(["s", "c"])
    tied_ids = pd.Series(ids_at(tied["c"].to_numpy()), dtype="string")
    tied_ids = tied_ids.groupby(tied["s"].to_numpy()).agg(";".join).reindex(range(n))

    rows = np.flatnonzero(linked)
    linked_ids = ids_at(chosen[rows])
    seizure_dates = pd.to_datetime(seizures["date"]).reset_index(drop=True)
    links = pd.DataFrame(
        {
            "seizure_id": seizure_ids.take(rows).array,
            "clearance_id": pd.array(linked_ids, dtype="string"),
            "method": pd.array(np.where(by_doc[rows], DOCUMENT, TRADER_ROUTE), dtype="string"),
            "days_apart": days[rows],
            "candidates": candidates[rows],
            "seizure_date": seizure_dates.take(rows).to_numpy(),
        }
    )
    clearance_id = np.full(n, None, dtype=object)
    clearance_id[rows] = linked_ids
    days_apart = pd.array(days, dtype="Int64")
    days_apart[~(linked | ambiguous)] = pd.NA
    out = pd.DataFrame(
        {
            "seizure_id": seizure_ids.array,
            "status": pd.array(status, dtype="string"),
            "clearance_id": pd.array(clearance_id, dtype="string"),
            "days_apart": days_apart,
            "candidates": candidates,
            "tied_clearance_ids": tied_ids.astype("string").array,
            "reason": reason.array,
        }
    )
    return LinkResult(links=links, seizures=out, config=config)
