"""World regions of countries (UN M49 groupings, slightly merged) for per-region report segments.

A country's own row count is often too small to judge a model on; regions group them the way
an intelligence office briefs ("South America by sea"). Sub-Saharan Africa, Latin America and
the Caribbean, and Oceania are kept whole, as in the UN's SDG regional groupings.
"""

from __future__ import annotations

_REGIONS = {
    "Northern Europe": "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ",
    "Western Europe": "AT BE CH DE FR LI LU MC NL",
    "Southern Europe": "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK",
    "Eastern Europe": "BG BY CZ HU MD PL RO RU SK UA",
    "Northern Africa": "DZ EG EH LY MA SD TN",
    "Sub-Saharan Africa": (
        "AO BF BI BJ BW CD CF CG CI CM CV DJ ER ET GA GH GM GN GQ GW IO KE KM LR LS MG ML MR "
        "MU MW MZ NA NE NG RE RW SC SH SL SN SO SS ST SZ TD TF TG TZ UG YT ZA ZM ZW"
    ),
    "Western Asia": "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE",
    "Central Asia": "KG KZ TJ TM UZ",
    "Southern Asia": "AF BD BT IN IR LK MV NP PK",
    "Eastern Asia": "CN HK JP KP KR MN MO TW",
    "South-eastern Asia": "BN ID KH LA MM MY PH SG TH TL VN",
    "Northern America": "BM CA GL PM US",
    "Latin America and the Caribbean": (
        "AG AI AR AW BB BL BO BQ BR BS BV BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN "
        "HT JM KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI"
    ),
    "Oceania": (
        "AS AU CC CK CX FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS"
    ),
    "Antarctica": "AQ",
}

REGION_OF = {code: region for region, codes in _REGIONS.items() for code in codes.split()}


def region_of(code: str | None) -> str:
    """'Latin America and the Caribbean' for CO; 'unknown region' for a missing or unlisted code."""
    return REGION_OF.get(code or "", "unknown region")
