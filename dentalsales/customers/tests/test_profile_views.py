"""Profile screens per role: contacts, addresses, documents, verification queue, expiry radar, grading, merging."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Contact, CustomerMerge, VerificationStatus
from dentalsales.testing import factories as f

from . import factories as cf


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def detail_url(customer):
    return reverse("customers:detail", args=[customer.pk])


def test_detail_shows_contacts_to_team(rep, supervisor, manager, customer):
    cf.ContactFactory(customer=customer, name="王主任")

    for user in (rep, supervisor, manager):
        html = client_for(user).get(detail_url(customer)).content.decode()
        assert "王主任" in html, user.username


@pytest.mark.parametrize("persona", ["finance", "logistics", "quality"])
def test_detail_hides_contacts_outside_team(request, persona, customer):
    cf.ContactFactory(customer=customer, name="王主任")

    response = client_for(request.getfixturevalue(persona)).get(detail_url(customer))

    assert response.status_code == 200
    assert "王主任" not in response.content.decode()
    assert 'data-testid="contacts-hidden"' in response.content.decode()


def test_other_rep_gets_404_everywhere(rep2, customer):
    client = client_for(rep2)
    contact = cf.ContactFactory(customer=customer)

    for url in (
        detail_url(customer),
        reverse("customers:contact_create", args=[customer.pk]),
        reverse("customers:contact_update", args=[customer.pk, contact.pk]),
        reverse("customers:address_create", args=[customer.pk]),
        reverse("customers:business_profile", args=[customer.pk]),
        reverse("customers:document_upload", args=[customer.pk]),
        reverse("customers:qualification_add", args=[customer.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_contact_created_on_screen(rep, customer):
    url = reverse("customers:contact_create", args=[customer.pk])

    response = client_for(rep).post(url, {"name": "李护士长", "mobile": "139 0000 2222", "decision_role": "purchaser", "is_primary": "on"})

    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.mobile, contact.is_primary) == ("13900002222", True)


def test_contact_form_shows_error_with_value(rep, customer):
    url = reverse("customers:contact_create", args=[customer.pk])

    response = client_for(rep).post(url, {"name": "李", "mobile": "1390000", "decision_role": "other"})

    assert response.status_code == 200
    assert "“1390000” is not a mainland mobile number" in response.content.decode()


def test_address_form_lists_provinces(rep, customer, regions):
    response = client_for(rep).get(reverse("customers:address_create", args=[customer.pk]))

    assert "四川省" in response.content.decode()


def test_region_children_lists_districts(rep, regions):
    from dentalsales.core.models import Region

    city = Region.objects.get(code="5101")

    names = [row["text"] for row in client_for(rep).get(reverse("customers:region_children"), {"parent": city.pk}).json()["results"]]

    assert "锦江区" in names


def test_address_saved_on_screen(rep, customer, regions):
    from dentalsales.core.models import Region

    district = Region.objects.get(code="510104")
    data = {
        "province": district.parent.parent_id, "city": district.parent_id, "region": district.pk,
        "detail": "春熙路 8 号", "recipient": "张", "recipient_phone": "13800001111",
    }

    response = client_for(rep).post(reverse("customers:address_create", args=[customer.pk]), data)

    assert response.status_code == 302
    assert customer.addresses.get().region == district


def test_document_upload_screen(rep, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("customers:document_upload", args=[customer.pk])

    bad = client_for(rep).post(url, {"kind": "photo", "file": SimpleUploadedFile("x.png", b"%PDF-1.4")})
    good = client_for(rep).post(url, {"kind": "photo", "file": SimpleUploadedFile("x.pdf", b"%PDF-1.4")})

    assert bad.status_code == 200
    assert "is not a PNG file" in bad.content.decode()
    assert good.status_code == 302
    assert customer.documents.count() == 1


def test_verification_queue_for_quality_only(quality, rep, customer):
    customer.qualifications.update(verification_status=VerificationStatus.PENDING)
    url = reverse("customers:verification_queue")

    assert client_for(rep).get(url).status_code == 403
    response = client_for(quality).get(url)
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 1

    qualification = customer.qualifications.get()
    client_for(quality).post(reverse("customers:qualification_verify", args=[qualification.pk]), {"decision": "approve"})
    qualification.refresh_from_db()
    assert qualification.verification_status == VerificationStatus.VERIFIED


def test_expiry_radar_respects_visibility(rep, rep2, customer):
    customer.qualifications.update(valid_until=local_today() + datetime.timedelta(days=45))
    url = reverse("customers:expiry_radar")

    assert len(client_for(rep).get(url).context["page_obj"]) == 1
    assert len(client_for(rep).get(url, {"days": "30"}).context["page_obj"]) == 0
    assert len(client_for(rep2).get(url).context["page_obj"]) == 0


def test_grading_screen_manager_only(manager, supervisor, rep, customer, product):
    url = reverse("customers:grading")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    type(order).objects.filter(pk=order.pk).update(status="completed")

    assert client_for(supervisor).get(url).status_code == 403
    preview = client_for(manager).get(url)
    assert [move.customer for move in preview.context["moves"]] == [customer]

    client_for(manager).post(url, {"action": "apply"})
    customer.refresh_from_db()
    assert customer.grade == "A"


def test_grade_screen_records_reason(supervisor, customer):
    response = client_for(supervisor).post(
        reverse("customers:grade", args=[customer.pk]), {"category": "key", "grade": "A", "reason": "新开种植中心"}
    )

    assert response.status_code == 302
    assert customer.grade_changes.get().reason == "新开种植中心"
    assert "新开种植中心" in client_for(supervisor).get(detail_url(customer)).content.decode()


def test_merge_screen_manager_only(manager, supervisor, rep):
    kept = f.CustomerFactory(owner=rep, name="成都美齿口腔")
    duplicate = f.CustomerFactory(owner=rep, name="成都美齿口腔有限公司")
    url = reverse("customers:merge", args=[kept.pk, duplicate.pk])

    assert client_for(supervisor).get(reverse("customers:duplicates")).status_code == 403
    assert client_for(supervisor).get(url).status_code == 403
    listing = client_for(manager).get(reverse("customers:duplicates"))
    assert len(listing.context["groups"]) == 1

    response = client_for(manager).post(url, {"kept": kept.pk, "duplicate": duplicate.pk, "reason": "重复建档"})

    assert response.status_code == 302
    assert CustomerMerge.objects.get().merged == duplicate


@pytest.mark.parametrize("rows", [3, 30])
def test_autocomplete_runs_a_fixed_number_of_queries(rows, rep, django_assert_max_num_queries):
    for index in range(rows):
        cf.ContactFactory(customer=f.CustomerFactory(owner=rep, name=f"北京口腔{index}"), mobile=f"1391234{index:04d}")
    client = client_for(rep)

    # session, user, groups, customers
    with django_assert_max_num_queries(4):
        by_pinyin = client.get(reverse("customers:autocomplete"), {"q": "bjkq"}).json()["results"]
    with django_assert_max_num_queries(4):
        by_mobile = client.get(reverse("customers:autocomplete"), {"q": "13912340001"}).json()["results"]

    assert len(by_pinyin) == rows
    assert len(by_mobile) == 1
