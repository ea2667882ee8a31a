"""Demo categories and products built from the bundled FDA dental device lists.

Trade names and manufacturers are real (FDA 510(k) clearances); Chinese
names, specifications, prices and NMPA numbers are generated, so every
product is marked ``is_demo``.
"""

import csv
import datetime
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from dentalsales.catalog.models import Category
from dentalsales.catalog.services import create_product
from dentalsales.core.money import round_money

DATA_DIR = Path(__file__).resolve().parents[2] / "catalog" / "data" / "dental-products"
CLEARANCES_FILE = DATA_DIR / "fda_510k_dental_clearances.csv"
PRODUCT_CODES_FILE = DATA_DIR / "fda_dental_product_codes.csv"

EXPIRED_REGISTRATIONS = 5
EXPIRING_REGISTRATIONS = 7
# NMPA category 17: dental devices (口腔科器械).
NMPA_CATEGORY = "17"

# Groups above the FDA product codes: (code, Chinese name, English name).
GROUPS = [
    ("G-FILL", "充填与粘接材料", "Filling and bonding materials"),
    ("G-PROS", "修复材料", "Prosthetic materials"),
    ("G-IMPR", "印模材料", "Impression materials"),
    ("G-ENDO", "根管治疗材料与器械", "Endodontic materials and instruments"),
    ("G-IMPL", "种植与骨修复", "Implants and bone regeneration"),
    ("G-ORTH", "正畸材料", "Orthodontic materials"),
    ("G-BURS", "车针与抛光", "Burs and polishing"),
    ("G-AUX", "临床辅助耗材", "Chairside disposables"),
]


@dataclass(frozen=True)
class Pack:
    specification: str
    unit: str
    low: int  # list price range in yuan, tax included
    high: int


@dataclass(frozen=True)
class CategorySpec:
    code: str  # FDA product code
    group: str
    name: str  # Chinese name, written by hand for the FDA device name
    device_class: str  # NMPA class chosen for the China market, not the FDA class
    packs: tuple
    storage: str
    shelf_life_months: int
    limit: int  # most products taken from the clearances of this code
    # The FDA files some unrelated devices under a code, such as a depth
    # gauge under implants. A trade name must match ``include`` (when
    # given) and must not match ``exclude``.
    include: str = ""
    exclude: str = ""

    @property
    def is_implantable(self):
        return self.group == "G-IMPL"


DRY = "常温，干燥处保存"
COOL_DARK = "2–25℃，避光，密封保存"
CATEGORIES = [
    CategorySpec("EBF", "G-FILL", "复合树脂充填材料", "II", (
        Pack("4g/支 A2", "支", 120, 380), Pack("4g/支 A3", "支", 120, 380), Pack("4g/支 A3.5", "支", 120, 380),
        Pack("4g/支 B1", "支", 120, 380), Pack("2g/支 A2 流动型", "支", 90, 260),
        Pack("20×0.25g 胶囊/盒 A2", "盒", 260, 520),
    ), COOL_DARK, 36, 40, exclude=r"POLISH|ETCH|TINT|STAIN|BOND|PORCELAIN|KIT|VENEER|ORTHODONTIC|ADHESIVE|PRIMER|IONOMER|SEALANT|CEMENT"),
    CategorySpec("KLE", "G-FILL", "牙科粘接剂", "II", (
        Pack("5ml/瓶", "瓶", 260, 780), Pack("3ml/瓶", "瓶", 180, 520), Pack("酸蚀凝胶 3×5ml/盒", "盒", 90, 220),
    ), COOL_DARK, 24, 14, exclude=r"PERMAGUM|DISCLOSING|RESTORATIVE PASTE|POWDER LIQ|BRIDGE|VENEER SYSTEM|NUMBER 2"),
    CategorySpec("EBC", "G-FILL", "窝沟封闭剂", "II", (
        Pack("2×1.2ml/支", "支", 90, 260), Pack("5ml/瓶", "瓶", 160, 380),
    ), COOL_DARK, 24, 10, include=r"SEAL|FISSURE"),
    CategorySpec("EJK", "G-FILL", "氢氧化钙洞衬材料", "II", (
        Pack("基质13g+催化剂11g/盒", "盒", 90, 220), Pack("2g/支 光固化", "支", 70, 180),
    ), COOL_DARK, 24, 8, exclude=r"SEALER|ETCH"),
    CategorySpec("EMA", "G-FILL", "牙科水门汀", "II", (
        Pack("粉15g+液10ml/盒", "盒", 120, 480), Pack("50粒胶囊/盒", "盒", 380, 880), Pack("5ml/支 双筒注射器", "支", 160, 420),
    ), "4–25℃，干燥处保存", 24, 20, exclude=r"PAK|PACK|DRESSING|PERIO|USP|HOLDER"),
    CategorySpec("EMB", "G-FILL", "氧化锌丁香酚水门汀", "II", (
        Pack("粉40g+液15ml/盒", "盒", 45, 120),
    ), DRY, 24, 4),
    CategorySpec("EBG", "G-PROS", "临时冠桥树脂", "II", (
        Pack("A2 50ml 双筒/盒", "盒", 380, 950), Pack("A3 粉100g+液50ml/盒", "盒", 280, 680),
    ), COOL_DARK, 24, 8, exclude=r"BUTTONS|CEMENT|MAR BOND|CAVIT|SILANIT"),
    CategorySpec("ELZ", "G-PROS", "预成冠", "II", (
        Pack("不锈钢乳牙冠 5颗/盒", "盒", 150, 280), Pack("单颗", "个", 30, 60),
    ), DRY, 60, 4, include=r"CROWN"),
    CategorySpec("EIH", "G-PROS", "牙科陶瓷材料", "II", (
        Pack("瓷粉 20g/瓶", "瓶", 180, 420), Pack("氧化锆瓷块 98×14mm", "个", 380, 1200),
    ), DRY, 60, 6, include=r"PORCELAIN|CERAMIC|ZIRCONIA|CERA", exclude=r"POLISH|PRIMER|KIT|SPRAY"),
    CategorySpec("ELW", "G-IMPR", "印模材料", "I", (
        Pack("藻酸盐 453g/包", "包", 35, 90), Pack("硅橡胶 重体300ml+轻体50ml/盒", "盒", 260, 680),
        Pack("加成型硅橡胶 2×50ml/盒", "盒", 220, 520),
    ), "5–27℃，阴凉干燥处，密封保存", 24, 18, exclude=r"ADHESIVE|TRAY|CHECKER|INDICATOR|BITE|CENTRIC"),
    CategorySpec("EHY", "G-IMPR", "成品印模托盘", "I", (
        Pack("金属托盘 10只/套", "套", 80, 260), Pack("一次性塑料托盘 12只/包", "包", 25, 60),
    ), DRY, 60, 6, include=r"TRAY"),
    CategorySpec("EGD", "G-IMPR", "牙科蜡", "I", (
        Pack("红蜡片 250g/盒", "盒", 30, 80), Pack("咬合蜡 50片/盒", "盒", 45, 120),
    ), "阴凉处保存，不超过30℃", 60, 6, include=r"WAX"),
    CategorySpec("EKS", "G-ENDO", "根管锉", "II", (
        Pack("K锉 21mm #15–40 6支/盒", "盒", 35, 90), Pack("H锉 25mm #15–40 6支/盒", "盒", 40, 95),
        Pack("镍钛机用锉 25mm 6支/盒", "盒", 180, 420),
    ), "常温，干燥处保存，防锈", 60, 10, include=r"FILE"),
    CategorySpec("EKP", "G-ENDO", "根管扩大针", "II", (Pack("25mm #15–40 6支/盒", "盒", 35, 90),), "常温，干燥处保存，防锈", 60, 4, include=r"REAMER"),
    CategorySpec("EKW", "G-ENDO", "拔髓针", "II", (Pack("倒钩拔髓针 10支/盒", "盒", 20, 60),), "常温，干燥处保存，防锈", 60, 5, include=r"BROACH"),
    CategorySpec("EKM", "G-ENDO", "牙胶尖", "II", (
        Pack("#15–40 120支/盒", "盒", 25, 80), Pack("04锥度 60支/盒", "盒", 45, 120),
    ), "阴凉处保存，不超过25℃，避光", 36, 10, include=r"GUTTA|PERCHA|OBTURAT", exclude=r"KIT|GUN|DELIVERY"),
    CategorySpec("EKN", "G-ENDO", "吸潮纸尖", "I", (Pack("#15–40 200支/盒", "盒", 15, 45),), DRY, 60, 5, include=r"POINT"),
    CategorySpec("KIF", "G-ENDO", "根管充填材料", "II", (
        Pack("糊剂 2×4ml/盒", "盒", 220, 560), Pack("粉15g+液10ml/盒", "盒", 120, 320),
    ), COOL_DARK, 24, 6, include=r"SEAL|FILL|CEMENT|CANAL", exclude=r"KIT"),
    CategorySpec("ELR", "G-ENDO", "根管桩", "II", (
        Pack("纤维桩 1.2mm 10支/盒", "盒", 260, 680), Pack("预成金属桩 10支/盒", "盒", 120, 300),
    ), DRY, 60, 6, include=r"POST|PIN"),
    CategorySpec("EIC", "G-ENDO", "根管冲洗器", "I", (
        Pack("27G 冲洗针头 100支/盒", "盒", 60, 160), Pack("5ml 冲洗注射器 50支/包", "包", 40, 110),
    ), "常温，干燥处保存，防潮", 60, 6, include=r"SYRINGE|IRRIGAT|NEEDLE"),
    CategorySpec("DZE", "G-IMPL", "牙种植体", "III", (
        Pack("Φ3.5×10mm", "套", 2600, 5200), Pack("Φ4.0×11.5mm", "套", 2800, 5800),
        Pack("Φ4.5×10mm", "套", 2800, 5800), Pack("Φ5.0×8.5mm", "套", 3000, 6800),
    ), "常温，干燥处保存，避免阳光直射", 60, 24, include=r"IMPLANT|FIXTURE|PLANT|VENT|ROOT", exclude=r"ANALOG|GAGE|GAUGE|\bPIN\b|ABUTMENT|BUTMENT|ATTACHMENT|COMPONENTS|MESH|FORCEPS|INSTRUMENT|TOOL|DRILL|KIT"),
    CategorySpec("NHA", "G-IMPL", "种植体基台", "III", (
        Pack("直基台 Φ4.5 穿龈2mm", "个", 700, 1800), Pack("愈合基台 Φ4.5×4mm", "个", 300, 700),
    ), "常温，干燥处保存，避免阳光直射", 60, 2),
    CategorySpec("LYC", "G-IMPL", "人工骨修复材料", "III", (
        Pack("0.25g/瓶 颗粒0.25–1mm", "瓶", 700, 1600), Pack("0.5g/瓶 颗粒0.25–1mm", "瓶", 1100, 2600),
    ), DRY, 60, 10, include=r"HYDROXY|GRAFT|APATITE|BONE|OSTEO|\bHA\b"),
    CategorySpec("NPK", "G-IMPL", "口腔修复膜", "III", (Pack("15×20mm", "个", 1200, 2800),), DRY, 36, 1),
    CategorySpec("EJF", "G-ORTH", "金属正畸托槽", "II", (
        Pack("MBT 0.022 5-5 20颗/套", "套", 220, 650), Pack("Roth 0.018 5-5 20颗/套", "套", 200, 600),
    ), DRY, 60, 10, include=r"BRACKET"),
    CategorySpec("NJM", "G-ORTH", "陶瓷正畸托槽", "II", (Pack("MBT 0.022 3-3 12颗/套", "套", 800, 1600),), DRY, 60, 1),
    CategorySpec("DYW", "G-ORTH", "树脂正畸托槽", "II", (Pack("透明 20颗/套", "套", 300, 700),), DRY, 60, 4, include=r"BRACKET"),
    CategorySpec("DZC", "G-ORTH", "正畸弓丝", "II", (
        Pack("镍钛圆丝 0.014 上颌 10根/包", "包", 40, 120), Pack("不锈钢方丝 0.019×0.025 10根/包", "包", 35, 90),
    ), DRY, 60, 6, include=r"WIRE|ARCH"),
    CategorySpec("DZD", "G-ORTH", "正畸颊面管", "II", (Pack("第一磨牙单管 10个/包", "包", 60, 180),), DRY, 60, 4, include=r"TUBE"),
    CategorySpec("ECI", "G-ORTH", "正畸弹力圈", "I", (Pack("1/4英寸 3.5oz 100个/包", "包", 15, 45),), "阴凉避光处保存（含天然乳胶）", 36, 6, include=r"ELASTIC|ELASTOMERIC|LIGATURE", exclude=r"DISPENSER|WEDGE"),
    CategorySpec("DYH", "G-ORTH", "正畸托槽粘接剂", "II", (
        Pack("光固化 4g/支", "支", 120, 320), Pack("化学固化 粉液套装", "套", 180, 380),
    ), COOL_DARK, 24, 8, include=r"BOND|ADHESIVE|PRIMER|SEAL|GRIP|CEMENT"),
    CategorySpec("EJL", "G-BURS", "牙科车针", "I", (
        Pack("钨钢车针 FG 5支/盒", "盒", 45, 160), Pack("钨钢车针 RA 5支/盒", "盒", 45, 160),
    ), "常温，干燥处保存，防锈", 60, 8, include=r"BUR|CARBIDE"),
    CategorySpec("DZP", "G-BURS", "金刚砂车针", "I", (Pack("FG 10支/盒", "盒", 60, 220),), "常温，干燥处保存，防锈", 60, 8, include=r"DIAMOND|STONE"),
    CategorySpec("EHK", "G-BURS", "抛光杯", "I", (Pack("闩式 100个/包", "包", 60, 180),), DRY, 60, 4, include=r"CUP"),
    CategorySpec("EJR", "G-BURS", "抛光膏", "I", (
        Pack("340g/瓶", "瓶", 60, 160), Pack("单剂量 200粒/盒", "盒", 90, 220),
    ), "常温，密封保存", 36, 8, include=r"PASTE|POLISH|PROPHY|GEL"),
    CategorySpec("DYN", "G-AUX", "吸唾管", "I", (Pack("一次性 100支/包", "包", 15, 45),), DRY, 60, 6, include=r"SALIVA|EJECTOR|SUCTION|ASPIRATOR"),
    CategorySpec("EFN", "G-AUX", "牙科棉卷", "I", (Pack("2号 1000粒/包", "包", 20, 60),), DRY, 60, 6, include=r"ROLL"),
    CategorySpec("EIE", "G-AUX", "橡皮障", "I", (Pack("中厚 152×152mm 36张/盒", "盒", 90, 220),), "阴凉避光处保存（含天然乳胶）", 36, 6, include=r"\bDAM\b"),
    CategorySpec("EFH", "G-AUX", "咬合纸", "I", (Pack("40μm 200张/盒", "盒", 20, 70),), DRY, 60, 5, include=r"ARTICULAT|PAPER|FOIL|RIBBON"),
]
CATEGORY_BY_CODE = {spec.code: spec for spec in CATEGORIES}

# Rows filed under a consumable code that describe something else (a
# handpiece filed under endodontic files, an alloy under brackets, …).
OFF_TOPIC = re.compile(
    r"\b(HOLDER|HANDPIECES?|ALLOY|SIZER|GAUGE|DEVICE|PACKAGING|EXCAVATORS?|DISCLOSING|SILENTSLEEP|UNIT|PIK|"
    r"FORCEPS|MODEL|DELIVERY SYSTEM|IMPRESSION MATERIALS SYSTEM|PRESSURE SPOT)\b",
    re.IGNORECASE,
)
# FDA bookkeeping notes appended to some trade names.
FDA_NOTES = re.compile(r"\s*(\(?\bIN REF\.? TO K\d+\)?|\((MODIFICATION|MODI\.|MODIFIED)[^)]*\))", re.IGNORECASE)

# Words that only repeat the category, dropped from the short name.
GENERIC_WORDS = {
    "A", "ADHESIVE", "AGENT", "AND", "ANT", "ANTERIOR", "BONDING", "BRACKET", "BRACKETS", "BUR", "BURS", "BURR",
    "CANAL", "CAVITY", "CEMENT", "COMPOSIT", "COMPOSITE", "CROWN", "CURE", "CURED", "CURING", "DENT", "DENTAL",
    "DIAMOND", "DIAMONDS", "ENDODONTIC", "ENDOSSEOUS", "FILE", "FILES", "FILLING", "FISSURE", "FOR", "GEL", "HYDROXIDE",
    "IMPL", "IMPLANT", "IMPLANTS", "IMPRESS", "IMPRESSION", "LIGHT", "LINER", "MAT", "MATER", "MATERIAL", "MATERIALS",
    "MATEOIAL", "MSTERIAL", "OF", "ORTHODONTIC", "PASTE", "PASTES", "PIT", "POST", "POSTERIOR", "PULP", "RESIN",
    "RESTORATIVE", "ROOT", "SEALANT", "SEALENT", "SYS", "SYSTEM", "SYSTEMS", "THE", "TM", "TYPE", "VISIBLE", "W", "WITH",
}
# Words kept in capitals when a trade name is title-cased.
KEEP_UPPER = {"II", "III", "IV", "VI", "LC", "DC", "FG", "RA", "RTV", "PVS", "HA", "USA", "TM", "PFS", "ETD", "DFC", "GP", "SDI", "TLC", "PSP", "XR", "MBS"}
SMALL_WORDS = {"A", "AN", "AND", "FOR", "IN", "OF", "ON", "OR", "THE", "TO", "WITH"}
COMPANY_SUFFIXES = {
    "AB", "AG", "AMERICA", "CO", "COMPANY", "CORP", "CORPORATION", "DIV", "DIVISION", "GMBH", "GROUP", "INC", "INDUSTRIES",
    "INTERNATIONAL", "INTL", "LABORATORIES", "LABORATORY", "LABS", "LLC", "LTD", "MANUFACTURING", "MFG", "NORTH",
    "PROFESSIONALS", "PRODUCTS", "SA", "SALES", "SPA", "TECHNOLOGY", "THE", "US", "USA",
}
# Province abbreviations for Chinese applicants, keyed by the pinyin that starts the company name.
CHINESE_PROVINCES = {"Beijing": "京", "Shanghai": "沪", "Guangdong": "粤", "Jiangsu": "苏", "Zhejiang": "浙", "Hunan": "湘", "Sichuan": "川"}


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def title_case(text):
    """Title-case an all-capitals FDA trade name; keep names that already use lower case."""
    if any(char.islower() for char in text):
        return text

    def fix(match):
        word = match.group(0)
        start = match.start()
        before = text[start - 1] if start else " "
        if before == "'":
            return word.lower()
        after_digit = before.isdigit() or (before == "-" and start > 1 and text[start - 2].isdigit())
        if word in KEEP_UPPER or after_digit or not re.search(r"[AEIOUY]", word):
            return word
        if word in SMALL_WORDS and start > 0:
            return word.lower()
        return word.capitalize()

    return re.sub(r"[A-Z]+", fix, text)


def clean_trade_name(text):
    return re.sub(r"\s+", " ", FDA_NOTES.sub("", text)).strip(" ,;")


def short_trade_name(trade_name):
    """Return the distinctive words of a trade name, e.g. ``Herculite XRV`` from ``HERCULITE XRV COMPOSITE``."""
    text = re.sub(r"\([^)]*\)?", " ", trade_name)
    text = re.split(r"[;,]", text)
    words = []
    for part in text:
        for word in part.replace("*", " ").split():
            bare = re.sub(r"[^A-Za-z0-9]", "", word).upper()
            if bare and bare not in GENERIC_WORDS and not re.fullmatch(r"K\d{6}", bare):
                words.append(word.strip(".&/-"))
        if words:
            break
    short = ""
    for word in (w for w in words[:3] if w):
        if len(short) + len(word) >= 30:
            break
        short = f"{short} {word}".strip()
    return short


def short_company_name(applicant):
    """Return the brand a buyer would use for a company, e.g. ``Kerr`` for ``Kerr Corporation (Danbury)``."""
    text = re.sub(r"\([^)]*\)", " ", applicant).split(",")[0]
    tokens = text.split()
    words = []
    for index, word in enumerate(tokens):
        following = re.sub(r"[^A-Za-z]", "", tokens[index + 1]).upper() if index + 1 < len(tokens) else ""
        if word[0].islower() or (word == "&" and following in COMPANY_SUFFIXES | {"", "ASSOCIATES", "SONS"}):
            break  # "Pulpdent Corp. of America", "Erickson & Co.": the name ends here.
        if re.sub(r"[^A-Za-z]", "", word).upper() not in COMPANY_SUFFIXES:
            words.append(word)
    if words and words[0] in CHINESE_PROVINCES:
        words = words[1:]
    brand = " ".join(words[:3])
    # "A Company, Inc." would shrink to "A".
    return brand if len(brand) > 1 else text.strip()


def _chinese_province(row):
    """Return the province abbreviation of a Chinese applicant, or None for a foreign or unknown one."""
    if row["country_code"] != "CN" or not row["applicant"].split():
        return None
    return CHINESE_PROVINCES.get(row["applicant"].split()[0])


def create_categories():
    """Create the groups and one category per FDA product code; return {FDA code: Category}."""
    fda_names = {row["productcode"]: row["devicename"] for row in read_csv(PRODUCT_CODES_FILE)}
    groups = {
        code: Category.objects.create(code=code, name=name, name_en=name_en) for code, name, name_en in GROUPS
    }
    return {
        spec.code: Category.objects.create(
            code=spec.code, name=spec.name, name_en=fda_names[spec.code], parent=groups[spec.group]
        )
        for spec in CATEGORIES
    }


def _fits(spec, trade_name):
    if OFF_TOPIC.search(trade_name):
        return False
    if spec.include and not re.search(spec.include, trade_name, re.IGNORECASE):
        return False
    return not (spec.exclude and re.search(spec.exclude, trade_name, re.IGNORECASE))


def _candidate_rows(rng):
    """Pick the clearances to turn into products: every recent one, then a seeded sample up to each limit."""
    by_code = defaultdict(list)
    for row in read_csv(CLEARANCES_FILE):
        spec = CATEGORY_BY_CODE.get(row["productcode"])
        if spec and row["decision"].startswith("SE") and _fits(spec, row["devicename"]):
            by_code[spec.code].append(row)
    chosen = []
    for spec in CATEGORIES:
        rows = sorted(by_code[spec.code], key=lambda r: r["knumber"])
        recent = [r for r in rows if r["datereceived"][-4:] >= "2000"]
        older = [r for r in rows if r not in recent]
        extra = max(spec.limit - len(recent), 0)
        chosen.extend(recent + rng.sample(older, min(extra, len(older))))
    return chosen


def _price(rng, pack):
    value = rng.uniform(pack.low, pack.high)
    # Above 100 yuan the price ends in 8, as on many Chinese price lists.
    price = Decimal(int(round(value, -1)) - 2) if value >= 100 else Decimal(int(round(value)))
    return round_money(price)


@dataclass
class RegistrationPlan:
    """Positions of the products whose registration has lapsed or lapses within 60 days."""

    expired: set
    expiring: set


def _registration(rng, spec, row, valid_until, used):
    """Return an unused NMPA number of the right form: imports and class III by the NMPA, the rest by the province."""
    province = _chinese_province(row)
    while True:
        serial = rng.randint(1, 9999)
        if spec.device_class == "I":
            year = rng.randint(2015, 2024)
            number = f"{province or '国'}械备{year}{serial:04d}号"
        else:
            class_digit = "3" if spec.device_class == "III" else "2"
            # A registration certificate is valid five years from its year of issue.
            year = valid_until.year - 5
            if province is None:
                authority = "国械注进"
            elif spec.device_class == "III":
                authority = "国械注准"
            else:
                authority = f"{province}械注准"
            number = f"{authority}{year}{class_digit}{NMPA_CATEGORY}{serial:04d}"
        if number not in used:
            used.add(number)
            return number


def _manufacturer_licence(row, device_class):
    """Return a generated production licence (classes II and III) or production record (class I) of a Chinese manufacturer.

    Imported devices have none. The number depends only on the manufacturer,
    so all its products show the same one, and on a random stream of its own,
    so the other demo values stay as they were.
    """
    province = _chinese_province(row)
    if province is None:
        return ""
    rng = random.Random(f"dentalsales-demo-licence-{row['applicant']}")
    year = rng.randint(2014, 2023)
    serial = rng.randint(1, 9999)
    if device_class == "I":
        return f"{province}械生产备{year}{serial:04d}号"
    return f"{province}药监械生产许{year}{serial:04d}号"


def _valid_until(rng, index, plan, today):
    if index in plan.expired:
        return today - datetime.timedelta(days=rng.randint(10, 300))
    if index in plan.expiring:
        return today + datetime.timedelta(days=rng.randint(5, 58))
    return today + datetime.timedelta(days=rng.randint(365, 5 * 365 - 30))


def _plan_names(rows):
    """Give each row its Chinese name and brand, dropping rows whose name is already taken."""
    names = set()
    planned = []
    for row in rows:
        spec = CATEGORY_BY_CODE[row["productcode"]]
        trade_name = clean_trade_name(title_case(row["devicename"]))
        brand = short_company_name(row["applicant"])
        short = short_trade_name(trade_name) or brand
        name = f"{spec.name} {short}"
        if name in names and short != brand:
            name = f"{spec.name} {brand} {short}"
        if name in names:
            continue
        names.add(name)
        planned.append((row, spec, name, trade_name, brand))
    return planned


def create_products(*, actor, categories, today):
    """Create about 300 products through ``create_product``; return (product, category spec) pairs."""
    rng = random.Random("dentalsales-demo-products")
    planned = _plan_names(_candidate_rows(rng))
    registered = [i for i, (_, spec, *_rest) in enumerate(planned) if spec.device_class != "I"]
    lapsing = rng.sample(registered, EXPIRED_REGISTRATIONS + EXPIRING_REGISTRATIONS)
    plan = RegistrationPlan(expired=set(lapsing[:EXPIRED_REGISTRATIONS]), expiring=set(lapsing[EXPIRED_REGISTRATIONS:]))

    numbers = set()
    serial_by_code = defaultdict(int)
    products = []
    for index, (row, spec, name, trade_name, brand) in enumerate(planned):
        pack = rng.choice(spec.packs)
        list_price = _price(rng, pack)
        valid_until = None if spec.device_class == "I" else _valid_until(rng, index, plan, today)
        serial_by_code[spec.code] += 1
        product = create_product(
            actor=actor,
            sku=f"{spec.code}{serial_by_code[spec.code]:04d}",
            name=name,
            name_en=trade_name[:250],
            brand=brand[:100],
            manufacturer=row["applicant"][:200],
            specification=pack.specification,
            unit=pack.unit,
            category=categories[spec.code],
            device_class=spec.device_class,
            registration_number=_registration(rng, spec, row, valid_until or today, numbers),
            registration_valid_until=valid_until,
            manufacturer_licence_number=_manufacturer_licence(row, spec.device_class),
            storage_conditions=spec.storage,
            vat_rate=Decimal("0.13"),
            list_price=list_price,
            standard_cost=round_money(list_price * Decimal(rng.randint(55, 75)) / 100),
            is_implantable=spec.is_implantable,
            is_demo=True,
        )
        products.append((product, spec))
    return products
