"""Demo customers: fictional dental practices and dealers in real Chinese districts."""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from dentalsales.core.models import Region
from dentalsales.core.regions import PLACEHOLDER_CITY_NAMES
from dentalsales.core.validators import uscc_check_character
from dentalsales.customers.models import CustomerType, QualificationKind
from dentalsales.customers.services import create_customer

T = CustomerType

# District code (National Bureau of Statistics) and the abbreviation the
# local drug administration prints on device business licences.
PLACES_BY_OWNER = {
    "rep": [
        ("310115", "沪浦"), ("310104", "沪徐"), ("310106", "沪静"), ("310112", "沪闵"), ("320106", "苏宁"),
        ("320102", "苏宁"), ("320508", "苏苏"), ("320506", "苏苏"), ("320213", "苏锡"), ("330106", "浙杭"),
        ("330102", "浙杭"), ("330108", "浙杭"), ("330212", "浙甬"),
    ],
    "rep2": [
        ("340104", "皖合"), ("340111", "皖合"), ("370102", "鲁济"), ("370202", "鲁青"), ("370212", "鲁青"),
        ("350203", "闽厦"), ("350206", "闽厦"), ("350102", "闽榕"), ("360102", "赣洪"), ("420106", "鄂汉"),
        ("430104", "湘长"),
    ],
    "supervisor": [("110105", "京朝"), ("110108", "京海"), ("440106", "粤穗"), ("440305", "粤深"), ("510104", "川蓉")],
}
# (customer type, category, grade) for each owner; potential customers have no grade.
MIX = {
    "rep": [
        (T.DENTAL_HOSPITAL, "key", "A"), (T.DENTAL_HOSPITAL, "key", "B"), (T.DENTAL_HOSPITAL, "general", "B"),
        (T.CLINIC, "key", "A"), (T.CLINIC, "key", "B"), (T.CLINIC, "general", "A"), (T.CLINIC, "general", "B"),
        (T.CLINIC, "general", "B"), (T.CLINIC, "general", "C"), (T.CLINIC, "general", "C"), (T.CLINIC, "potential", None),
        (T.CLINIC, "potential", None), (T.CLINIC, "general", "B"), (T.CLINIC, "general", "A"),
        (T.HOSPITAL_DEPARTMENT, "key", "A"), (T.HOSPITAL_DEPARTMENT, "general", "B"), (T.HOSPITAL_DEPARTMENT, "general", "C"),
        (T.DISTRIBUTOR, "key", "A"), (T.DISTRIBUTOR, "general", "B"), (T.DISTRIBUTOR, "general", "C"),
        (T.DISTRIBUTOR, "potential", None), (T.RETAILER, "general", "B"), (T.RETAILER, "general", "C"),
        (T.RETAILER, "potential", None), (T.CLINIC, "general", "C"), (T.CLINIC, "general", "B"),
        (T.DENTAL_HOSPITAL, "general", "A"),
    ],
    "rep2": [
        (T.DENTAL_HOSPITAL, "key", "A"), (T.DENTAL_HOSPITAL, "general", "B"), (T.CLINIC, "key", "A"),
        (T.CLINIC, "key", "B"), (T.CLINIC, "general", "A"), (T.CLINIC, "general", "B"), (T.CLINIC, "general", "B"),
        (T.CLINIC, "general", "C"), (T.CLINIC, "general", "C"), (T.CLINIC, "potential", None), (T.CLINIC, "potential", None),
        (T.CLINIC, "general", "B"), (T.HOSPITAL_DEPARTMENT, "key", "B"), (T.HOSPITAL_DEPARTMENT, "general", "B"),
        (T.HOSPITAL_DEPARTMENT, "potential", None), (T.DISTRIBUTOR, "key", "A"), (T.DISTRIBUTOR, "general", "B"),
        (T.DISTRIBUTOR, "general", "B"), (T.DISTRIBUTOR, "potential", None), (T.RETAILER, "general", "B"),
        (T.RETAILER, "general", "C"), (T.RETAILER, "potential", None), (T.CLINIC, "general", "A"),
        (T.CLINIC, "general", "C"), (T.RETAILER, "general", "B"),
    ],
    "supervisor": [
        (T.DENTAL_HOSPITAL, "key", "A"), (T.DENTAL_HOSPITAL, "key", "A"), (T.HOSPITAL_DEPARTMENT, "key", "A"),
        (T.DISTRIBUTOR, "key", "A"), (T.CLINIC, "key", "B"), (T.CLINIC, "general", "A"),
        (T.HOSPITAL_DEPARTMENT, "general", "B"), (T.CLINIC, "potential", None),
    ],
}
# Customers whose licence has lapsed (so that order review blocks them)
# or lapses within a month: (owner, position in the owner's MIX).
EXPIRED = {("rep2", 5), ("rep2", 16), ("rep", 6), ("rep", 15), ("supervisor", 6), ("rep", 19)}
EXPIRING = {("rep", 8), ("rep2", 11), ("supervisor", 5)}

CLINIC_WORDS = [
    "贝齿", "皓齿", "雅齿", "悦齿", "康贝", "恒美", "德雅", "维齿", "笑颜", "晶齿", "安齿", "洁雅", "沐恩", "清和",
    "嘉齿", "睿齿", "明仁", "齿悦", "欣美", "博雅", "和美", "尚齿", "优贝", "朗齿", "圣贝", "馨齿", "柏齿", "百合",
]
HOSPITAL_WORDS = ["康华", "惠仁", "博爱", "济华", "明德", "华康", "永安", "仁安"]
DEALER_WORDS = ["华联", "康达", "瑞丰", "启明", "恒通", "泰和", "科源", "众康", "鑫达", "博远", "安泰", "济民", "福瑞", "惠康"]
STREETS = ["中山路", "人民路", "解放路", "建设路", "文化路", "健康路", "长江路", "和平路", "新华路", "东风路", "青年路", "学府路"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_NAMES = ["丽", "强", "敏", "静", "军", "磊", "洋", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚", "晓燕", "海燕", "建华", "志刚", "秀英", "文博", "雨欣", "子涵", "思远", "佳怡"]

# Institutions registered by the civil affairs bureau (52) or as public
# institutions (12) rather than as companies (91).
USCC_PREFIX = {
    T.DENTAL_HOSPITAL: ["91", "91", "52"],
    T.CLINIC: ["91", "91", "91", "52"],
    T.HOSPITAL_DEPARTMENT: ["12", "12", "52"],
    T.DISTRIBUTOR: ["91"],
    T.RETAILER: ["91"],
}
SHELF_LIFE_DAYS = {
    T.DENTAL_HOSPITAL: [180, 180, 270],
    T.CLINIC: [90, 120, 180],
    T.HOSPITAL_DEPARTMENT: [180, 270, 365],
    T.DISTRIBUTOR: [180, 270, 365],
    T.RETAILER: [180, 365],
}
PAYMENT_TERMS_DAYS = {
    T.DENTAL_HOSPITAL: [60, 90],
    T.CLINIC: [0, 30, 30],
    T.HOSPITAL_DEPARTMENT: [90, 120],
    T.DISTRIBUTOR: [30, 60],
    T.RETAILER: [0, 30],
}
# Credit limit ranges in units of 10,000 yuan by category and grade.
CREDIT_RANGE = {
    ("key", "A"): (30, 80), ("key", "B"): (15, 40), ("general", "A"): (10, 25),
    ("general", "B"): (5, 12), ("general", "C"): (2, 6), ("potential", None): (0, 1),
}
# Medical institution category codes printed in practice licence numbers.
INSTITUTION_CODES = {T.DENTAL_HOSPITAL: "A5100", T.HOSPITAL_DEPARTMENT: "A1000", T.CLINIC: "D6200"}


@dataclass
class Place:
    region: Region
    city: str  # short city name, e.g. 成都
    licence_prefix: str


def _place(code, licence_prefix):
    region = Region.objects.select_related("parent__parent").get(code=code)
    city = region.parent
    city_name = city.parent.name if city.name in PLACEHOLDER_CITY_NAMES else city.name
    return Place(region=region, city=city_name.removesuffix("市"), licence_prefix=licence_prefix)


def organization_code(rng):
    """Return a 9-character GB 11714 organisation code (8 digits and its check character)."""
    body = f"{rng.randint(10000000, 99999999)}"
    total = sum(int(char) * weight for char, weight in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng, prefix, region_code):
    """Return a 统一社会信用代码 with a valid GB 32100 check character."""
    first17 = prefix + region_code + organization_code(rng)
    return first17 + uscc_check_character(first17)


def _name(rng, customer_type, place, used):
    district = place.region.name
    while True:
        if customer_type == T.DENTAL_HOSPITAL:
            name = f"{place.city}{rng.choice(CLINIC_WORDS)}口腔医院"
        elif customer_type == T.CLINIC:
            name = f"{place.city}{district}{rng.choice(CLINIC_WORDS)}{rng.choice(['口腔诊所', '口腔诊所', '口腔门诊部'])}"
        elif customer_type == T.HOSPITAL_DEPARTMENT:
            name = f"{place.city}{district}{rng.choice(HOSPITAL_WORDS)}医院口腔科"
        elif customer_type == T.DISTRIBUTOR:
            name = f"{place.city}{rng.choice(DEALER_WORDS)}{rng.choice(['医疗器械有限公司', '齿科器材有限公司'])}"
        else:
            name = f"{place.city}{rng.choice(DEALER_WORDS)}{rng.choice(['大药房有限公司', '医疗器械商行有限公司'])}"
        if name not in used:
            used.add(name)
            return name


def _person(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _phone(rng):
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _qualifications(rng, customer_type, uscc, place, state, today):
    """Return the qualification dicts a customer of this type holds; ``state`` lapses the main licence."""

    def until(days_low, days_high):
        return today + datetime.timedelta(days=rng.randint(days_low, days_high))

    if state == "expired":
        main_until = today - datetime.timedelta(days=rng.randint(5, 200))
    elif state == "expiring":
        main_until = until(3, 28)
    else:
        main_until = until(120, 1800)
    issued = rng.randint(2019, today.year - 1)
    if customer_type in INSTITUTION_CODES:
        number = f"PDY{rng.randint(10000, 99999)}{place.region.code}17{INSTITUTION_CODES[customer_type]}"
        return [{"kind": QualificationKind.MEDICAL_INSTITUTION_LICENCE, "number": number, "valid_until": main_until}]

    qualifications = [{"kind": QualificationKind.BUSINESS_LICENCE, "number": uscc, "valid_until": None}]
    if customer_type == T.DISTRIBUTOR:
        qualifications.append(
            {
                "kind": QualificationKind.DEVICE_BUSINESS_LICENCE,
                "number": f"{place.licence_prefix}药监械经营许{issued}{rng.randint(1, 9999):04d}号",
                "valid_until": main_until,
            }
        )
    qualifications.append(
        {
            "kind": QualificationKind.DEVICE_BUSINESS_RECORD,
            "number": f"{place.licence_prefix}药监械经营备{issued}{rng.randint(1, 9999):04d}号",
            "valid_until": None,
        }
    )
    return qualifications


def create_customers(*, users, today):
    """Create the demo customers through ``create_customer``; return them.

    The supervisor enters them for the team's representatives, because
    only a supervisor, a manager or finance may set credit limits.
    """
    rng = random.Random("dentalsales-demo-customers")
    used_names = set()
    customers = []
    for owner_name in ("rep", "rep2", "supervisor"):
        owner = users[owner_name]
        places = [_place(code, prefix) for code, prefix in PLACES_BY_OWNER[owner_name]]
        for position, (customer_type, category, grade) in enumerate(MIX[owner_name]):
            place = places[position % len(places)]
            state = "valid"
            if (owner_name, position) in EXPIRED:
                state = "expired"
            elif (owner_name, position) in EXPIRING:
                state = "expiring"
            uscc = make_uscc(rng, rng.choice(USCC_PREFIX[customer_type]), place.region.code)
            low, high = CREDIT_RANGE[(category, grade)]
            credit = Decimal(rng.randint(low, high) * 10000)
            if customer_type == T.DISTRIBUTOR:
                credit *= 2
            customers.append(
                create_customer(
                    actor=users["supervisor"],
                    owner=owner,
                    name=_name(rng, customer_type, place, used_names),
                    customer_type=customer_type,
                    category=category,
                    grade=grade,
                    region=place.region,
                    address=f"{place.region.full_name.replace(' ', '')}{rng.choice(STREETS)}{rng.randint(1, 399)}号",
                    contact_name=_person(rng),
                    contact_phone=_phone(rng),
                    credit_limit=credit,
                    payment_terms_days=rng.choice(PAYMENT_TERMS_DAYS[customer_type]),
                    min_shelf_life_days=rng.choice(SHELF_LIFE_DAYS[customer_type]),
                    uscc=uscc,
                    qualifications=_qualifications(rng, customer_type, uscc, place, state, today),
                )
            )
    return customers
