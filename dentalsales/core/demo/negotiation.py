"""Demo quotations and contracts in the states a sales team works with, moved there by the real services."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.sales import contracts, quotations

from .orders import _split_customers

# A minimal PDF header is enough for the signed-copy check; the demo has no real scan.
SIGNED_COPY = b"%PDF-1.4\n% demo scan of a signed and sealed contract\n"
PAYMENT_TERMS = "货到验收合格后 30 日内付款，银行转账。"
DELIVERY_TERMS = "分批交货，每批提前 3 个工作日通知。"
QUALITY_TERMS = "供方保证所供产品具有有效的医疗器械注册证，随货提供检验合格证明；产品剩余效期不少于 12 个月。"
LOST_REASON = "客户选择了其他经销商的集采价格。"


def _lines(products, start, count, quantity):
    return [{"product": product, "quantity": quantity} for product in products[start : start + count]]


def create_negotiations(*, users, customers, products):
    """Create quotations and contracts for the representatives' customers; return (quotations, contracts) counts."""
    orderable, _expired = _split_customers(customers)
    stocked = sorted((product for product, _ in products if product.lots.exists()), key=lambda p: p.sku)
    rep, rep2 = users["rep"], users["rep2"]
    supervisor = users["supervisor"]
    rep_customers, rep2_customers = orderable["rep"], orderable["rep2"]
    made_quotations = []
    made_contracts = []

    def quote(owner, customer, start, count, quantity, **fields):
        quotation = quotations.create_quotation(
            actor=owner,
            customer=customer,
            lines=_lines(stocked, start, count, quantity),
            payment_terms=PAYMENT_TERMS,
            delivery_terms=DELIVERY_TERMS,
            **fields,
        )
        made_quotations.append(quotation)
        return quotation

    # Quotations: a draft, one sent and waiting, one lost.
    quote(rep, rep_customers[0], 0, 3, 10, contact_name="王主任")
    quotations.send_quotation(
        actor=rep, quotation=quote(rep, rep_customers[1], 3, 2, 20, contact_name="采购部 李女士"), email="purchase@example.com"
    )
    lost = quote(rep2, rep2_customers[0], 5, 2, 10)
    quotations.send_quotation(actor=rep2, quotation=lost, email="clinic@example.com")
    quotations.mark_lost(actor=rep2, quotation=lost, reason=LOST_REASON)

    # An annual supply contract from an accepted quotation, active, with one order drawn from it.
    agreed = quote(rep, rep_customers[0], 7, 3, 60, contact_name="王主任")
    quotations.send_quotation(actor=rep, quotation=agreed, email="director@example.com")
    annual = contracts.create_contract_from_quotation(actor=rep, quotation=agreed)
    annual = contracts.update_contract(actor=rep, contract=annual, quality_terms=QUALITY_TERMS)
    contracts.submit_contract(actor=rep, contract=annual)
    contracts.approve_contract(actor=supervisor, contract=annual)
    contracts.attach_signed_copy(
        actor=rep, contract=annual, upload=SimpleUploadedFile("signed-contract.pdf", SIGNED_COPY, "application/pdf")
    )
    contracts.activate_contract(actor=rep, contract=annual)
    first_line = annual.lines.order_by("pk").first()
    contracts.create_order_from_contract(actor=rep, contract=annual, quantities={first_line.pk: 20})
    made_contracts.append(annual)

    # A large tender contract: the supervisor approved it, a manager still has to.
    expensive = sorted(stocked, key=lambda product: product.list_price, reverse=True)[:2]
    large = contracts.create_contract(
        actor=rep2,
        customer=rep2_customers[-1],
        lines=[
            {"product": product, "quantity": quantity_for(product, Decimal("150000")), "unit_price": product.list_price}
            for product in expensive
        ],
        payment_terms=PAYMENT_TERMS,
        quality_terms=QUALITY_TERMS,
        note="区域连锁门诊年度集中采购。",
    )
    contracts.submit_contract(actor=rep2, contract=large)
    contracts.approve_contract(actor=supervisor, contract=large)
    made_contracts.append(large)

    # A draft still being negotiated.
    draft = contracts.create_contract(
        actor=rep,
        customer=rep_customers[1],
        lines=[{"product": product, "quantity": 30, "unit_price": product.list_price} for product in stocked[10:12]],
        payment_terms=PAYMENT_TERMS,
    )
    made_contracts.append(draft)
    return len(made_quotations), len(made_contracts)


def quantity_for(product, amount):
    """Return a whole quantity whose value at list price is at least ``amount``."""
    return max(1, int(amount / product.list_price) + 1)
