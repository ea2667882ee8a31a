"""Qualification verification and scope, expiry reminders, grading and merging duplicates."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.customers import grading, merging, services
from dentalsales.customers.compliance import qualification_problems, requires_drug_licence, scope_problems
from dentalsales.customers.models import (
    Customer,
    CustomerMerge,
    GradeChange,
    GradingSettings,
    Qualification,
    QualificationKind,
    QualificationReminder,
    VerificationStatus,
)
from dentalsales.customers.reminders import due_threshold, send_expiry_reminders
from dentalsales.notifications.models import Notification
from dentalsales.sales.models import SalesOrder
from dentalsales.sales.review import review_checks
from dentalsales.testing import factories as f

from . import factories as cf


def in_days(days):
    return local_today() + datetime.timedelta(days=days)


# Verification


def test_new_qualification_waits_and_notifies_quality(rep, quality, customer):
    qualification = services.add_qualification(
        actor=rep, customer=customer, kind=QualificationKind.DRUG_BUSINESS_LICENCE, number="YP-1", valid_until=in_days(400)
    )

    assert qualification.verification_status == VerificationStatus.PENDING
    assert Notification.objects.filter(recipient=quality, category="qualification_verification").exists()


def test_pending_qualification_does_not_count(customer):
    customer.qualifications.update(verification_status=VerificationStatus.PENDING)

    problems = qualification_problems(customer, {"II"})

    assert len(problems) == 1
    assert "waiting for the quality officer's verification" in problems[0]


def test_quality_officer_verifies(quality, rep, customer):
    qualification = services.add_qualification(actor=rep, customer=customer, kind="business_licence", number="BL-1")

    services.verify_qualification(actor=quality, qualification=qualification, approve=True)

    qualification.refresh_from_db()
    assert qualification.verification_status == VerificationStatus.VERIFIED
    assert qualification.verified_by == quality
    assert Notification.objects.filter(recipient=rep, category="qualification_verification").exists()
    with pytest.raises(InvalidTransition):
        services.verify_qualification(actor=quality, qualification=qualification)


def test_reject_needs_note(quality, rep, customer):
    qualification = services.add_qualification(actor=rep, customer=customer, kind="business_licence", number="BL-1")

    with pytest.raises(InvalidInput):
        services.verify_qualification(actor=quality, qualification=qualification, approve=False)
    services.verify_qualification(actor=quality, qualification=qualification, approve=False, note="扫描件与编号不符")
    qualification.refresh_from_db()
    assert qualification.verification_status == VerificationStatus.REJECTED


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager", "finance"])
def test_only_quality_verifies(request, persona, customer):
    qualification = customer.qualifications.get()
    qualification.verification_status = VerificationStatus.PENDING
    qualification.save()

    with pytest.raises(NotPermitted):
        services.verify_qualification(actor=request.getfixturevalue(persona), qualification=qualification)


def test_unchanged_qualifications_keep_verification(quality, customer):
    qualification = customer.qualifications.get()
    data = {"kind": qualification.kind, "number": qualification.number, "valid_until": qualification.valid_until}

    services.replace_qualifications(actor=quality, customer=customer, qualifications=[data, {"kind": "business_licence", "number": "BL-9"}])

    statuses = dict(customer.qualifications.values_list("number", "verification_status"))
    assert statuses == {qualification.number: "verified", "BL-9": "pending"}


# Scope


@pytest.fixture
def anaesthetic(db):
    category = f.CategoryFactory(code="ANA", name="局部麻醉药", name_en="Local anaesthetic")
    return f.ProductFactory(name="阿替卡因肾上腺素注射液", category=category, device_class="I", requires_drug_licence=True)


def test_drug_read_from_product_flag(anaesthetic, product):
    assert requires_drug_licence(anaesthetic)
    assert not requires_drug_licence(product)


def test_drug_name_without_flag_needs_no_drug_scope(customer):
    unflagged = f.ProductFactory(name="利多卡因凝胶", device_class="I")

    assert not requires_drug_licence(unflagged)
    assert scope_problems(customer, [unflagged]) == []


def test_flag_migration_marks_products_named_as_drugs(anaesthetic, product):
    from importlib import import_module

    from django.apps import apps

    from dentalsales.catalog.models import Product

    by_category = f.ProductFactory(name="口腔注射剂", category=anaesthetic.category, device_class="I")
    by_english_name = f.ProductFactory(name="注射液", name_en="Articaine cartridge", device_class="I")
    Product.objects.update(requires_drug_licence=False)

    import_module("dentalsales.catalog.migrations.0004_flag_drug_products").flag_drug_products(apps, None)

    flagged = set(Product.objects.filter(requires_drug_licence=True).values_list("pk", flat=True))
    assert flagged == {anaesthetic.pk, by_category.pk, by_english_name.pk}
    assert product.pk not in flagged


def test_drug_needs_verified_drug_scope(customer, anaesthetic):
    assert "covering drugs" in scope_problems(customer, [anaesthetic])[0]

    Qualification.objects.create(
        customer=customer, kind=QualificationKind.DRUG_BUSINESS_LICENCE, number="YP", covers_drugs=True, verification_status="pending"
    )
    assert scope_problems(customer, [anaesthetic])
    customer.qualifications.filter(number="YP").update(verification_status="verified")
    assert scope_problems(customer, [anaesthetic]) == []


def test_product_outside_device_scope(customer, product):
    licence = customer.qualifications.get()
    licence.device_classes = ["I"]
    licence.save()
    product.device_class = "II"
    product.save()

    problems = scope_problems(customer, [product])

    assert len(problems) == 1
    assert str(product) in problems[0]


def test_product_category_scope(customer, product):
    other = f.CategoryFactory(code="ZZZ", name="正畸托槽")
    licence = customer.qualifications.get()
    licence.categories.set([other])

    assert scope_problems(customer, [product])
    licence.categories.add(product.category)
    assert scope_problems(customer, [product]) == []


def test_review_check_fails_outside_scope_and_names_pending(rep, customer, product):
    licence = customer.qualifications.get()
    licence.device_classes = ["III"]
    licence.save()
    product.device_class = "II"
    product.save()
    services.add_qualification(actor=rep, customer=customer, kind="business_licence", number="BL-NEW")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])

    check = next(check for check in review_checks(order) if check.code == "qualifications")

    assert not check.passed
    assert "Outside the scope" in check.message
    assert "BL-NEW" in check.message


# Expiry reminders


@pytest.mark.parametrize(("days", "threshold"), [(-1, None), (0, 30), (30, 30), (31, 60), (60, 60), (90, 90), (91, None)])
def test_due_threshold(days, threshold):
    assert due_threshold(days) == threshold


def test_expiry_reminders_once_per_threshold(rep, quality, customer):
    customer.qualifications.update(valid_until=in_days(85))

    assert send_expiry_reminders() == 1
    assert send_expiry_reminders() == 0
    assert send_expiry_reminders(day=in_days(30)) == 1
    assert set(QualificationReminder.objects.values_list("days_before", flat=True)) == {90, 60}
    assert Notification.objects.filter(recipient=rep, category="qualification_expiry").count() == 2
    assert Notification.objects.filter(recipient=quality, category="qualification_expiry").count() == 2


def test_reminder_command_runs(customer):
    customer.qualifications.update(valid_until=in_days(10))

    call_command("send_qualification_reminders")

    assert QualificationReminder.objects.get().days_before == 30


# Grading


def sell(rep, customer, product, amount, when=None):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1, Decimal(amount))])
    SalesOrder.objects.filter(pk=order.pk).update(status="completed", order_date=when or local_today())
    return order


@pytest.fixture
def graded_customers(rep, product):
    customers = [f.CustomerFactory(owner=rep, grade="C", code=f"G{index}") for index in range(4)]
    for customer, amount in zip(customers, ["7000", "2000", "1000", "0"]):
        if amount != "0":
            sell(rep, customer, product, amount)
    return customers


def test_grading_preview_pareto(graded_customers):
    grades = {move.customer.code: move.new_grade for move in grading.grading_preview()}

    assert grades == {"G0": "A", "G1": "B", "G2": "C", "G3": "C"}


def test_grading_ignores_old_and_draft_orders(rep, product):
    old = f.CustomerFactory(owner=rep, grade="C")
    draft = f.CustomerFactory(owner=rep, grade="C")
    sell(rep, old, product, "9000", when=in_days(-400))
    f.make_order(actor=rep, customer=draft, lines=[(product, 1, Decimal("9000"))])

    assert {move.new_grade for move in grading.grading_preview()} == {"C"}


def test_apply_grading_records_changes(manager, graded_customers):
    moves = grading.apply_grading(actor=manager)

    assert {move.customer.code for move in moves} == {"G0", "G1"}
    change = GradeChange.objects.get(customer__code="G0")
    assert (change.old_grade, change.new_grade, change.source, change.changed_by) == ("C", "A", "rule", manager)
    assert grading.apply_grading(actor=manager) == []


def test_grading_thresholds_configurable(manager, graded_customers):
    grading.save_grading_settings(actor=manager, grade_a_share=Decimal("95"), grade_b_share=Decimal("99"), months=12)

    grades = {move.customer.code: move.new_grade for move in grading.grading_preview()}

    assert grades == {"G0": "A", "G1": "A", "G2": "B", "G3": "C"}
    with pytest.raises(InvalidInput):
        grading.save_grading_settings(actor=manager, grade_a_share=Decimal("80"), grade_b_share=Decimal("70"), months=12)


def test_grading_rule_manager_only(supervisor):
    with pytest.raises(NotPermitted):
        grading.apply_grading(actor=supervisor)


def test_grading_command(graded_customers):
    call_command("grade_customers", "--dry-run")
    assert Customer.objects.get(code="G0").grade == "C"

    call_command("grade_customers")
    assert Customer.objects.get(code="G0").grade == "A"
    assert GradeChange.objects.get(customer__code="G0").changed_by is None


def test_set_grade_by_hand_needs_reason(supervisor, customer):
    with pytest.raises(InvalidInput):
        grading.set_grade(actor=supervisor, customer=customer, category="key", grade="A", reason=" ")

    grading.set_grade(actor=supervisor, customer=customer, category="key", grade="A", reason="年采购额超过 50 万")

    customer.refresh_from_db()
    assert (customer.category, customer.grade) == ("key", "A")
    change = customer.grade_changes.get()
    assert (change.old_grade, change.reason, change.changed_by) == ("B", "年采购额超过 50 万", supervisor)


@pytest.mark.parametrize("persona", ["rep", "finance"])
def test_set_grade_rejected_for_role(request, persona, customer):
    with pytest.raises(NotPermitted):
        grading.set_grade(actor=request.getfixturevalue(persona), customer=customer, category="key", grade="A", reason="x")


def test_set_grade_other_team_not_found(supervisor, rep2):
    other = f.CustomerFactory(owner=rep2)

    with pytest.raises(InvalidInput):
        grading.set_grade(actor=supervisor, customer=other, category="key", grade="A", reason="x")


# Duplicates and merging


def test_normalize_name():
    assert merging.normalize_name("成都 华西口腔（高新）有限公司") == merging.normalize_name("成都华西口腔(高新)")


def test_duplicate_groups_by_uscc_and_name(rep, rep2):
    a = f.CustomerFactory(owner=rep, name="成都美齿口腔诊所有限公司", uscc=f.valid_uscc(1))
    b = f.CustomerFactory(owner=rep2, name="成都美齿口腔诊所")
    c = f.CustomerFactory(owner=rep2, name="完全不同", uscc="")
    d = f.CustomerFactory(owner=rep, name="另一个", uscc="")
    Customer.objects.filter(pk=d.pk).update(uscc=a.uscc)

    groups = merging.duplicate_groups()

    member_sets = [{customer.pk for customer in group["customers"]} for group in groups]
    assert {a.pk, b.pk} in member_sets
    assert {a.pk, d.pk} in member_sets
    assert all(c.pk not in members for members in member_sets)


def test_merge_moves_related_rows(manager, rep, rep2, product):
    kept = f.CustomerFactory(owner=rep, address="")
    duplicate = f.CustomerFactory(owner=rep2, address="成都市武侯区 1 号")
    order = f.make_order(actor=rep2, customer=duplicate, lines=[(product, 1)])
    contact = cf.ContactFactory(customer=duplicate)

    merge = merging.merge_customers(actor=manager, kept=kept, duplicate=duplicate, reason="同一诊所重复建档")

    order.refresh_from_db()
    contact.refresh_from_db()
    duplicate.refresh_from_db()
    kept.refresh_from_db()
    assert order.customer == kept
    assert contact.customer == kept
    assert kept.qualifications.count() == 2
    assert not duplicate.is_active
    assert kept.address == "成都市武侯区 1 号"
    assert merge.moved["moved"]["sales.SalesOrder.customer"] == 1
    assert merge.moved["moved"]["customers.Contact.customer"] == 1
    assert CustomerMerge.objects.get().merged_by == manager
    assert Notification.objects.filter(recipient=rep2, category="customer_merge").exists()


def test_merge_keeps_uscc_unique(manager, rep):
    kept = f.CustomerFactory(owner=rep, uscc="")
    duplicate = f.CustomerFactory(owner=rep, uscc=f.valid_uscc(77))

    merging.merge_customers(actor=manager, kept=kept, duplicate=duplicate, reason="重复")

    kept.refresh_from_db()
    duplicate.refresh_from_db()
    assert kept.uscc == f.valid_uscc(77)
    assert duplicate.uscc == ""


@pytest.mark.parametrize("persona", ["supervisor", "rep", "quality"])
def test_merge_manager_only(request, persona, rep):
    kept = f.CustomerFactory(owner=rep)
    duplicate = f.CustomerFactory(owner=rep)

    with pytest.raises(NotPermitted):
        merging.merge_customers(actor=request.getfixturevalue(persona), kept=kept, duplicate=duplicate, reason="x")


def test_merge_rejects_same_or_inactive(manager, rep):
    kept = f.CustomerFactory(owner=rep)
    inactive = f.CustomerFactory(owner=rep, is_active=False)

    with pytest.raises(InvalidInput):
        merging.merge_customers(actor=manager, kept=kept, duplicate=kept, reason="x")
    with pytest.raises(InvalidInput):
        merging.merge_customers(actor=manager, kept=kept, duplicate=inactive, reason="x")


def test_replace_without_scope_keeps_stored_scope(quality, customer):
    qualification = customer.qualifications.get()
    qualification.device_classes = ["II", "III"]
    qualification.covers_drugs = True
    qualification.save()
    data = {"kind": qualification.kind, "number": qualification.number, "valid_until": qualification.valid_until}

    services.replace_qualifications(actor=quality, customer=customer, qualifications=[data])

    kept = customer.qualifications.get()
    assert kept.pk == qualification.pk
    assert kept.device_classes == ["II", "III"]
    assert kept.covers_drugs is True
    assert kept.verification_status == VerificationStatus.VERIFIED
