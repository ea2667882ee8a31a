"""Contacts, delivery addresses, business information and documents: validation, writes and visibility."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.models import Region
from dentalsales.core.validators import is_mainland_mobile
from dentalsales.customers import selectors, services
from dentalsales.customers.models import Contact
from dentalsales.testing import factories as f

from . import factories as cf

PDF = b"%PDF-1.4\n% demo\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("13812345678", True),
        ("+86 138 1234 5678", True),
        ("0086-19912345678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("1.38E+10", False),
        ("", False),
    ],
)
def test_mainland_mobile_validation(value, valid):
    assert is_mainland_mobile(value) is valid


def test_contact_data_valid_is_normalised():
    cleaned, errors = services.clean_contact_data(
        {"name": " 王医生 ", "mobile": "+86 138-1234-5678", "birthday": "1980/3/7", "decision_role": "Decision maker", "is_primary": "是"}
    )

    assert errors == {}
    assert cleaned["name"] == "王医生"
    assert cleaned["mobile"] == "13812345678"
    assert cleaned["birthday"] == datetime.date(1980, 3, 7)
    assert cleaned["decision_role"] == "decision_maker"
    assert cleaned["is_primary"] is True


def test_contact_data_errors_name_field_and_value():
    errors = services.validate_contact_data(
        {"name": "", "mobile": "1234", "email": "wang@", "birthday": "2999-01-01", "decision_role": "boss", "phone": "abc"}
    )

    assert set(errors) == {"name", "mobile", "email", "birthday", "decision_role", "phone"}
    assert "“1234”" in errors["mobile"][0]
    assert "“wang@”" in errors["email"][0]
    assert "2999-01-01" in errors["birthday"][0]
    assert "“boss”" in errors["decision_role"][0]


def test_contact_bad_date_is_reported():
    errors = services.validate_contact_data({"name": "李", "birthday": "not a date"})

    assert "“not a date”" in errors["birthday"][0]


def test_create_contact_primary_replaces_old(rep, customer):
    first = services.create_contact(actor=rep, customer=customer, name="张主任", is_primary=True)
    second = services.create_contact(actor=rep, customer=customer, name="李护士长", mobile="13900001111", is_primary=True)

    first.refresh_from_db()
    assert first.is_primary is False
    assert second.is_primary is True
    assert second.mobile == "13900001111"


def test_update_contact_keeps_missing_fields(rep, customer):
    contact = services.create_contact(actor=rep, customer=customer, name="张主任", title="主任", mobile="13800001111")

    services.update_contact(actor=rep, contact=contact, title="院长")

    contact.refresh_from_db()
    assert contact.title == "院长"
    assert contact.mobile == "13800001111"


def test_invalid_contact_changes_nothing(rep, customer):
    with pytest.raises(InvalidInput) as error:
        services.create_contact(actor=rep, customer=customer, name="张", mobile="2345")

    assert "mobile" in error.value.field_errors
    assert not Contact.objects.exists()


@pytest.mark.parametrize("persona", ["rep2", "finance", "logistics", "quality"])
def test_contact_writes_rejected_outside_team(request, persona, customer):
    actor = request.getfixturevalue(persona)

    with pytest.raises((InvalidInput, NotPermitted)):
        services.create_contact(actor=actor, customer=customer, name="张")


def test_contact_visibility_per_role(request, customer, rep, supervisor, manager, rep2, finance, logistics, quality):
    contact = cf.ContactFactory(customer=customer)

    for user in (rep, supervisor, manager):
        assert list(selectors.visible_contacts(user)) == [contact], user.username
    for user in (rep2, finance, logistics, quality):
        assert list(selectors.visible_contacts(user)) == [], user.username


def test_export_contacts_permission_is_granted_to_managers(manager, rep, supervisor, finance):
    assert selectors.can_export_contacts(manager)
    assert not selectors.can_export_contacts(rep)
    assert not selectors.can_export_contacts(supervisor)
    assert not selectors.can_export_contacts(finance)


def test_search_finds_contact_mobile(rep, customer):
    cf.ContactFactory(customer=customer, mobile="13987654321")
    other = f.CustomerFactory(owner=rep)

    found = selectors.search_customers(selectors.visible_customers(rep), "87654321", rep)

    assert list(found) == [customer]
    assert other not in found


def test_search_by_mobile_respects_visibility(rep2, customer):
    cf.ContactFactory(customer=customer, mobile="13987654321")

    assert not selectors.search_customers(selectors.visible_customers(rep2), "13987654321", rep2).exists()


def test_search_by_pinyin_initials(rep):
    clinic = f.CustomerFactory(owner=rep, name="北京口腔医院", code="Z001")
    f.CustomerFactory(owner=rep, name="上海齿科", code="Z002")

    assert list(selectors.search_customers(selectors.visible_customers(rep), "bjkq")) == [clinic]


# Addresses


@pytest.fixture
def district(regions):
    return Region.objects.get(code="510104")


def test_address_needs_district(rep, customer, regions):
    city = Region.objects.get(code="5101")

    errors = services.validate_address_data({"region": city, "detail": "一环路 1 号", "recipient": "张", "recipient_phone": "028-1234567"})

    assert "region" in errors
    assert "成都市" in errors["region"][0]


def test_address_unknown_region_code(regions):
    errors = services.validate_address_data({"region": "999999", "detail": "x", "recipient": "张", "recipient_phone": "13800001111"})

    assert "“999999”" in errors["region"][0]


def test_address_missing_fields(regions):
    errors = services.validate_address_data({"region": "510104", "postcode": "12"})

    assert set(errors) == {"detail", "recipient", "recipient_phone", "postcode"}


def test_first_address_becomes_default(rep, customer, district):
    first = services.create_address(actor=rep, customer=customer, region=district, detail="春熙路 1 号", recipient="张", recipient_phone="13800001111")
    second = services.create_address(actor=rep, customer=customer, region="510104", detail="春熙路 2 号", recipient="李", recipient_phone="13800002222", is_default=True)

    first.refresh_from_db()
    assert second.is_default
    assert not first.is_default
    services.delete_address(actor=rep, address=second)
    first.refresh_from_db()
    assert first.is_default


def test_address_of_invisible_customer_rejected(rep2, customer, district):
    with pytest.raises(InvalidInput):
        services.create_address(actor=rep2, customer=customer, region=district, detail="x", recipient="张", recipient_phone="13800001111")


# Business information and documents


def test_business_profile_saved_and_validated(rep, customer):
    profile = services.save_business_profile(actor=rep, customer=customer, chairs=8, doctors=5, specialities="种植, 正畸")

    assert profile.chairs == 8
    with pytest.raises(InvalidInput) as error:
        services.save_business_profile(actor=rep, customer=customer, annual_consumables_spend=-1)
    assert "annual_consumables_spend" in error.value.field_errors


def test_document_upload_checks_type_and_content(rep, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    document = services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile("营业执照.pdf", PDF), kind="licence_scan")
    assert document.size == len(PDF)
    assert document.title == "营业执照.pdf"

    with pytest.raises(InvalidInput) as wrong_type:
        services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile("a.exe", PDF))
    assert "“a.exe”" in str(wrong_type.value)
    with pytest.raises(InvalidInput) as wrong_content:
        services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile("scan.png", PDF))
    assert "PNG" in str(wrong_content.value)


def test_document_size_limit(rep, customer, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 40)

    with pytest.raises(InvalidInput) as error:
        services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile("big.png", PNG + b"1" * 20))
    assert "10 MB" in str(error.value)


def test_document_delete_only_uploader_or_manager(rep, supervisor, manager, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    document = services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile("a.pdf", PDF))

    with pytest.raises(NotPermitted):
        services.delete_document(actor=supervisor, document=document)
    services.delete_document(actor=manager, document=document)
    assert not customer.documents.exists()


def test_grade_change_through_update_is_logged(supervisor, customer):
    services.update_customer(actor=supervisor, customer=customer, grade="A", grade_reason="新开分院")

    change = customer.grade_changes.get()
    assert (change.old_grade, change.new_grade, change.reason, change.changed_by) == ("B", "A", "新开分院", supervisor)
