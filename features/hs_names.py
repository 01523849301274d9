"""Readable names for HS chapters and countries, for sentences, plots and reports."""

from __future__ import annotations

from functools import cache

import pycountry

HS_CHAPTERS = {
    "01": "live animals", "02": "meat", "03": "fish and seafood", "04": "dairy, eggs, honey",
    "05": "other animal products", "06": "live plants and flowers", "07": "vegetables",
    "08": "fruit and nuts", "09": "coffee, tea and spices", "10": "cereals",
    "11": "milling products", "12": "oil seeds", "13": "lac, gums and resins",
    "14": "vegetable plaiting materials", "15": "fats and oils",
    "16": "meat and fish preparations", "17": "sugars", "18": "cocoa",
    "19": "cereal preparations", "20": "vegetable and fruit preparations",
    "21": "miscellaneous edible preparations", "22": "beverages and spirits",
    "23": "food industry residues", "24": "tobacco", "25": "salt, stone and cement",
    "26": "ores", "27": "mineral fuels", "28": "inorganic chemicals", "29": "organic chemicals",
    "30": "pharmaceutical products", "31": "fertilisers", "32": "dyes and paints",
    "33": "essential oils and cosmetics", "34": "soap and waxes", "35": "glues and enzymes",
    "36": "explosives", "37": "photographic goods", "38": "miscellaneous chemical products",
    "39": "plastics", "40": "rubber", "41": "hides and leather", "42": "leather articles",
    "43": "furskins", "44": "wood", "45": "cork", "46": "basketware", "47": "wood pulp",
    "48": "paper", "49": "printed matter", "50": "silk", "51": "wool", "52": "cotton",
    "53": "other vegetable fibres", "54": "man-made filaments", "55": "man-made staple fibres",
    "56": "wadding, felt and cordage", "57": "carpets", "58": "special woven fabrics",
    "59": "coated textile fabrics", "60": "knitted fabrics", "61": "knitted apparel",
    "62": "woven apparel", "63": "other made-up textiles", "64": "footwear", "65": "headgear",
    "66": "umbrellas", "67": "feathers and artificial flowers",
    "68": "articles of stone and cement", "69": "ceramic products", "70": "glass",
    "71": "precious stones and metals", "72": "iron and steel", "73": "articles of iron or steel",
    "74": "copper", "75": "nickel", "76": "aluminium", "78": "lead", "79": "zinc", "80": "tin",
    "81": "other base metals", "82": "tools and cutlery", "83": "base metal articles",
    "84": "machinery", "85": "electrical equipment", "86": "railway equipment",
    "87": "vehicles", "88": "aircraft", "89": "ships and boats",
    "90": "optical and medical instruments",
    "91": "clocks and watches", "92": "musical instruments", "93": "arms and ammunition",
    "94": "furniture and lighting", "95": "toys, games and sports equipment",
    "96": "miscellaneous manufactured articles", "97": "works of art and antiques",
}  # fmt: skip


def chapter_name(hs_code: str | None) -> str:
    """'tobacco' for any code in chapter 24; '' when unknown."""
    return HS_CHAPTERS.get((hs_code or "")[:2], "")


def hs_label(hs_code: str | None) -> str:
    """'2402 (tobacco)': a code with its chapter's name."""
    if not hs_code:
        return "unknown HS code"
    name = chapter_name(hs_code)
    return f"{hs_code} ({name})" if name else hs_code


@cache
def country_name(code: str | None) -> str:
    """'Ecuador' for EC; the code itself when unknown; 'unknown country' for None/ZZ."""
    if not code or code == "ZZ":
        return "unknown country"
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return getattr(found, "common_name", None) or found.name
