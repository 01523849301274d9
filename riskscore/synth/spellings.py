"""How members spell values in an upload: country names, dotted HS codes, mode words, aliases.

Every spelling is one that features/vocab.py, pycountry or COUNTRY_SPELLINGS maps back, so the
messy workbook normalises to the clean seizures.csv.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache

import numpy as np
import pycountry

from riskscore.features import vocab
from riskscore.synth.catalogue_places import COUNTRIES, COUNTRY_SPELLINGS
from riskscore.synth.scope import START

# Words members use for the means of transport (all known to vocab.MODE_ALIASES).
MODE_WORDS = {
    "sea": ("Maritime", "Sea freight", "Maritime transport", "Vessel"),
    "air": ("Air cargo", "Air freight", "Air transport"),
    "road": ("Road", "Truck", "Lorry", "Road transport"),
    "postal": ("Post", "Mail", "Postal consignment", "Parcel post"),
    "courier": ("Express courier", "Express", "Express consignment"),
}


def _inverse(aliases: dict[str, str], style: Callable[[str], str]) -> dict[str, tuple[str, ...]]:
    """Vocabulary value -> the other spellings vocab knows for it, styled as members type them."""
    out: dict[str, list[str]] = {}
    for alias, value in aliases.items():
        if alias != value and "_" not in alias:
            out.setdefault(value, []).append(style(alias))
    return {k: tuple(v) for k, v in out.items()}


@cache
def _spellings() -> dict[str, dict[str, tuple[str, ...]]]:
    """Kind of value -> clean value -> its other spellings."""
    rec19: dict[str, tuple[str, ...]] = {}
    for digit, mode in vocab.REC19_MODES.items():
        if mode != "unknown":
            rec19.setdefault(mode, (digit,))
    names = {}
    for c in COUNTRIES:
        names[c.code] = COUNTRY_SPELLINGS.get(c.code) or (
            pycountry.countries.get(alpha_2=c.code).name,
        )
    return {
        "mode_words": MODE_WORDS,
        "rec19": rec19,
        "unit": _inverse(vocab.UNIT_ALIASES, str.upper),
        "place_type": _inverse(vocab.PLACE_TYPE_ALIASES, str.title),
        "commodity": _inverse(vocab.COMMODITY_ALIASES, str.capitalize),
        "country_name": names,
        "alpha3": {c.code: (pycountry.countries.get(alpha_2=c.code).alpha_3,) for c in COUNTRIES},
    }


def respell(
    values: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    share: float,
    lo: float = 0.0,
    u: np.ndarray | None = None,
) -> np.ndarray:
    """Replace the values whose draw u falls in [lo, lo + share) by another spelling."""
    table = _spellings()[kind]
    u = rng.random(len(values)) if u is None else u
    v = rng.random(len(values))
    out = values.copy()
    for i in np.flatnonzero((u >= lo) & (u < lo + share)):
        options = table.get(values[i])
        if options:
            out[i] = options[int(v[i] * len(options))]
    return out


def messy_countries(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """45 % of country codes become a name (25 %) or an alpha-3 code (20 %)."""
    u = rng.random(len(values))
    named = respell(values, "country_name", rng, 1.0)
    alpha3 = respell(values, "alpha3", rng, 1.0)
    return np.where(u < 0.55, values, np.where(u < 0.8, named, alpha3))


def messy_transit(routes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half the routes spelled with names or alpha-3 codes, separated by ";" or ","."""
    out = routes.copy()
    u = rng.random(len(routes))
    for i in np.flatnonzero((u >= 0.5) & (routes != "")):
        names = messy_countries(np.array(routes[i].split(";"), dtype=object), rng)
        comma = u[i] < 0.75 and not any("," in x for x in names)  # "Hong Kong, China"
        out[i] = (", " if comma else "; ").join(names)
    return out


def messy_hs(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """35 % dotted ("1006.30"), 15 % typed as numbers (when no leading zero would be lost)."""
    u = rng.random(len(codes))
    out = codes.copy()
    for i in np.flatnonzero(u >= 0.5):
        code = codes[i]
        if not code:
            continue
        if u[i] < 0.85 or code.startswith("0"):
            out[i] = ".".join([code[:4], *(code[j : j + 2] for j in range(4, len(code), 2))])
        else:
            out[i] = int(code)
    return out


def messy_dates(days: np.ndarray, rng: np.random.Generator) -> list[object]:
    """Excel dates for 55 % of the rows, "DD/MM/YYYY" text for the rest."""
    u = rng.random(len(days))
    out: list[object] = []
    for d, x in zip(days, u, strict=True):
        day = START + dt.timedelta(days=int(d))
        out.append(dt.datetime(day.year, day.month, day.day) if x < 0.55 else f"{day:%d/%m/%Y}")
    return out
