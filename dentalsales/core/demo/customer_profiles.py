"""Demo customer profiles: verified qualifications, contacts, delivery addresses, business information, grades."""

import random
from decimal import Decimal

from django.utils import timezone

from dentalsales.core.models import Region
from dentalsales.customers import services
from dentalsales.customers.grading import set_grade
from dentalsales.customers.models import (
    CustomerCategory,
    CustomerType,
    DecisionRole,
    GradingSettings,
    Qualification,
    QualificationKind,
    VerificationStatus,
)

FAMILY_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = ["建华", "秀英", "志明", "丽娟", "海涛", "静", "晓燕", "国强", "敏", "磊", "婷婷", "文博"]
# (title, department, decision role) of typical contacts at a dental practice
CLINIC_ROLES = [
    ("院长", "院办", DecisionRole.DECISION_MAKER),
    ("采购主管", "采购部", DecisionRole.PURCHASER),
    ("主治医师", "种植科", DecisionRole.INFLUENCER),
    ("护士长", "护理部", DecisionRole.USER),
]
DISTRIBUTOR_ROLES = [
    ("总经理", "总经办", DecisionRole.DECISION_MAKER),
    ("采购经理", "采购部", DecisionRole.PURCHASER),
    ("质量负责人", "质量部", DecisionRole.GATEKEEPER),
]
SPECIALITIES = ["种植", "正畸", "儿童口腔", "牙周", "修复", "根管治疗", "口腔外科"]
SUPPLIERS = ["上海齿科器材有限公司", "广州康美齿科", "北京华美口腔材料", "登士柏西诺德直供", "京东健康"]
HABITS = [
    "每月初集中下单，季度末补货。",
    "小批量多频次采购，偏好次日达。",
    "年度招标，中标后按合同分批提货。",
]
PREFERENCES = [
    "偏好进口品牌，价格敏感度低。",
    "关注性价比，愿意试用国产新品。",
    "要求随货提供注册证和检验报告复印件。",
]


# Abbreviations that start drug business licence numbers, by province.
PROVINCE_ABBREVIATIONS = {
    "北京市": "京", "上海市": "沪", "天津市": "津", "重庆市": "渝", "四川省": "川", "广东省": "粤", "浙江省": "浙",
    "江苏省": "苏", "湖北省": "鄂", "湖南省": "湘", "山东省": "鲁", "河南省": "豫", "福建省": "闽", "陕西省": "陕",
}


def _mobile(rng):
    return f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"


def verify_demo_qualifications(*, users):
    """Mark the onboarding qualifications as verified by the quality officer, as after a first review of each file."""
    return Qualification.objects.filter(verification_status=VerificationStatus.PENDING).update(
        verification_status=VerificationStatus.VERIFIED, verified_by=users["quality"], verified_at=timezone.now()
    )


def create_customer_profiles(*, users, customers, today):
    """Give every demo customer contacts, a delivery address and business information; return the contact count."""
    rng = random.Random("dentalsales-demo-customer-profiles")
    GradingSettings.objects.get_or_create(pk=1)
    contacts = 0
    for customer in customers:
        owner = customer.owner
        roles = DISTRIBUTOR_ROLES if customer.customer_type in (CustomerType.DISTRIBUTOR, CustomerType.RETAILER) else CLINIC_ROLES
        for index, (title, department, decision_role) in enumerate(roles[: rng.randint(1, len(roles))]):
            name = rng.choice(FAMILY_NAMES) + rng.choice(GIVEN_NAMES)
            birthday = today.replace(year=today.year - rng.randint(28, 58), day=1) if rng.random() < 0.4 else None
            services.create_contact(
                actor=owner,
                customer=customer,
                name=name,
                title=title,
                department=department,
                mobile=_mobile(rng),
                wechat=f"wx_{rng.randint(100000, 999999)}" if rng.random() < 0.6 else "",
                birthday=birthday,
                decision_role=decision_role,
                is_primary=index == 0,
            )
            contacts += 1
        region = customer.region
        if region is not None and region.level != Region.Level.DISTRICT:
            region = region.children.order_by("code").first() or region
        if region is not None and customer.address:
            services.create_address(
                actor=owner,
                customer=customer,
                label="主院区",
                region=region,
                detail=customer.address.removeprefix(region.full_name.replace(" ", "")).strip() or customer.address,
                recipient=customer.contact_name or "前台",
                recipient_phone=customer.contact_phone or _mobile(rng),
                is_default=True,
            )
        services.save_business_profile(
            actor=owner,
            customer=customer,
            chairs=rng.randint(3, 60) if customer.customer_type != CustomerType.DISTRIBUTOR else None,
            doctors=rng.randint(2, 40) if customer.customer_type != CustomerType.DISTRIBUTOR else None,
            specialities="、".join(rng.sample(SPECIALITIES, 3)),
            annual_consumables_spend=Decimal(rng.randint(5, 300) * 10000),
            current_suppliers="、".join(rng.sample(SUPPLIERS, 2)),
            purchasing_habits=rng.choice(HABITS),
            preferences=rng.choice(PREFERENCES),
        )

    # A renewed drug licence waiting in the quality officer's queue, and a
    # grade set by hand with its reason.
    own = [customer for customer in customers if customer.owner == users["rep"]]
    for customer in own[:2]:
        # The licence comes from the drug administration of the customer's own province.
        province = customer.region.full_name.split()[0] if customer.region else "四川省"
        services.add_qualification(
            actor=users["rep"],
            customer=customer,
            kind=QualificationKind.DRUG_BUSINESS_LICENCE,
            number=f"{PROVINCE_ABBREVIATIONS.get(province, '')}AA{rng.randint(1000000, 9999999)}",
            issuing_authority=f"{province}药品监督管理局",
            valid_until=today.replace(year=today.year + 5),
            covers_drugs=True,
        )
    general = [customer for customer in own if customer.category == CustomerCategory.GENERAL and customer.grade != "A"]
    if general:
        set_grade(
            actor=users["supervisor"],
            customer=general[0],
            category=CustomerCategory.KEY,
            grade="A",
            reason="新开种植中心，预计年采购额翻倍。",
        )
    return contacts
