"""Demo customer development: potential customers in every stage, contacts, visits and calls, revisit plans, gifts."""

import datetime
import random
from decimal import Decimal

from dentalsales.crm import services
from dentalsales.crm.models import Prospect
from dentalsales.customers.models import Contact, CustomerCategory
from dentalsales.customers.services import create_contact

# (source, source detail, stage reached), given in turn to the demo's potential customers.
PIPELINE = [
    ("exhibition", "2026 上海国际口腔器材展", "new"),
    ("referral", "浙大口腔医院王主任介绍", "contacted"),
    ("web", "官网询价表单", "qualified"),
    ("phone", "", "negotiating"),
    ("walk_in", "", "lost"),
    ("email", "", "won"),
    ("exhibition", "2026 华南口腔展", "contacted"),
]
STAGE_PATH = {
    "new": [],
    "contacted": ["contacted"],
    "qualified": ["contacted", "qualified"],
    "negotiating": ["contacted", "qualified", "negotiating"],
    "lost": ["contacted", "lost"],
    "won": ["contacted", "qualified"],
}
CONTACTS = [
    ("院长", "决策者", "decision_maker"), ("护士长", "采购", "purchaser"), ("修复科主任", "", "influencer"),
    ("采购主管", "", "purchaser"), ("种植科医生", "", "user"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
SUBJECTS = {
    "visit": ["新品树脂演示", "种植耗材季度回访", "根管锉使用培训", "年度采购计划沟通", "库存与效期巡查"],
    "phone": ["电话回访使用情况", "确认到货与发票", "预约下次拜访", "报价跟进"],
    "email": ["发送产品资料", "发送报价单"],
    "event": ["口腔医学年会展台接待", "区域技术沙龙"],
}
OUTCOMES = ["客户同意试用两周", "需要补充注册证复印件", "计划下季度增加采购量", "对价格有异议，需主管审批折扣", "满意，继续保持"]


def _person(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])


def _mobile(rng):
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _create_prospects(users, customers):
    """Open pipeline records for the demo's potential customers, at stages from new to won and lost."""
    by_pk = {user.pk: user for user in users.values()}
    potential = [customer for customer in customers if customer.category == CustomerCategory.POTENTIAL]
    prospects = []
    for customer, (source, detail, stage) in zip(potential, PIPELINE * 2):
        owner = by_pk[customer.owner_id]
        # ``create_customer`` opened the record with source "other"; the demo gives it a real one.
        Prospect.objects.filter(customer=customer).update(source=source, source_detail=detail)
        prospect = Prospect.objects.get(customer=customer)
        for step in STAGE_PATH[stage]:
            reason = "客户已选择其他供应商，价格差距较大" if step == "lost" else ""
            services.change_prospect_stage(actor=owner, prospect=prospect, stage=step, reason=reason)
        if stage == "won":
            services.convert_prospect(actor=owner, prospect=prospect, reason="签订年度供货协议")
            customer.refresh_from_db()
        prospects.append(prospect)
    return prospects


def _create_contacts(rng, customers, users):
    contacts = {}
    for customer in customers:
        owner = next(user for user in users.values() if user.pk == customer.owner_id)
        existing = list(Contact.objects.filter(customer=customer))
        if not existing:
            for index, (title, department, role) in enumerate(rng.sample(CONTACTS, 2)):
                existing.append(
                    create_contact(
                        actor=owner, customer=customer, name=_person(rng), title=title, department=department,
                        mobile=_mobile(rng), decision_role=role, is_primary=index == 0,
                    )
                )
        contacts[customer.pk] = existing
    return contacts


def _create_activities(rng, customers, contacts, users, products, today):
    count = 0
    for customer in customers:
        owner = next(user for user in users.values() if user.pk == customer.owner_id)
        if customer.category == CustomerCategory.POTENTIAL and rng.random() < 0.5:
            continue
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["visit", "visit", "phone", "phone", "email", "event"])
            services.create_activity(
                actor=owner, customer=customer, kind=kind,
                occurred_on=today - datetime.timedelta(days=rng.randint(1, 100)),
                subject=rng.choice(SUBJECTS[kind]),
                contacts=[contact.pk for contact in rng.sample(contacts[customer.pk], 1)],
                products=[product.pk for product in rng.sample(products, 2)],
                outcome=rng.choice(OUTCOMES), next_step="两周后电话确认试用反馈",
                next_step_on=today + datetime.timedelta(days=rng.randint(3, 20)),
                submit=True,
            )
            count += 1
    # One draft report waiting to be completed and submitted.
    customer = customers[0]
    services.create_activity(
        actor=next(user for user in users.values() if user.pk == customer.owner_id), customer=customer, kind="visit",
        occurred_on=today, subject="拜访院长，讨论年度协议", outcome="（待补充）",
    )
    return count + 1


def _create_gifts(customers, contacts, users, today):
    rep_customers = [c for c in customers if c.owner_id == users["rep"].pk][:4]
    plans = [
        ("口腔医学年会资料包及定制U盘", "gift", "120.00", 20, "given"),
        ("学术交流晚宴", "hospitality", "1800.00", 12, "requested"),
        ("新品发布会茶歇", "hospitality", "450.00", 30, "given_after_approval"),
        ("高端礼盒", "gift", "2600.00", 5, "rejected"),
    ]
    for customer, (description, kind, value, days_ago, outcome) in zip(rep_customers, plans):
        gift = services.create_gift(
            actor=users["rep"], customer=customer, recipient=contacts[customer.pk][0].pk, kind=kind,
            description=description, value=Decimal(value), given_on=today - datetime.timedelta(days=days_ago),
            purpose="学术交流与新品推介",
        )
        if outcome == "given":
            services.mark_gift_given(actor=users["rep"], gift=gift)
            continue
        services.request_gift_approval(actor=users["rep"], gift=gift)
        if outcome == "given_after_approval":
            services.approve_gift(actor=users["supervisor"], gift=gift, reason="符合市场活动预算")
            services.mark_gift_given(actor=users["rep"], gift=gift)
        elif outcome == "rejected":
            services.reject_gift(actor=users["supervisor"], gift=gift, reason="超出公司礼品标准，请改为学术资料")


def create_crm_records(*, users, customers, products, today):
    """Create potential customers, contacts, activities, revisit plans and gifts; return the number of activities."""
    rng = random.Random("dentalsales-demo-crm")
    products = [product for product, _spec in products][:60]
    _create_prospects(users, customers)
    contacts = _create_contacts(rng, customers, users)
    activity_count = _create_activities(rng, customers, contacts, users, products, today)
    services.plan_revisits(today)
    _create_gifts(customers, contacts, users, today)
    return activity_count
