"""Reference data for the demo-data generator (`riskscore.synth`): goods, countries, routes.

Everything here is plain data. Figures are plausible orders of magnitude for imports into the
United Kingdom (unit prices in USD per gross kg, typical modes and origins), not statistics.
Trader identifiers made from this data are synthetic on purpose (IMP-GB-..., EXP-CN-...), so that
no real company is ever tagged as an offender.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Product:
    """One HS heading as it appears in the clearance data."""

    hs4: str
    codes: tuple[str, ...]  # 6- or 8-digit codes; the first is the most frequent
    descriptions: tuple[str, ...]  # goods descriptions a declarant would write
    usd_per_kg: float  # median declared unit price per gross kg
    unit: str  # supplementary unit, from vocab.UNITS
    kg_per_unit: float  # gross kg per unit of quantity (1.0 when the unit is kg)
    share: float  # relative frequency among shipments
    modes: dict[str, float]  # mode mix; "road" applies only to road-connected origins
    origins: dict[str, float]
    weight_factor: float = 1.0  # consignment size relative to the mode's typical size
    duty: float = 0.0  # UK Global Tariff ad valorem rate, used for revenue recovered
    seizure: tuple[str, str, str] = ("other", "misdeclaration", "misdeclared goods")
    # (commodity category, offence type, what is seized) when a shipment of it is illicit for a
    # reason that does not say otherwise (background, trader record, description mismatch)


_SEA = {"sea": 0.9, "air": 0.05, "courier": 0.05}
_PARCEL = {"sea": 0.35, "air": 0.2, "courier": 0.25, "postal": 0.2}
_IPR = ("ipr", "IPR infringement")

PRODUCTS: tuple[Product, ...] = (
    Product(
        "0803",
        ("08039010", "08031010", "080390"),
        ("fresh bananas", "cavendish bananas green", "organic bananas", "fresh plantains"),
        0.9,
        "kg",
        1.0,
        3.0,
        {"sea": 0.97, "air": 0.03},
        {"CO": 0.25, "EC": 0.2, "CR": 0.2, "DO": 0.15, "CI": 0.1, "GH": 0.05, "CM": 0.05},
        weight_factor=2.0,
        duty=0.08,
        seizure=("other", "phytosanitary breach", "bananas without phytosanitary certificate"),
    ),
    Product(
        "1006",
        ("10063098", "10063027", "10064000", "10062017"),
        (
            "long grain white rice",
            "basmati rice",
            "jasmine rice",
            "parboiled rice",
            "broken rice",
            "milled white rice in 25kg bags",
        ),
        0.8,
        "kg",
        1.0,
        2.5,
        {"sea": 0.93, "road": 0.05, "courier": 0.02},
        {
            "IN": 0.28,
            "PK": 0.14,
            "TH": 0.12,
            "VN": 0.07,
            "US": 0.04,
            "IT": 0.05,
            "ES": 0.05,
            "EC": 0.07,
            "CO": 0.06,
            "PE": 0.06,
            "BR": 0.06,
        },
        weight_factor=1.5,
        duty=0.12,
    ),
    Product(
        "0901",
        ("09011100", "09012100", "09011200"),
        ("green coffee beans", "arabica coffee beans not roasted", "roasted coffee beans"),
        3.5,
        "kg",
        1.0,
        1.5,
        {"sea": 0.85, "air": 0.05, "courier": 0.1},
        {
            "BR": 0.3,
            "CO": 0.2,
            "VN": 0.15,
            "ET": 0.1,
            "HN": 0.08,
            "PE": 0.07,
            "UG": 0.05,
            "KE": 0.05,
        },
        seizure=("other", "misdeclaration", "misdeclared coffee"),
    ),
    Product(
        "2402",
        ("24022090", "24021000", "24022010"),
        ("cigarettes", "king size cigarettes", "cigarettes 20s", "cigars", "cigarillos"),
        25.0,
        "unit",
        0.0012,
        1.5,
        {"sea": 0.6, "road": 0.35, "air": 0.05},
        {
            "DE": 0.2,
            "PL": 0.15,
            "NL": 0.1,
            "CH": 0.08,
            "CN": 0.12,
            "AE": 0.1,
            "VN": 0.08,
            "ID": 0.07,
            "KR": 0.05,
            "BE": 0.05,
        },
        duty=0.0,
        seizure=("tobacco", "smuggling", "cigarettes"),
    ),
    Product(
        "2203",
        ("22030001", "22030009", "22030010"),
        ("lager beer in bottles", "beer in cans 330ml", "craft ale", "stout in bottles"),
        1.5,
        "l",
        1.4,
        2.0,
        {"sea": 0.5, "road": 0.5},
        {"BE": 0.2, "DE": 0.15, "NL": 0.15, "MX": 0.1, "CZ": 0.1, "IE": 0.1, "IT": 0.1, "US": 0.1},
        seizure=("alcohol", "excise fraud", "beer"),
    ),
    Product(
        "2204",
        ("22042109", "22042138", "22041098"),
        ("red wine in bottles", "white wine 75cl", "sparkling wine", "wine in bulk"),
        4.0,
        "l",
        1.5,
        1.5,
        {"sea": 0.6, "road": 0.4},
        {
            "FR": 0.25,
            "IT": 0.2,
            "ES": 0.15,
            "AU": 0.1,
            "CL": 0.1,
            "ZA": 0.08,
            "NZ": 0.07,
            "US": 0.05,
        },
        seizure=("alcohol", "excise fraud", "wine"),
    ),
    Product(
        "3004",
        ("30049000", "30042000", "30043900", "30045000"),
        (
            "paracetamol tablets",
            "antibiotic capsules",
            "medicaments in measured doses",
            "vitamin preparations",
            "pharmaceutical products for retail sale",
        ),
        60.0,
        "kg",
        1.0,
        2.0,
        {"sea": 0.3, "air": 0.45, "courier": 0.15, "postal": 0.05, "road": 0.05},
        {"IN": 0.25, "DE": 0.15, "CH": 0.1, "US": 0.1, "IE": 0.1, "FR": 0.1, "BE": 0.1, "CN": 0.1},
        weight_factor=0.3,
        seizure=("other", "falsified medicines", "falsified medicines"),
    ),
    Product(
        "3304",
        ("33049900", "33042000", "33041000"),
        ("skin care cream", "eye make-up preparations", "lipstick", "cosmetics", "face serum"),
        20.0,
        "kg",
        1.0,
        2.0,
        _PARCEL,
        {
            "FR": 0.2,
            "KR": 0.2,
            "US": 0.15,
            "IT": 0.1,
            "CN": 0.15,
            "DE": 0.1,
            "ES": 0.05,
            "PL": 0.05,
        },
        weight_factor=0.3,
        seizure=(*_IPR, "counterfeit cosmetics"),
    ),
    Product(
        "3926",
        ("39269097", "39261000", "39264000"),
        ("plastic household articles", "plastic office supplies", "plastic ornaments"),
        5.0,
        "kg",
        1.0,
        3.0,
        _SEA,
        {
            "CN": 0.45,
            "DE": 0.1,
            "IT": 0.08,
            "PL": 0.08,
            "TR": 0.08,
            "US": 0.07,
            "VN": 0.07,
            "IN": 0.07,
        },
    ),
    Product(
        "4011",
        ("40111000", "40112090", "40114000"),
        ("new pneumatic tyres for cars", "truck tyres", "motorcycle tyres"),
        4.0,
        "unit",
        9.0,
        1.5,
        {"sea": 0.8, "road": 0.2},
        {"CN": 0.3, "JP": 0.1, "KR": 0.1, "TH": 0.15, "DE": 0.1, "FR": 0.1, "IN": 0.1, "VN": 0.05},
        duty=0.045,
    ),
    Product(
        "4202",
        ("42022100", "42029291", "42023210"),
        ("leather handbags", "travel bags", "wallets", "backpacks"),
        30.0,
        "unit",
        0.8,
        1.5,
        _PARCEL,
        {"CN": 0.45, "IT": 0.15, "FR": 0.1, "VN": 0.1, "IN": 0.1, "TR": 0.1},
        weight_factor=0.3,
        duty=0.03,
        seizure=(*_IPR, "counterfeit handbags"),
    ),
    Product(
        "4407",
        ("44071190", "44072999", "44079190", "44071990"),
        ("sawn softwood", "sawn tropical hardwood", "kiln dried oak planks", "sawn timber"),
        0.7,
        "m3",
        600.0,
        1.5,
        {"sea": 0.95, "road": 0.05},
        {
            "SE": 0.25,
            "FI": 0.2,
            "LV": 0.15,
            "BR": 0.08,
            "CM": 0.12,
            "GA": 0.08,
            "US": 0.07,
            "MY": 0.05,
        },
        weight_factor=2.0,
        seizure=("timber", "illegal timber", "sawn timber"),
    ),
    Product(
        "4412",
        ("44123190", "44123300", "44129990"),
        ("plywood sheets", "birch plywood", "tropical hardwood faced plywood"),
        0.9,
        "m3",
        650.0,
        1.0,
        {"sea": 0.95, "road": 0.05},
        {
            "CN": 0.3,
            "BR": 0.15,
            "FI": 0.15,
            "MY": 0.1,
            "ID": 0.1,
            "CM": 0.08,
            "LV": 0.07,
            "GA": 0.05,
        },
        weight_factor=1.5,
        duty=0.07,
        seizure=("timber", "illegal timber", "plywood"),
    ),
    Product(
        "6109",
        ("61091000", "61099020"),
        ("cotton t-shirts", "knitted t-shirts", "mens tshirts 100% cotton", "vests"),
        18.0,
        "unit",
        0.2,
        3.5,
        _PARCEL,
        {
            "BD": 0.3,
            "CN": 0.2,
            "TR": 0.15,
            "IN": 0.1,
            "PK": 0.05,
            "VN": 0.05,
            "KH": 0.05,
            "PT": 0.1,
        },
        weight_factor=0.5,
        duty=0.12,
        seizure=(*_IPR, "counterfeit t-shirts"),
    ),
    Product(
        "6110",
        ("61102099", "61103099", "61101130"),
        ("cotton jerseys", "knitted pullovers", "wool cardigans", "sweatshirts"),
        25.0,
        "unit",
        0.4,
        3.0,
        _PARCEL,
        {"CN": 0.3, "BD": 0.2, "TR": 0.15, "VN": 0.1, "KH": 0.1, "IT": 0.1, "IN": 0.05},
        weight_factor=0.5,
        duty=0.12,
        seizure=(*_IPR, "counterfeit sweatshirts"),
    ),
    Product(
        "6403",
        ("64039993", "64039196", "64035995"),
        ("leather shoes", "mens leather footwear", "leather ankle boots", "womens leather sandals"),
        35.0,
        "pair",
        1.0,
        2.0,
        _PARCEL,
        {"CN": 0.35, "VN": 0.25, "IN": 0.12, "IT": 0.1, "PT": 0.1, "ID": 0.08},
        weight_factor=0.5,
        duty=0.08,
        seizure=(*_IPR, "counterfeit footwear"),
    ),
    Product(
        "7208",
        ("72083900", "72085120", "72082700"),
        ("hot rolled steel coils", "hot rolled steel plates", "flat rolled iron"),
        0.8,
        "kg",
        1.0,
        1.5,
        {"sea": 0.9, "road": 0.1},
        {"KR": 0.2, "IN": 0.2, "TR": 0.15, "JP": 0.1, "TW": 0.1, "VN": 0.1, "NL": 0.08, "DE": 0.07},
        weight_factor=3.0,
        seizure=("other", "origin fraud", "steel coils with false origin"),
    ),
    Product(
        "8471",
        ("84713000", "84714100", "84716060", "84717050"),
        (
            "laptop computers",
            "notebook pc",
            "desktop computers",
            "computer keyboards",
            "ssd drives",
        ),
        150.0,
        "unit",
        2.5,
        3.0,
        {"sea": 0.45, "air": 0.35, "courier": 0.15, "postal": 0.05},
        {"CN": 0.6, "TW": 0.1, "VN": 0.1, "MY": 0.07, "TH": 0.05, "US": 0.08},
        weight_factor=0.3,
        seizure=(*_IPR, "counterfeit computer equipment"),
    ),
    Product(
        "8517",
        ("85171300", "85176200", "85177900"),
        ("smartphones", "mobile phones", "wireless routers", "parts of telephone sets"),
        300.0,
        "unit",
        0.4,
        3.0,
        {"sea": 0.2, "air": 0.5, "courier": 0.2, "postal": 0.1},
        {"CN": 0.55, "VN": 0.2, "IN": 0.1, "KR": 0.1, "US": 0.05},
        weight_factor=0.2,
        seizure=(*_IPR, "counterfeit mobile phones"),
    ),
    Product(
        "8528",
        ("85287280", "85285291"),
        ("led televisions", "computer monitors", "smart tv 55 inch"),
        25.0,
        "unit",
        15.0,
        1.5,
        {"sea": 0.8, "air": 0.1, "road": 0.1},
        {"CN": 0.5, "PL": 0.15, "KR": 0.1, "MY": 0.1, "VN": 0.1, "HU": 0.05},
        duty=0.14,
        seizure=(*_IPR, "counterfeit televisions"),
    ),
    Product(
        "8541",
        ("85414300", "85414200", "85414900"),
        ("photovoltaic modules", "solar panels", "solar cells"),
        4.0,
        "unit",
        22.0,
        1.5,
        {"sea": 0.95, "road": 0.05},
        {"CN": 0.8, "VN": 0.07, "MY": 0.05, "TH": 0.04, "IN": 0.04},
        weight_factor=1.5,
        seizure=("other", "origin fraud", "solar panels with false origin"),
    ),
    Product(
        "8703",
        ("87032319", "87038010", "87032210", "87034010"),
        ("passenger car petrol", "electric vehicle", "hybrid passenger car", "used motor car"),
        20.0,
        "unit",
        1500.0,
        2.0,
        {"sea": 0.6, "road": 0.4},
        {
            "DE": 0.3,
            "JP": 0.12,
            "ES": 0.1,
            "CZ": 0.05,
            "KR": 0.1,
            "CN": 0.12,
            "FR": 0.08,
            "US": 0.05,
            "BE": 0.05,
            "SK": 0.03,
        },
        weight_factor=1.0,
        duty=0.10,
        seizure=("other", "stolen vehicle", "stolen motor vehicle"),
    ),
    Product(
        "8708",
        ("87082990", "87089997", "87084099", "87083099"),
        ("car body parts", "motor vehicle parts", "gearboxes", "brake pads"),
        12.0,
        "kg",
        1.0,
        3.0,
        {"sea": 0.6, "road": 0.25, "air": 0.1, "courier": 0.05},
        {
            "DE": 0.25,
            "CN": 0.2,
            "JP": 0.08,
            "CZ": 0.08,
            "PL": 0.08,
            "ES": 0.08,
            "MX": 0.05,
            "TR": 0.08,
            "IN": 0.1,
        },
        duty=0.045,
        seizure=(*_IPR, "counterfeit car parts"),
    ),
    Product(
        "9018",
        ("90183900", "90189084", "90181900"),
        ("catheters", "medical instruments", "patient monitoring apparatus", "surgical needles"),
        80.0,
        "kg",
        1.0,
        1.5,
        {"sea": 0.3, "air": 0.5, "courier": 0.2},
        {
            "US": 0.25,
            "DE": 0.2,
            "CN": 0.15,
            "IE": 0.1,
            "MX": 0.1,
            "MY": 0.08,
            "CH": 0.07,
            "JP": 0.05,
        },
        weight_factor=0.3,
        seizure=("other", "non-compliant medical devices", "non-compliant medical devices"),
    ),
    Product(
        "9403",
        ("94036010", "94035000", "94032080"),
        ("wooden furniture", "bedroom furniture", "metal office furniture"),
        4.0,
        "unit",
        25.0,
        2.5,
        {"sea": 0.75, "road": 0.25},
        {"CN": 0.4, "VN": 0.2, "PL": 0.15, "IT": 0.1, "IN": 0.1, "MY": 0.05},
        seizure=("other", "misdeclaration", "misdeclared furniture"),
    ),
    Product(
        "9503",
        ("95030099", "95030041", "95030075"),
        ("toys", "stuffed toys", "plastic toys", "building block sets", "dolls"),
        10.0,
        "kg",
        1.0,
        3.0,
        _PARCEL,
        {"CN": 0.75, "VN": 0.08, "DE": 0.05, "DK": 0.05, "IN": 0.07},
        weight_factor=0.7,
        seizure=(*_IPR, "counterfeit toys"),
    ),
)

# Descriptions that do not belong with the heading they are declared under (goods_description
# pattern): generic cover descriptions, plus descriptions of other headings (drawn by synth).
COVER_DESCRIPTIONS = (
    "ceramic tiles",
    "marble slabs",
    "garden furniture",
    "spare parts",
    "samples of no commercial value",
    "personal effects",
    "used clothing",
    "kitchen utensils",
    "decorative items",
    "handicrafts",
    "paper products",
    "household goods",
)


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
