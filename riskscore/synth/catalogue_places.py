"""Countries, ports, routes and carriers of the demo data.

Plain data: each country's region, ports and postal operator (UN/LOCODE), the transit routes and
crossings between the country shipped from and GB, and the carriers with the shapes of their
transport documents. Also the spellings a member's upload uses for country names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    """A country with its region (for routes), sea ports and airports (UN/LOCODE)."""

    code: str
    region: str
    seaports: tuple[str, ...] = ()
    airports: tuple[str, ...] = ()
    road: bool = False  # connected to GB by road (RoRo ferry or the Channel Tunnel)
    gateway: str = ""  # seaport country for a landlocked origin shipping by sea
    post: str = ""  # postal operator


def _c(
    code: str,
    region: str,
    sea: str,
    air: str,
    road: bool = False,
    gateway: str = "",
    post: str = "",
) -> Country:
    return Country(code, region, tuple(sea.split()), tuple(air.split()), road, gateway, post)


COUNTRIES: tuple[Country, ...] = (
    _c("CN", "east_asia", "CNSHA CNNGB CNYTN CNTAO CNXMN", "CNPVG CNPEK CNCAN", post="China Post"),
    _c("HK", "east_asia", "HKHKG", "HKHKG", post="Hongkong Post"),
    _c("TW", "east_asia", "TWKHH TWKEL", "TWTPE", post="Chunghwa Post"),
    _c("KR", "east_asia", "KRPUS KRINC", "KRSEL", post="Korea Post"),
    _c("JP", "east_asia", "JPYOK JPTYO JPNGO JPUKB", "JPTYO JPOSA", post="Japan Post"),
    _c("VN", "south_asia", "VNSGN VNHPH VNCMT", "VNSGN VNHAN", post="Vietnam Post"),
    _c("TH", "south_asia", "THLCH THBKK", "THBKK", post="Thailand Post"),
    _c("MY", "south_asia", "MYPKG MYTPP", "MYKUL MYPEN", post="Pos Malaysia"),
    _c("SG", "south_asia", "SGSIN", "SGSIN", post="SingPost"),
    _c("ID", "south_asia", "IDTPP IDSUB", "IDJKT", post="Pos Indonesia"),
    _c("KH", "south_asia", "KHKOS", "KHPNH"),
    _c("BD", "south_asia", "BDCGP", "BDDAC"),
    _c("IN", "south_asia", "INNSA INMUN INMAA", "INDEL INBOM INBLR", post="India Post"),
    _c("PK", "south_asia", "PKKHI PKBQM", "PKKHI PKLHE", post="Pakistan Post"),
    _c("LK", "south_asia", "LKCMB", "LKCMB"),
    _c("AE", "middle_east", "AEJEA AEKLF", "AEDXB AEAUH", post="Emirates Post"),
    _c("TR", "middle_east", "TRMER TRIST TRIZM", "TRIST", post="PTT"),
    _c("EG", "africa", "EGPSD EGALY", "EGCAI"),
    _c("MA", "africa", "MAPTM MACAS", "MACMN"),
    _c("CI", "africa", "CIABJ", "CIABJ"),
    _c("GH", "africa", "GHTEM", "GHACC"),
    _c("CM", "africa", "CMDLA CMKBI", "CMDLA"),
    _c("GA", "africa", "GAOWE", "GALBV"),
    _c("ZA", "africa", "ZADUR ZACPT", "ZAJNB", post="SA Post Office"),
    _c("KE", "africa", "KEMBA", "KENBO"),
    _c("ET", "africa", "", "ETADD", gateway="DJ"),
    _c("DJ", "africa", "DJJIB", "DJJIB"),
    _c("UG", "africa", "", "UGEBB", gateway="KE"),
    _c("EC", "latam", "ECGYE ECPSJ", "ECUIO ECGYE"),
    _c("CO", "latam", "COCTG COBUN COSMR", "COBOG COMDE", post="4-72"),
    _c("PE", "latam", "PECLL PEPAI", "PELIM"),
    _c("BR", "latam", "BRSSZ BRPNG BRRIG BRSSA", "BRGRU BRVCP", post="Correios"),
    _c("CR", "latam", "CRMOB CRLIO", "CRSJO"),
    _c("DO", "latam", "DOCAU DOHAI", "DOSDQ"),
    _c("PA", "latam", "PAMIT PABLB PAONX", "PAPTY"),
    _c("MX", "latam", "MXZLO MXVER", "MXMEX", post="Correos de Mexico"),
    _c("HN", "latam", "HNPCR", "HNSAP"),
    _c("CL", "latam", "CLSAI CLVAP", "CLSCL"),
    _c("US", "north_america", "USNYC USSAV USLAX USHOU", "USNYC USCHI USMIA USLAX", post="USPS"),
    _c("CA", "north_america", "CAMTR CAHAL CAVAN", "CATOR CAMTR", post="Canada Post"),
    _c("AU", "oceania", "AUMEL AUSYD", "AUSYD", post="Australia Post"),
    _c("NZ", "oceania", "NZAKL NZTRG", "NZAKL"),
    _c("DE", "europe", "DEHAM DEBRV", "DEFRA DELEJ", road=True, post="Deutsche Post"),
    _c("NL", "europe", "NLRTM", "NLAMS", road=True, post="PostNL"),
    _c("BE", "europe", "BEANR BEZEE", "BEBRU BELGG", road=True, post="bpost"),
    _c("FR", "europe", "FRLEH FRMRS FRDKK", "FRCDG FRLYS", road=True, post="La Poste"),
    _c("ES", "europe", "ESALG ESVLC ESBCN ESBIO", "ESMAD ESBCN", road=True, post="Correos"),
    _c("IT", "europe", "ITGOA ITSPE ITGIT", "ITMIL ITROM", road=True, post="Poste Italiane"),
    _c("PT", "europe", "PTLIS PTSIE PTLEI", "PTLIS PTOPO", road=True, post="CTT"),
    _c("PL", "europe", "PLGDN PLGDY", "PLWAW", road=True, post="Poczta Polska"),
    _c("CZ", "europe", "", "CZPRG", road=True, gateway="DE"),
    _c("SK", "europe", "", "SKBTS", road=True, gateway="DE"),
    _c("AT", "europe", "", "ATVIE", road=True, gateway="DE"),
    _c("HU", "europe", "", "HUBUD", road=True, gateway="DE"),
    _c("CH", "europe", "", "CHZRH CHBSL", road=True, gateway="NL", post="Swiss Post"),
    _c("IE", "europe", "IEDUB IEORK", "IEDUB", road=True, post="An Post"),
    _c("DK", "europe", "DKAAR", "DKCPH", road=True, post="PostNord"),
    _c("SE", "europe", "SEGOT", "SESTO", post="PostNord"),
    _c("FI", "europe", "FIHEL FIKTK", "FIHEL"),
    _c("LV", "europe", "LVRIX", "LVRIX"),
    _c("EE", "europe", "EETLL", "EETLL"),
    _c("NO", "europe", "NOOSL", "NOOSL"),
    _c("OM", "middle_east", "OMSLL", "OMMCT"),
    _c("QA", "middle_east", "QAHMD", "QADOH"),
    _c("GB", "europe", "GBFXT", "GBLHR"),
)

# Shipments sent by post or courier come from e-commerce origins as often as from the
# heading's usual suppliers.
PARCEL_ORIGINS = {
    "CN": 0.30,
    "US": 0.14,
    "HK": 0.07,
    "DE": 0.07,
    "NL": 0.07,
    "CA": 0.05,
    "CO": 0.03,
    "FR": 0.05,
    "IN": 0.05,
    "TR": 0.04,
    "JP": 0.03,
    "KR": 0.03,
    "ES": 0.04,
    "IT": 0.03,
}

# Transit countries between the country shipped from and GB, by mode group and region.
TRANSIT_ROUTES: dict[str, dict[str, dict[str, float]]] = {
    "sea": {
        "east_asia": {
            "": 0.35,
            "SG": 0.2,
            "SG;EG": 0.15,
            "MY;EG": 0.1,
            "LK;EG": 0.05,
            "EG;NL": 0.1,
            "EG;ES": 0.05,
        },
        "south_asia": {
            "": 0.4,
            "SG": 0.1,
            "LK": 0.15,
            "AE": 0.1,
            "LK;EG": 0.1,
            "EG;ES": 0.1,
            "OM;EG": 0.05,
        },
        "middle_east": {"": 0.6, "EG": 0.2, "EG;ES": 0.1, "MA": 0.1},
        "latam": {"": 0.45, "PA": 0.15, "ES": 0.15, "PA;ES": 0.1, "NL": 0.1, "BE": 0.05},
        "africa": {"": 0.5, "MA": 0.2, "ES": 0.2, "PT": 0.1},
        "north_america": {"": 0.7, "NL": 0.1, "BE": 0.1, "IE": 0.1},
        "oceania": {"": 0.3, "SG": 0.3, "SG;EG": 0.2, "LK;EG": 0.2},
        "europe": {"": 0.85, "NL": 0.1, "BE": 0.05},
    },
    "air": {
        "east_asia": {"": 0.6, "AE": 0.1, "QA": 0.1, "HK": 0.05, "TR": 0.05, "DE": 0.1},
        "south_asia": {"": 0.5, "AE": 0.2, "QA": 0.15, "TR": 0.1, "SG": 0.05},
        "middle_east": {"": 0.9, "TR": 0.1},
        "latam": {"": 0.4, "US": 0.2, "ES": 0.2, "NL": 0.1, "PA": 0.1},
        "africa": {"": 0.4, "AE": 0.15, "ET": 0.15, "QA": 0.1, "FR": 0.1, "BE": 0.1},
        "north_america": {"": 0.9, "IE": 0.1},
        "oceania": {"": 0.2, "SG": 0.4, "AE": 0.2, "QA": 0.2},
        "europe": {"": 0.95, "NL": 0.05},
    },
    # express and postal hubs (Leipzig, Liege/Brussels, Amsterdam, Paris)
    "parcel": {
        "far": {"": 0.5, "DE": 0.2, "BE": 0.15, "NL": 0.1, "FR": 0.05},
        "europe": {"": 0.8, "DE": 0.1, "BE": 0.1},
    },
}

# Road: the countries crossed to reach the ferry or tunnel port, by country shipped from.
ROAD_TRANSIT = {
    "FR": {"": 1.0},
    "BE": {"": 1.0},
    "NL": {"": 1.0},
    "IE": {"": 1.0},
    "DE": {"FR": 0.4, "BE;FR": 0.4, "NL": 0.2},
    "ES": {"FR": 1.0},
    "PT": {"ES;FR": 1.0},
    "IT": {"FR": 0.7, "CH;FR": 0.3},
    "PL": {"DE;BE;FR": 0.5, "DE;NL": 0.5},
    "CZ": {"DE;BE;FR": 0.6, "DE;FR": 0.4},
    "SK": {"CZ;DE;BE;FR": 1.0},
    "AT": {"DE;BE;FR": 0.6, "DE;FR": 0.4},
    "HU": {"AT;DE;BE;FR": 1.0},
    "CH": {"FR": 1.0},
    "DK": {"DE;NL": 1.0},
}

# Road: (port of loading, port of discharge) of the crossing, by the last country before GB.
ROAD_CROSSINGS = {
    "FR": {("FRCQF", "GBDVR"): 0.75, ("FRDKK", "GBDVR"): 0.25},
    "BE": {("BEZEE", "GBHUL"): 1.0},
    "NL": {("NLHOK", "GBHRW"): 0.6, ("NLRTM", "GBHUL"): 0.4},
    "IE": {("IEDUB", "GBHLY"): 1.0},
}

# A sea shipment from far away is sometimes consigned from a hub rather than from its origin.
TRANSSHIPMENT_HUBS = {
    "east_asia": ("SG", "MY", "HK"),
    "south_asia": ("SG", "AE", "LK"),
    "middle_east": ("EG",),
    "latam": ("PA", "ES", "NL"),
    "africa": ("MA", "ES"),
    "north_america": ("NL",),
    "oceania": ("SG",),
}

DISCHARGE_PORTS = {
    "sea_far": {"GBFXT": 0.4, "GBSOU": 0.2, "GBLGP": 0.2, "GBLIV": 0.1, "GBTIL": 0.1},
    "sea_near": {"GBTIL": 0.3, "GBHUL": 0.25, "GBIMM": 0.25, "GBFXT": 0.2},
    "air": {"GBLHR": 0.6, "GBEMA": 0.2, "GBSTN": 0.15, "GBMAN": 0.05},
    "courier": {"GBEMA": 0.5, "GBSTN": 0.2, "GBLHR": 0.3},
    "postal": {"GBLHR": 0.7, "GBMAN": 0.3},
}


@dataclass(frozen=True)
class Carrier:
    """A carrier and the shape of the transport documents it issues."""

    name: str
    mode: str  # sea, air, courier, postal, road
    weight: float
    prefix: str = ""  # SCAC / container owner code, IATA airline prefix, waybill prefix
    code: str = ""  # IATA airline code, for flight numbers


CARRIERS: tuple[Carrier, ...] = (
    Carrier("MSC", "sea", 0.2, "MSCU"),
    Carrier("Maersk", "sea", 0.17, "MAEU"),
    Carrier("CMA CGM", "sea", 0.13, "CMDU"),
    Carrier("COSCO Shipping", "sea", 0.12, "COSU"),
    Carrier("Hapag-Lloyd", "sea", 0.1, "HLCU"),
    Carrier("ONE", "sea", 0.08, "ONEY"),
    Carrier("Evergreen", "sea", 0.08, "EGLV"),
    Carrier("HMM", "sea", 0.04, "HDMU"),
    Carrier("ZIM", "sea", 0.04, "ZIMU"),
    Carrier("Yang Ming", "sea", 0.04, "YMLU"),
    Carrier("Emirates SkyCargo", "air", 0.12, "176", "EK"),
    Carrier("Qatar Airways Cargo", "air", 0.12, "157", "QR"),
    Carrier("IAG Cargo", "air", 0.14, "125", "BA"),
    Carrier("Lufthansa Cargo", "air", 0.08, "020", "LH"),
    Carrier("Turkish Cargo", "air", 0.07, "235", "TK"),
    Carrier("Cathay Cargo", "air", 0.07, "160", "CX"),
    Carrier("Singapore Airlines Cargo", "air", 0.05, "618", "SQ"),
    Carrier("Air France KLM Cargo", "air", 0.06, "057", "AF"),
    Carrier("Etihad Cargo", "air", 0.04, "607", "EY"),
    Carrier("China Southern Cargo", "air", 0.05, "784", "CZ"),
    Carrier("Air China Cargo", "air", 0.04, "999", "CA"),
    Carrier("American Airlines Cargo", "air", 0.05, "001", "AA"),
    Carrier("United Cargo", "air", 0.04, "016", "UA"),
    Carrier("Virgin Atlantic Cargo", "air", 0.04, "932", "VS"),
    Carrier("Ethiopian Cargo", "air", 0.03, "071", "ET"),
    Carrier("DHL Express", "courier", 0.45, ""),
    Carrier("UPS", "courier", 0.25, "1Z999AA1"),
    Carrier("FedEx Express", "courier", 0.2, "7"),
    Carrier("DPD", "courier", 0.1, "15"),
    Carrier("Trans-Channel Haulage", "road", 0.2),
    Carrier("EuroLink Freight", "road", 0.15),
    Carrier("Continental Road Transport", "road", 0.15),
    Carrier("Iberia Express Logistics", "road", 0.1),
    Carrier("Vistula Cargo Trans", "road", 0.1),
    Carrier("Alpine Road Freight", "road", 0.1),
    Carrier("Rhine Valley Logistics", "road", 0.1),
    Carrier("Celtic Bridge Freight", "road", 0.1),
)


# Spellings a member's upload uses instead of ISO alpha-2 codes; alpha-3 codes come from pycountry.
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "GB": ("UK", "United Kingdom", "Great Britain"),
    "HK": ("Hong Kong, China", "Hong Kong"),
    "VN": ("Viet Nam", "Vietnam"),
    "KR": ("Republic of Korea", "South Korea"),
    "TR": ("Türkiye", "Turkey"),
    "US": ("USA", "United States"),
    "NL": ("Netherlands", "The Netherlands"),
    "AE": ("United Arab Emirates", "UAE"),
    "CN": ("China",),
    "EC": ("Ecuador",),
    "CO": ("Colombia",),
    "PE": ("Peru",),
    "BR": ("Brazil",),
    "PA": ("Panama",),
    "SG": ("Singapore",),
    "DE": ("Germany",),
    "FR": ("France",),
    "ES": ("Spain",),
    "BE": ("Belgium",),
    "IE": ("Ireland",),
    "IT": ("Italy",),
    "PL": ("Poland",),
    "IN": ("India",),
    "CA": ("Canada",),
    "CM": ("Cameroon",),
    "MA": ("Morocco",),
    "TW": ("Taiwan",),
    "CI": ("Côte d'Ivoire", "Ivory Coast"),
}
