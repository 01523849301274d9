"""What the demo seizures contain: offences, quantities, places and the region's reporters.

Plain data for the seizure records: the goods, concealment and detection of each planted pattern's
offences, the regional background seizures that match no clearance record, the places where the
member and the region's other members seize goods, and document prefixes no clearance record uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Where the member seizes goods: its ports and airports by name, mail centres, inland towns.
PLACE_NAMES = {
    "GBFXT": "Felixstowe",
    "GBSOU": "Southampton",
    "GBLGP": "London Gateway",
    "GBLIV": "Liverpool",
    "GBTIL": "Tilbury",
    "GBHUL": "Hull",
    "GBIMM": "Immingham",
    "GBDVR": "Dover",
    "GBHRW": "Harwich",
    "GBHLY": "Holyhead",
    "GBLHR": "London Heathrow",
    "GBEMA": "East Midlands Airport",
    "GBSTN": "London Stansted",
    "GBMAN": "Manchester Airport",
}
POSTAL_PLACES = ("Heathrow Worldwide Distribution Centre", "Coventry International Mail Centre")
INLAND_PLACES = ("Birmingham", "Manchester", "Leeds", "Glasgow", "Bristol", "London")

# Document-number prefixes used only by regional (non-member) seizures, so that they can never
# match a clearance record by accident: container lessors and cargo airlines absent from CARRIERS.
REGIONAL_CONTAINER_PREFIXES = ("TGHU", "TCLU", "CAIU", "GESU", "FSCU", "TRHU")
REGIONAL_AWB_PREFIXES = ("172", "369", "406", "615")

VESSEL_NAMES = (
    "OCEAN PIONEER",
    "ATLANTIC DAWN",
    "PACIFIC HARMONY",
    "NORTHERN STAR",
    "SOUTHERN CROSS",
    "EASTERN PROMISE",
    "SILVER WAVE",
    "CORAL BAY",
    "MERIDIAN EXPRESS",
    "HORIZON TRADER",
)

# Regional intelligence: seizures by other members of the region (RILO Western Europe).
REGION_REPORTERS = {
    "NL": 0.2,
    "BE": 0.15,
    "FR": 0.15,
    "DE": 0.14,
    "ES": 0.12,
    "IE": 0.06,
    "IT": 0.07,
    "PT": 0.04,
    "PL": 0.03,
    "DK": 0.04,
}
REGION_PLACES = {
    "NL": {"seaport": "Rotterdam", "airport": "Amsterdam Schiphol", "land_border": "Hazeldonk"},
    "BE": {"seaport": "Antwerp", "airport": "Liege Airport", "land_border": "Zelzate"},
    "FR": {"seaport": "Le Havre", "airport": "Roissy CDG", "land_border": "Calais"},
    "DE": {"seaport": "Hamburg", "airport": "Frankfurt Airport", "land_border": "Aachen"},
    "ES": {"seaport": "Algeciras", "airport": "Madrid Barajas", "land_border": "La Jonquera"},
    "IE": {"seaport": "Dublin Port", "airport": "Dublin Airport", "land_border": "Dundalk"},
    "IT": {"seaport": "Gioia Tauro", "airport": "Milan Malpensa", "land_border": "Como Brogeda"},
    "PT": {"seaport": "Sines", "airport": "Lisbon Airport", "land_border": "Vilar Formoso"},
    "PL": {"seaport": "Gdansk", "airport": "Warsaw Chopin", "land_border": "Terespol"},
    "DK": {"seaport": "Aarhus", "airport": "Copenhagen Airport", "land_border": "Padborg"},
}


@dataclass(frozen=True)
class Offence:
    """What a seizure of a given kind looks like in CEN."""

    category: str  # vocab.COMMODITY_CATEGORIES
    offence: str
    goods: tuple[str, ...]
    concealment: tuple[str, ...]
    detection: tuple[str, ...]
    unit: str = ""  # empty: the shipment's own quantity and unit
    median_qty: float = 0.0
    usd_per_unit: float = 0.0  # 0: the shipment's declared value
    # only for regional background seizures:
    hs_codes: tuple[str, ...] = field(default=())
    origins: tuple[str, ...] = field(default=())
    mode: str = ""


# Seizures caused by a planted pattern whose offence does not depend on the heading.
PATTERN_OFFENCES = {
    "rice_cocaine": Offence(
        "drugs",
        "drug trafficking",
        ("cocaine", "cocaine hydrochloride bricks"),
        ("in cover load (rice bags)", "rip-on/rip-off in container", "in container structure"),
        ("risk profiling", "X-ray scanner", "detector dog", "intelligence"),
        "kg",
        60.0,
        38_000.0,
    ),
    "cigarette_hub": Offence(
        "tobacco",
        "smuggling",
        ("illicit whites cigarettes", "counterfeit cigarettes"),
        ("behind cover load", "misdeclared goods", "in false compartment"),
        ("risk profiling", "X-ray scanner", "intelligence"),
        "",
        0.0,
        0.45,
    ),
    "timber_origin": Offence(
        "timber",
        "illegal timber",
        ("sawn tropical timber without legality documents", "azobe timber", "sapele timber"),
        ("not concealed", "false documents"),
        ("documentary check", "intelligence", "risk profiling"),
    ),
}

# Drugs found in small parcels, by origin (transport_mode pattern).
PARCEL_DRUGS = {
    "NL": ("MDMA tablets", 15_000.0),
    "US": ("herbal cannabis", 6_000.0),
    "CA": ("herbal cannabis", 6_000.0),
    "CO": ("cocaine", 38_000.0),
}
PARCEL_CONCEALMENT = ("in postal parcel", "inside electronic goods", "vacuum-sealed in clothing")
PARCEL_DETECTION = ("X-ray scanner", "detector dog", "risk profiling")

# Regional seizures with no clearance counterpart (passengers, exports, other flows).
REGIONAL_BACKGROUND = (
    Offence(
        "cash",
        "undeclared cash",
        ("euro banknotes", "US dollar banknotes"),
        ("on body", "in luggage"),
        ("detector dog", "random check"),
        "unit",
        1.0,
        45_000.0,
        origins=("AE", "TR", "MA", "CN"),
        mode="air",
    ),
    Offence(
        "weapons",
        "arms trafficking",
        ("firearm parts",),
        ("in luggage", "in postal parcel"),
        ("X-ray scanner",),
        "unit",
        3.0,
        900.0,
        hs_codes=("930591", "930599"),
        origins=("US", "TR"),
        mode="postal",
    ),
    Offence(
        "wildlife",
        "CITES violation",
        ("pangolin scales", "ivory carvings", "live reptiles"),
        ("in luggage", "misdeclared goods"),
        ("X-ray scanner", "detector dog", "intelligence"),
        "kg",
        12.0,
        2_000.0,
        hs_codes=("050790", "050710", "010620"),
        origins=("CM", "GA", "CI", "VN", "KE", "ZA"),
        mode="air",
    ),
    Offence(
        "precursors",
        "precursor diversion",
        ("BMK glycidate", "APAA"),
        ("misdeclared goods", "in drums"),
        ("intelligence", "documentary check"),
        "kg",
        400.0,
        50.0,
        hs_codes=("291439", "292690"),
        origins=("CN", "IN"),
        mode="sea",
    ),
    Offence(
        "waste",
        "illegal waste shipment",
        ("plastic waste", "end-of-life electronics"),
        ("not concealed", "misdeclared goods"),
        ("documentary check", "risk profiling"),
        "t",
        20.0,
        150.0,
        hs_codes=("391590", "854900"),
        origins=(),  # exports: origin is the reporting country
        mode="sea",
    ),
    Offence(
        "drugs",
        "drug trafficking",
        ("khat", "herbal cannabis"),
        ("in luggage", "in air cargo"),
        ("detector dog", "risk profiling"),
        "kg",
        40.0,
        400.0,
        hs_codes=("121190",),
        origins=("KE", "ET"),
        mode="air",
    ),
)
WASTE_DESTINATIONS = ("MY", "VN", "TR", "GH")
