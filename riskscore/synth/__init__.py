"""Seeded demo data: purchased clearance records, labelled declarations and CEN-style seizures.

`generate()` writes, into one folder, a realistic but fully synthetic data set for a member
customs administration (`MEMBER_COUNTRY`) over 2024-2025, with one planted risk pattern per
TFA Art. 7.4.4 selectivity criterion (`PATTERNS`). docs/demo-data.md describes every file, column
and pattern.

Where the parts are:

* reference data: catalogue_goods (headings), catalogue_places (countries, routes, carriers,
  country spellings), catalogue_seizures (offences, seizure places, the region's reporters);
  catalogue_arrays compiles them into index arrays;
* shipments: scope (member, period, modes), traders, shipments, routes, documents;
* labels: patterns (the planted risks, inspection, revenue), chunks (the rows of one chunk);
* seizures: seizures (assembly and ids), linked_seizures, regional_seizures (with the regional
  background), seizure_fields;
* output: generator (`generate`), workbook and spellings (the messy xlsx), summary.
"""

from riskscore.synth.generator import SEED, SHIPMENTS, generate
from riskscore.synth.patterns import PATTERNS, Pattern
from riskscore.synth.scope import MEMBER_COUNTRY
from riskscore.synth.summary import SynthSummary

__all__ = ["MEMBER_COUNTRY", "PATTERNS", "SEED", "SHIPMENTS", "Pattern", "SynthSummary", "generate"]
