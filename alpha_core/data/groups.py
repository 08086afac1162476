"""Group fields of the real panel: sector, industry, subindustry, market, country, currency (SIMULATION.md §2).

``industry`` comes from the sub-industry through the local map of SIMULATION.md Appendix A (kept below in
the appendix's own notation, one sector per line: ``industry = sub; sub | industry-with-one-sub``).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import DataFileError

# SIMULATION.md Appendix A, verbatim: "sector: industry = sub-industries | ...".
APPENDIX_A = """
Energy: Energy Equipment & Services = Oil & Gas Drilling; Oil & Gas Equipment & Services | Oil, Gas & Consumable Fuels = Integrated Oil & Gas; Oil & Gas Exploration & Production; Oil & Gas Refining & Marketing & Transportation
Materials: Chemicals = Diversified Chemicals; Fertilizers & Agricultural Chemicals; Industrial Gases; Specialty Chemicals | Construction Materials | Containers & Packaging = Metal & Glass Containers; Paper Packaging; Paper & Plastic Packaging Products & Materials | Metals & Mining = Copper; Gold; Steel
Industrials: Aerospace & Defense | Building Products | Electrical Equipment = Electrical Components & Equipment | Industrial Conglomerates | Machinery = Construction & Farm Machinery & Heavy Trucks; Industrial Machinery | Trading Companies & Distributors = Trading Companies & Distributors; Industrial Materials | Commercial Services & Supplies = Diversified Commercial Services; Diversified Support Services; Environmental Services | Professional Services = Human Resource & Employment Services; Research & Consulting Services | Air Freight & Logistics | Airlines | Road & Rail = Railroads; Trucking
Consumer Discretionary: Auto Components = Auto Parts & Equipment; Automotive Parts & Equipment; Tires & Rubber | Automobiles = Automobile Manufacturers; Motorcycle Manufacturers | Household Durables = Consumer Electronics; Home Furnishings; Homebuilding; Household Appliances; Housewares & Specialties | Leisure Products | Textiles, Apparel & Luxury Goods = Apparel, Accessories & Luxury Goods | Hotels, Restaurants & Leisure = Casinos & Gaming; Hotels, Resorts & Cruise Lines; Restaurants | Media = Advertising; Broadcasting & Cable TV; Cable & Satellite; Publishing | Distributors | Internet & Direct Marketing Retail | Multiline Retail = Department Stores; General Merchandise Stores | Specialty Retail = Apparel Retail; Automotive Retail; Computer & Electronics Retail; Home Improvement Retail; Specialty Retail; Specialty Stores | Industrial Conglomerates
Consumer Staples: Food & Staples Retailing = Drug Retail; Food Distributors; Food Retail; Hypermarkets & Super Centers | Beverages = Brewers; Distillers & Vintners; Soft Drinks | Food Products = Agricultural Products; Packaged Foods & Meats | Tobacco | Household Products | Personal Products
Health Care: Health Care Equipment & Supplies = Health Care Equipment; Health Care Supplies | Health Care Providers & Services = Health Care Distributors; Health Care Facilities; Health Care Services; Managed Health Care | Health Care Technology | Biotechnology | Pharmaceuticals | Life Sciences Tools & Services | Industrial Conglomerates
Financials: Banks = Banks; Regional Banks | Thrifts & Mortgage Finance | Diversified Financial Services = Diversified Financial Services; Multi-Sector Holdings | Consumer Finance | Capital Markets = Asset Management & Custody Banks; Financial Exchanges & Data; Investment Banking & Brokerage | Insurance = Insurance Brokers; Life & Health Insurance; Multi-line Insurance; Property & Casualty Insurance; Reinsurance
Information Technology: Internet Software & Services | IT Services = Data Processing & Outsourced Services; IT Consulting & Other Services | Software = Application Software; Home Entertainment Software; Systems Software | Communications Equipment = Networking Equipment; Telecommunications Equipment | Technology Hardware, Storage & Peripherals = Computer Hardware; Computer Storage & Peripherals; Technology Hardware, Storage & Peripherals | Electronic Equipment, Instruments & Components = Electronic Components; Electronic Equipment & Instruments; Electronic Manufacturing Services | Semiconductors & Semiconductor Equipment = Semiconductor Equipment; Semiconductors
Telecommunication Services: Diversified Telecommunication Services = Integrated Telecommunications Services
Utilities: Electric Utilities | Independent Power and Renewable Electricity Producers = Independent Power Producers & Energy Traders | Multi-Utilities = MultiUtilities | Water Utilities
Real Estate: Equity REITs = Office REITs; REITs; Residential REITs; Retail REITs; Specialized REITs; Telecom Tower REITs | Real Estate Management & Development = Real Estate Services
"""

GROUP_FIELDS = ("sector", "industry", "subindustry", "market", "country", "currency")


@lru_cache(maxsize=1)
def industry_map() -> dict[tuple[str, str], str]:
    """(sector, sub-industry) -> industry, from Appendix A."""
    out: dict[tuple[str, str], str] = {}
    for line in APPENDIX_A.strip().splitlines():
        sector, body = line.split(": ", 1)
        for part in body.split(" | "):
            industry, _, subs = part.partition(" = ")
            for sub in (subs.split("; ") if subs else [industry]):
                out[(sector.strip(), sub.strip())] = industry.strip()
    return out


def _ids(labels: Sequence) -> np.ndarray:
    """Integer ids in sorted label order (None -> NaN), as float64 (N,)."""
    names = sorted({x for x in labels if x is not None})
    index = {name: i for i, name in enumerate(names)}
    return np.array([np.nan if x is None else float(index[x]) for x in labels], dtype=np.float64)


def group_vectors(tickers: Sequence[str], sector_of: dict[str, str | None], sub_of: dict[str, str | None],
                  source: Path | str = "sector_map_505.csv") -> dict[str, np.ndarray]:
    """Group ids per instrument: name -> (N,) float64 of integer ids (NaN = no group).

    ``sector`` ids follow the sorted sector names; ``industry`` the sorted (sector, industry) pairs;
    ``subindustry`` the sorted (sector, sub-industry) pairs; ``market``, ``country``, ``currency`` are 0.
    A ticker absent from the map, or with a blank sector, gets NaN everywhere except the one-group fields;
    a blank sub-industry gives NaN industry and subindustry. Raises ``DataFileError`` (naming ``source``)
    when a (sector, sub-industry) pair is not in Appendix A.
    """
    imap = industry_map()
    sectors, industries, subs = [], [], []
    for t in tickers:
        sec, sub = sector_of.get(t), sub_of.get(t)
        sectors.append(sec)
        if sec is None or sub is None:
            industries.append(None)
            subs.append(None)
            continue
        if (sec, sub) not in imap:
            raise DataFileError(source, f"ticker {t}: sub-industry {sub!r} of sector {sec!r} is not in the "
                                        "industry map of SIMULATION.md Appendix A")
        industries.append((sec, imap[(sec, sub)]))
        subs.append((sec, sub))
    one = np.zeros(len(tickers), dtype=np.float64)
    return {"sector": _ids(sectors), "industry": _ids(industries), "subindustry": _ids(subs),
            "market": one, "country": one.copy(), "currency": one.copy()}
