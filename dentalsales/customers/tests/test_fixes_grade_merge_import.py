"""Category and grade outside the general edit form, human merge labels, potential customers' pipeline records and imports."""

import io

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.crm.models import ImportStatus, Prospect, ProspectStage
from dentalsales.customers import importing, services
from dentalsales.customers.models import Contact, Customer, GradeChange
from dentalsales.customers.tests import factories as cf
from dentalsales.testing import factories as f

from .test_views import form_data


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def edit_data(customer, **overrides):
    data = form_data(customer.owner, name=customer.name, uscc=customer.uscc, **overrides)
    del data["code"]
    return data


# Category and grade


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_edit_form_has_no_category_or_grade(request, persona, customer):
    response = client_for(request.getfixturevalue(persona)).get(reverse("customers:update", args=[customer.pk]))

    assert response.status_code == 200
    assert "category" not in response.context["form"].fields
    assert "grade" not in response.context["form"].fields
    assert 'data-read-only="grade"' in response.content.decode()


def test_create_form_still_sets_category_and_grade(rep):
    response = client_for(rep).get(reverse("customers:create"))

    assert {"category", "grade"} <= set(response.context["form"].fields)


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_posted_grade_on_edit_form_is_ignored(request, persona, customer):
    client = client_for(request.getfixturevalue(persona))

    response = client.post(reverse("customers:update", args=[customer.pk]), edit_data(customer, grade="A", category="key"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.category, customer.grade) == ("general", "B")
    assert not GradeChange.objects.exists()


@pytest.mark.parametrize(("persona", "shows_link"), [("rep", False), ("supervisor", True), ("manager", True)])
def test_edit_form_links_grade_screen_for_grade_roles(request, persona, shows_link, customer):
    html = client_for(request.getfixturevalue(persona)).get(reverse("customers:update", args=[customer.pk])).content.decode()

    assert (reverse("customers:grade", args=[customer.pk]) in html) is shows_link


def test_update_service_refuses_grade_change_without_reason(supervisor, customer):
    with pytest.raises(InvalidInput) as error:
        services.update_customer(actor=supervisor, customer=customer, grade="A")

    assert "grade_reason" in error.value.field_errors
    assert "General customer B" in str(error.value)
    customer.refresh_from_db()
    assert customer.grade == "B"


def test_update_service_refuses_grade_change_by_representative(rep, customer):
    with pytest.raises(NotPermitted):
        services.update_customer(actor=rep, customer=customer, grade="A", grade_reason="新开分院")

    customer.refresh_from_db()
    assert customer.grade == "B"
    assert not GradeChange.objects.exists()


def test_update_service_records_grade_change_with_reason(supervisor, customer):
    services.update_customer(actor=supervisor, customer=customer, category="key", grade="A", grade_reason="新开分院")

    customer.refresh_from_db()
    change = customer.grade_changes.get()
    assert (customer.category, customer.grade) == ("key", "A")
    assert (change.old_category, change.new_category) == ("general", "key")
    assert (change.old_grade, change.new_grade) == ("B", "A")
    assert change.reason == "新开分院"
    assert change.changed_by == supervisor


def test_api_patch_grade_without_reason_is_refused(api, supervisor, customer):
    response = api(supervisor).patch(f"/api/v1/customers/{customer.pk}/", {"grade": "A"}, format="json")

    assert response.status_code == 400
    assert "grade_reason" in response.data
    customer.refresh_from_db()
    assert customer.grade == "B"


@pytest.mark.parametrize(("persona", "status"), [("rep", 403), ("supervisor", 200), ("manager", 200)])
def test_api_patch_grade_with_reason_per_role(api, request, persona, status, customer):
    response = api(request.getfixturevalue(persona)).patch(
        f"/api/v1/customers/{customer.pk}/", {"grade": "C", "grade_reason": "采购量下降"}, format="json"
    )

    assert response.status_code == status
    customer.refresh_from_db()
    assert customer.grade == ("C" if status == 200 else "B")
    assert GradeChange.objects.filter(customer=customer, reason="采购量下降").count() == (1 if status == 200 else 0)


def test_api_patch_other_fields_needs_no_reason(api, rep, customer):
    response = api(rep).patch(f"/api/v1/customers/{customer.pk}/", {"address": "北京市东城区 2 号", "grade": "B"}, format="json")

    assert response.status_code == 200
    assert not GradeChange.objects.exists()


# Merge preview


def test_merge_page_names_records_in_users_language(manager, rep, product):
    kept = f.CustomerFactory(owner=rep)
    duplicate = f.CustomerFactory(owner=rep)
    f.make_order(actor=rep, customer=duplicate, lines=[(product, 1)])
    cf.ContactFactory(customer=duplicate)
    cf.ContactFactory(customer=duplicate)

    html = client_for(manager).get(reverse("customers:merge", args=[kept.pk, duplicate.pk])).content.decode()

    assert "Sales orders: 1 record" in html
    assert "Contacts: 2 records" in html
    assert "sales.SalesOrder" not in html
    assert "sales_salesorder" not in html


def test_merge_page_in_chinese_uses_chinese_names(manager, rep):
    kept = f.CustomerFactory(owner=rep)
    duplicate = f.CustomerFactory(owner=rep)
    cf.ContactFactory(customer=duplicate)
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(manager)

    html = client.get(reverse("customers:merge", args=[kept.pk, duplicate.pk])).content.decode()

    assert "联系人" in html
    assert "customers.Contact" not in html


# Potential customers get their pipeline record


def test_potential_customer_from_service_gets_prospect(rep):
    customer = services.create_customer(actor=rep, name="成都新开口腔诊所", customer_type="clinic", category="potential")

    prospect = Prospect.objects.get(customer=customer)
    assert (prospect.stage, prospect.source, prospect.created_by) == (ProspectStage.NEW, "other", rep)
    assert list(prospect.stage_changes.values_list("from_stage", "to_stage")) == [("", "new")]


def test_general_customer_gets_no_prospect(rep):
    customer = services.create_customer(actor=rep, name="成都老客户口腔", customer_type="clinic", category="general", grade="B")

    assert not Prospect.objects.filter(customer=customer).exists()


def test_potential_customer_from_form_gets_prospect(rep):
    response = client_for(rep).post(reverse("customers:create"), form_data(rep, category="potential", grade=""))

    assert response.status_code == 302
    customer = Customer.objects.get(name="上海齿科门诊部")
    assert customer.prospect.stage == ProspectStage.NEW


def test_potential_customer_from_api_gets_prospect_with_source(api, rep):
    response = api(rep).post("/api/v1/customers/", {
        "name": "杭州展会口腔", "customer_type": "clinic", "category": "potential",
        "prospect_source": "exhibition", "prospect_source_detail": "华南口腔展",
    }, format="json")

    assert response.status_code == 201
    prospect = Prospect.objects.get(customer_id=response.data["id"])
    assert (prospect.source, prospect.source_detail, prospect.stage) == ("exhibition", "华南口腔展", "new")


def test_potential_customer_from_import_gets_prospect(rep):
    data = "名称,客户类型,客户类别\n重庆渝中潜在口腔,口腔诊所,潜在客户\n".encode()
    job = importing.create_import_job(actor=rep, kind="customers", name="c.csv", data=data)
    importing.start_import(actor=rep, job=job, mode="all")

    importing.run_import(actor=rep, job=job)

    prospect = Prospect.objects.get(customer__name="重庆渝中潜在口腔")
    assert (prospect.source, prospect.stage) == ("import", "new")


def test_backfill_opens_missing_prospects(rep):
    from importlib import import_module

    from django.apps import apps

    without = f.CustomerFactory(owner=rep, category="potential", grade=None)
    general = f.CustomerFactory(owner=rep)
    migration = import_module("dentalsales.crm.migrations.0005_open_missing_prospects")

    migration.open_missing_prospects(apps, None)
    migration.open_missing_prospects(apps, None)

    prospect = Prospect.objects.get(customer=without)
    assert (prospect.source, prospect.stage, prospect.created_by) == ("other", "new", rep)
    assert not Prospect.objects.filter(customer=general).exists()


# Import entries on the customer list


@pytest.mark.parametrize(
    ("persona", "kinds"),
    [
        ("rep", ["customers", "contacts", "qualifications"]),
        ("supervisor", ["customers", "contacts", "qualifications"]),
        ("manager", ["customers", "contacts", "qualifications"]),
        ("quality", ["qualifications"]),
        ("finance", []),
        ("logistics", []),
    ],
)
def test_customer_list_offers_each_allowed_import(request, persona, kinds):
    html = client_for(request.getfixturevalue(persona)).get(reverse("customers:list")).content.decode()

    for kind in ("customers", "contacts", "qualifications"):
        link = f'{reverse("customers:import_start")}?kind={kind}'
        assert (link in html) is (kind in kinds), kind


def test_quality_officer_import_page_offers_qualifications_only(quality):
    response = client_for(quality).get(reverse("customers:import_start") + "?kind=qualifications")

    assert response.status_code == 200
    assert [value for value, _label in response.context["form"].fields["kind"].choices] == ["qualifications"]


# All rows or none


def contact_rows(customer, count, bad_row_at=None):
    lines = ["客户编码,姓名,手机"]
    for index in range(count):
        lines.append(f"{customer.code},联系人{index},139{index:08d}")
    return "\n".join(lines).encode()


@pytest.mark.parametrize("batch_size", [2, 200])
def test_all_or_none_late_failure_leaves_nothing(rep, customer, batch_size, monkeypatch):
    job = importing.create_import_job(actor=rep, kind="contacts", name="c.csv", data=contact_rows(customer, 9))
    importing.start_import(actor=rep, job=job, mode="all")
    write_row = importing._write_row
    calls = []

    def fail_at_row_eight(kind, actor, values, context):
        calls.append(values["name"])
        if values["name"] == "联系人7":
            raise InvalidInput("simulated failure")
        return write_row(kind, actor, values, context)

    monkeypatch.setattr(importing, "_write_row", fail_at_row_eight)

    job = importing.run_import(actor=rep, job=job, batch_size=batch_size)

    assert job.status == ImportStatus.FAILED
    assert len(calls) == 8
    assert "Row 9" in job.error
    assert "simulated failure" in job.error
    assert job.imported_rows == []
    assert not Contact.objects.filter(customer=customer).exists()
    assert not Contact.history.filter(customer_id=customer.pk).exists()


def test_valid_only_reports_exactly_kept_rows(rep, customer, monkeypatch):
    job = importing.create_import_job(actor=rep, kind="contacts", name="c.csv", data=contact_rows(customer, 9))
    importing.start_import(actor=rep, job=job, mode="valid_only")
    write_row = importing._write_row

    def fail_at_row_eight(kind, actor, values, context):
        if values["name"] == "联系人7":
            raise InvalidInput("simulated failure")
        return write_row(kind, actor, values, context)

    monkeypatch.setattr(importing, "_write_row", fail_at_row_eight)

    job = importing.run_import(actor=rep, job=job, batch_size=2)

    assert job.status == ImportStatus.DONE
    assert job.skipped_rows == [9]
    assert job.imported_rows == [2, 3, 4, 5, 6, 7, 8, 10]
    assert job.problems["9"] == ["simulated failure"]
    assert sorted(Contact.objects.filter(customer=customer).values_list("pk", flat=True)) == sorted(job.created_ids)
    assert Contact.objects.filter(customer=customer).count() == 8


# Detail page queries and wording


@pytest.mark.parametrize("rows", [1, 6])
def test_detail_runs_fixed_number_of_queries(rows, rep, product, regions, settings, tmp_path, django_assert_max_num_queries):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dentalsales.core.timeutils import local_today
    from dentalsales.crm.models import RevisitPlan
    from dentalsales.crm.tests.factories import ActivityFactory, GiftFactory

    settings.MEDIA_ROOT = tmp_path
    customer = services.create_customer(actor=rep, name="成都查询计数口腔", customer_type="clinic", category="potential")
    for index in range(rows):
        services.create_contact(actor=rep, customer=customer, name=f"联系人{index}", mobile=f"139{index:08d}")
        services.create_address(
            actor=rep, customer=customer, region="510104", detail=f"红星路 {index} 号", recipient="李", recipient_phone="13800138000"
        )
        services.upload_document(actor=rep, customer=customer, upload=SimpleUploadedFile(f"d{index}.pdf", b"%PDF-1.4 x"))
        ActivityFactory(customer=customer)
        GiftFactory(customer=customer)
        f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
        customer.contact_name = f"收货人{index}"
        customer.save()
    services.save_business_profile(actor=rep, customer=customer, chairs=8)
    RevisitPlan.objects.create(customer=customer, owner=rep, due_on=local_today())
    client = client_for(rep)

    # session, user, groups; the customer with owner, team, region, business
    # information, pipeline record, last visit and open revisit; grade
    # changes, contacts, addresses, documents, gift totals; qualifications
    # and their categories; orders and line counts; the latest customer and
    # qualification history records and the records before them.
    with django_assert_max_num_queries(17):
        response = client.get(reverse("customers:detail", args=[customer.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert len(response.context["contacts"]) == rows + rows
    assert html.count('href="/customers/%d/addresses/' % customer.pk) >= rows
    assert "Potential customer record" in html


def test_contact_job_title_and_document_title_differ_in_chinese(rep, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.utils import translation

    from dentalsales.customers.models import Contact, CustomerDocument

    with translation.override("zh-hans"):
        contact_label = str(Contact._meta.get_field("title").verbose_name)
        document_label = str(CustomerDocument._meta.get_field("title").verbose_name)

    assert contact_label == "职务"
    assert document_label == "标题"
