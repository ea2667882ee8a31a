"""Demo after-sales work: complaints in every state, satisfaction call-backs, a return and an exchange.

Everything goes through the after-sales services, entered by the person who
would do it: the representatives record feedback and request returns, the
supervisor approves, logistics receives, the quality officer assesses.
"""

import datetime

from dentalsales.aftersales import services
from dentalsales.aftersales.models import SatisfactionCallback
from dentalsales.aftersales.services.stock import must_be_quarantined
from dentalsales.inventory.models import Shipment, ShipmentStatus

# Texts are what the staff would type, so they are Chinese data.
# (owner, channel, category, severity, days ago, description, final action)
COMPLAINTS = [
    ("rep", "complaint", "quality", "high", 1, "客户反映光固化树脂固化后表面发黏，怀疑批次问题。", "open"),
    ("rep", "phone_callback", "delivery", "medium", 3, "快递外箱破损，两支印模材料渗漏。", "waiting"),
    ("rep2", "visit", "usage_question", "low", 6, "护士询问根管锉的消毒与复用次数。", "closed"),
    ("rep", "complaint", "service", "critical", 4, "客户投诉发票三次开错抬头，要求主管回电。", "overdue"),
    ("rep2", "complaint", "quality", "critical", 2, "患者使用局麻药后出现皮疹，诊所怀疑过敏反应。", "adverse"),
    ("rep", "survey", "price", "low", 12, "年度满意度调查：希望种植体配件有阶梯价。", "resolved"),
]
# (score, what the customer said); each comment fits its score.
SCORES = [
    (5, "对送货速度和产品质量表示满意。"),
    (4, "产品质量满意，希望送货能再快一天。"),
    (3, "产品可以，但两次送货都晚于约定时间，希望改进。"),
]


def _shipped_customers(owner):
    """Return (customer, shipment line) pairs of the owner's dispatched or delivered shipments, oldest first."""
    shipments = (
        Shipment.objects.filter(order__owner=owner, status__in=[ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED])
        .select_related("customer")
        .prefetch_related("lines")
        .order_by("pk")
    )
    return [(shipment.customer, shipment.lines.all()[0]) for shipment in shipments if shipment.lines.all()]


def _fallback_customer(customers, owner):
    return next(customer for customer in customers if customer.owner_id == owner.pk and customer.is_active)


def create_complaints(*, users, customers, today):
    created = []
    for owner_name, channel, category, severity, days_ago, description, final in COMPLAINTS:
        owner = users[owner_name]
        shipped = _shipped_customers(owner)
        customer, line = shipped[0] if shipped else (_fallback_customer(customers, owner), None)
        complaint = services.create_complaint(
            actor=owner,
            customer=customer,
            channel=channel,
            category=category,
            severity=severity,
            description=description,
            contact_name=customer.contact_name,
            contact_phone=customer.contact_phone,
            product=line.product_id if line else None,
            lot=line.lot_id if line and category == "quality" else None,
            suspected_adverse_event=final == "adverse",
            received_on=today - datetime.timedelta(days=days_ago),
        )
        if final == "waiting":
            services.change_complaint_status(actor=owner, complaint=complaint, action="start")
            services.record_complaint_action(actor=owner, complaint=complaint, note="已联系物流公司理赔，补发两支。")
            services.change_complaint_status(actor=owner, complaint=complaint, action="wait", note="等待客户确认补发到货。")
        elif final in ("closed", "resolved"):
            services.change_complaint_status(
                actor=owner, complaint=complaint, action="resolve", resolution="已电话说明，并发送产品使用说明书电子版。"
            )
            if final == "closed":
                services.change_complaint_status(actor=owner, complaint=complaint, action="close", satisfaction_score=5)
        elif final == "open" and complaint.lot_id:
            services.record_complaint_action(actor=owner, complaint=complaint, note="已取回两支留样送质量部检验。")
        created.append(complaint)
    services.escalate_overdue_complaints(today=today)
    return created


def create_callbacks(*, users, today):
    """Schedule the call-backs of the demo shipments and record a few scores."""
    services.schedule_satisfaction_callbacks(today=today)
    callbacks = list(SatisfactionCallback.objects.select_related("owner").order_by("pk"))
    for callback, (score, comment) in zip(callbacks, SCORES):
        services.record_callback(actor=callback.owner, callback=callback, score=score, comment=comment)
    if len(callbacks) > len(SCORES):
        services.record_callback(actor=callbacks[len(SCORES)].owner, callback=callbacks[len(SCORES)], reached=False, comment="电话无人接听，下周再联系。")
    return callbacks


def create_returns(*, users):
    """Request a return that waits for approval, and an exchange of a wrong specification, approved and received back to stock."""
    requests = []
    for owner_name, kind, reason, reason_note, note in (
        ("rep", "return", "damaged_in_transit", "外包装压损", "客户拍照确认破损，已留存照片。"),
        ("rep2", "exchange", "wrong_item", "规格发错，未拆封", "客户需要 A3 色号，已确认包装完好。"),
    ):
        # Recalled or expired lots may only go to quarantine, so the demo returns a sound lot.
        shipped = [(customer, line) for customer, line in _shipped_customers(users[owner_name]) if not must_be_quarantined(line.lot)]
        if not shipped:
            continue
        customer, line = shipped[-1]
        requests.append(
            services.create_return(
                actor=users[owner_name],
                customer=customer,
                kind=kind,
                lines=[{"shipment_line": line.pk, "lot_number": line.lot_number, "quantity": 1, "reason": reason, "reason_note": reason_note}],
                note=note,
            )
        )
    for request in requests:
        if request.kind != "exchange":
            continue
        services.approve_return(actor=users["supervisor"], request=request, note="规格发错属实，同意换货。")
        line = request.lines.get()
        services.receive_return(actor=users["logistics"], request=request, dispositions={line.pk: "stock"}, note="未拆封，包装完好，退回原仓库。")
    return requests


def create_aftersales_records(*, users, customers, today):
    """Create the demo's complaints, call-backs and returns; return the number of complaints."""
    complaints = create_complaints(users=users, customers=customers, today=today)
    create_callbacks(users=users, today=today)
    create_returns(users=users)
    return len(complaints)
