"""Load the bundled administrative divisions into ``Region`` rows."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "china-admin-divisions"
# Placeholder city names that add nothing to a displayed place name.
PLACEHOLDER_CITY_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def _read(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_regions(region_model):
    """Insert every province, city and district; return the number of rows created. Skips existing codes."""
    existing = set(region_model.objects.values_list("code", flat=True))
    created = 0
    provinces = {}
    for row in _read("provinces.csv"):
        if row["code"] not in existing:
            region_model.objects.create(code=row["code"], name=row["name"], level="province", full_name=row["name"])
            created += 1
        provinces[row["code"]] = region_model.objects.get(code=row["code"])

    cities = {}
    new_cities = []
    for row in _read("cities.csv"):
        province = provinces[row["provinceCode"]]
        full_name = province.name if row["name"] in PLACEHOLDER_CITY_NAMES else f"{province.name} {row['name']}"
        if row["code"] not in existing:
            new_cities.append(
                region_model(code=row["code"], name=row["name"], level="city", parent=province, full_name=full_name)
            )
    region_model.objects.bulk_create(new_cities, batch_size=500)
    created += len(new_cities)
    for city in region_model.objects.filter(level="city"):
        cities[city.code] = city

    new_areas = []
    for row in _read("areas.csv"):
        if row["code"] in existing:
            continue
        city = cities[row["cityCode"]]
        new_areas.append(
            region_model(
                code=row["code"],
                name=row["name"],
                level="district",
                parent=city,
                full_name=f"{city.full_name} {row['name']}",
                is_statistical_zone=row["code"][4] == "7",
            )
        )
    region_model.objects.bulk_create(new_areas, batch_size=500)
    return created + len(new_areas)
