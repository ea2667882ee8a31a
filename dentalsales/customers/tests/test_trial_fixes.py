"""Protected files, explicit verification, duplicate names and phones on hand entry, system reasons, merge refusals."""

import datetime
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.crm.models import ImportStatus, RevisitPlan, RevisitStatus
from dentalsales.customers import grading, importing, merging, services
from dentalsales.customers.models import Customer, GradeChange, GradingSettings, Qualification, VerificationStatus
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .test_views import form_data

PDF = b"%PDF-1.4\n%test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def document(media, customer, rep):
    return services.upload_document(
        actor=rep, customer=customer, upload=SimpleUploadedFile("licence.pdf", PDF), title="营业执照", kind="licence_scan"
    )


@pytest.fixture
def scanned(media, customer, rep):
    return services.add_qualification(
        actor=rep, customer=customer, scan=SimpleUploadedFile("scan.png", PNG),
        kind="business_licence", number="BL-1", valid_until=local_today() + datetime.timedelta(days=365),
    )


# Files are served through permission-checked views


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager", "quality", "finance", "logistics"])
def test_document_served_inline_to_users_who_see_the_customer(request, persona, document):
    response = client_for(request.getfixturevalue(persona)).get(
        reverse("customers:document_file", args=[document.customer_id, document.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content) == PDF


def test_document_is_404_for_another_team_and_needs_sign_in(document, rep2):
    url = reverse("customers:document_file", args=[document.customer_id, document.pk])

    assert client_for(rep2).get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize("persona, status", [("quality", 200), ("rep", 200), ("manager", 200), ("rep2", 404)])
def test_scan_served_to_quality_and_the_customer_team_only(request, persona, status, scanned):
    response = client_for(request.getfixturevalue(persona)).get(
        reverse("customers:qualification_scan", args=[scanned.customer_id, scanned.pk])
    )

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline")


def test_pages_link_the_protected_urls_not_media(document, scanned, rep, quality):
    detail = client_for(rep).get(reverse("customers:detail", args=[document.customer_id])).content.decode()
    queue = client_for(quality).get(reverse("customers:verification_queue")).content.decode()

    assert reverse("customers:document_file", args=[document.customer_id, document.pk]) in detail
    assert reverse("customers:qualification_scan", args=[scanned.customer_id, scanned.pk]) in detail
    assert reverse("customers:qualification_scan", args=[scanned.customer_id, scanned.pk]) in queue
    assert "/media/" not in detail + queue


def test_api_returns_protected_urls(api, document, scanned, rep):
    client = api(rep)
    documents = client.get(f"/api/v1/customer-documents/?customer={document.customer_id}").json()["results"]
    customer = client.get(f"/api/v1/customers/{document.customer_id}/").json()

    assert documents[0]["file"].endswith(reverse("customers:document_file", args=[document.customer_id, document.pk]))
    assert customer["qualifications"][0]["scan"].endswith(
        reverse("customers:qualification_scan", args=[scanned.customer_id, scanned.pk])
    )
    assert client.get(documents[0]["file"]).status_code in (200, 302)  # APIClient has no session for the web view


# Verification needs an explicit decision


def test_verify_api_with_empty_body_decides_nothing(api, quality, scanned):
    url = f"/api/v1/customers/{scanned.customer_id}/qualifications/{scanned.pk}/verify/"

    for body, kwargs in (({}, {"format": "json"}), ({}, {})):
        response = api(quality).post(url, body, **kwargs)
        assert response.status_code == 400
        assert "approve" in response.json()
    scanned.refresh_from_db()
    assert scanned.verification_status == VerificationStatus.PENDING

    assert api(quality).post(url, {"approve": True}, format="json").status_code == 200


def test_verify_api_options_describe_approve_and_note(api, quality, scanned):
    url = f"/api/v1/customers/{scanned.customer_id}/qualifications/{scanned.pk}/verify/"

    fields = api(quality).options(url).json()["actions"]["POST"]

    assert set(fields) == {"approve", "note"}
    assert fields["approve"]["required"] is True


def test_verification_message_says_the_decision(quality, scanned):
    client = client_for(quality)
    url = reverse("customers:qualification_verify", args=[scanned.pk])

    page = client.post(url, {"decision": "reject", "note": "扫描件模糊"}, follow=True).content.decode()

    assert "Rejected: Business licence BL-1" in page


def test_expired_qualification_warned_on_add_and_marked_in_queue(rep, quality, customer):
    url = reverse("customers:qualification_add", args=[customer.pk])
    page = client_for(rep).post(
        url, {"kind": "device_business_licence", "number": "OLD-1", "valid_until": "2020-01-01"}, follow=True
    ).content.decode()

    assert "expired on 2020-01-01" in page
    queue = client_for(quality).get(reverse("customers:verification_queue")).content.decode()
    assert 'data-testid="expired"' in queue


# Checkbox groups render as Bootstrap checks


def test_device_class_checkboxes_render_one_check_per_option(rep, customer):
    page = client_for(rep).get(reverse("customers:qualification_add", args=[customer.pk])).content.decode()

    assert 'class="form-check-input" type="checkbox" name="device_classes" value="I" id="id_device_classes_0"' in page
    assert '<label class="form-check-label" for="id_device_classes_0">' in page
    assert 'for=""' not in page
    assert '<div id="id_device_classes" class="form-check-input"' not in page


# Duplicate names and phones on hand entry


def test_create_form_refuses_a_duplicate_name_unless_confirmed(rep):
    f.CustomerFactory(owner=rep, name="上海测试二口腔诊所", code="CU-OLD")
    client = client_for(rep)

    refused = client.post(reverse("customers:create"), form_data(rep, name="上海 测试二口腔诊所"))
    assert refused.status_code == 200
    assert "CU-OLD" in refused.content.decode()
    assert Customer.objects.count() == 1

    accepted = client.post(reverse("customers:create"), form_data(rep, name="上海 测试二口腔诊所", allow_duplicate_name="on"))
    assert accepted.status_code == 302
    assert Customer.objects.count() == 2


def test_create_api_refuses_a_duplicate_name_unless_allowed(api, rep):
    f.CustomerFactory(owner=rep, name="杭州上城区朗齿口腔诊所", code="CU-0011")
    body = {"name": "杭州上城区朗齿口腔诊所", "customer_type": "clinic", "category": "general", "grade": "B"}

    refused = api(rep).post("/api/v1/customers/", body, format="json")
    assert refused.status_code == 400
    assert "CU-0011" in str(refused.json()["name"])

    assert api(rep).post("/api/v1/customers/", {**body, "allow_duplicate_name": True}, format="json").status_code == 201


def test_prospect_form_and_api_refuse_a_duplicate_name(api, rep):
    f.CustomerFactory(owner=rep, name="杭州上城区朗齿口腔诊所", code="CU-0011")
    data = {"name": "杭州上城区朗齿口腔诊所", "customer_type": "clinic", "source": "referral"}

    page = client_for(rep).post(reverse("crm:prospect_create"), data)
    assert page.status_code == 200 and "CU-0011" in page.content.decode()
    refused = api(rep).post("/api/v1/prospects/", data, format="json")
    assert refused.status_code == 400 and "CU-0011" in str(refused.json())
    assert api(rep).post("/api/v1/prospects/", {**data, "allow_duplicate_name": True}, format="json").status_code == 201


def test_a_resubmitted_create_form_creates_one_customer(rep):
    client = client_for(rep)
    data = form_data(rep, name="双击测试口腔诊所", token="a" * 32)

    first = client.post(reverse("customers:create"), data)
    second = client.post(reverse("customers:create"), data, follow=True)

    assert first.status_code == 302
    assert Customer.objects.filter(name="双击测试口腔诊所").count() == 1
    assert "This form was already sent" in second.content.decode()


def test_a_form_token_of_another_users_customer_is_not_replayed(rep, rep2):
    services.create_customer(actor=rep, name="甲", customer_type="clinic", category="potential", creation_token="t" * 32)

    with pytest.raises(Exception):
        services.create_customer(actor=rep2, name="乙", customer_type="clinic", category="potential", creation_token="t" * 32)


@pytest.mark.parametrize("phone", ["abc123", "1391234567", "12"])
def test_customer_form_api_and_prospect_form_validate_the_phone(api, rep, phone):
    form = client_for(rep).post(reverse("customers:create"), form_data(rep, contact_phone=phone))
    assert form.status_code == 200 and f"Contact phone “{phone}”" in form.content.decode()

    body = {"name": "电话测试", "customer_type": "clinic", "category": "general", "grade": "B", "contact_phone": phone}
    response = api(rep).post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400 and "contact_phone" in response.json()

    prospect = client_for(rep).post(
        reverse("crm:prospect_create"), {"name": "电话测试二", "customer_type": "clinic", "source": "referral", "contact_phone": phone}
    )
    assert prospect.status_code == 200 and f"Contact phone “{phone}”" in prospect.content.decode()
    assert not Customer.objects.exists()


def test_phone_is_normalised_like_the_import(rep):
    customer = services.create_customer(
        actor=rep, name="手机", customer_type="clinic", category="general", grade="C", contact_phone="+86 139-1234-5678"
    )
    landline = services.create_customer(
        actor=rep, name="座机", customer_type="clinic", category="general", grade="C", contact_phone="028-85551234"
    )

    assert (customer.contact_phone, landline.contact_phone) == ("13912345678", "028-85551234")


def test_create_form_requires_a_grade_for_a_general_customer(rep):
    response = client_for(rep).post(reverse("customers:create"), form_data(rep, grade=""))

    assert response.status_code == 200
    assert "grade" in response.context["form"].errors
    assert not Customer.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Needs PostgreSQL: SQLite serialises every writer.")
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_form_create_one_customer(django_user_model):
    from dentalsales.accounts.roles import Role
    from django.contrib.auth.models import Group

    user = f.UserFactory(username="double")
    user.groups.add(Group.objects.get_or_create(name=Role.REPRESENTATIVE)[0])
    barrier = threading.Barrier(2)
    results = []

    def submit():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            customer = services.create_customer(
                actor=user, name="并发测试口腔", customer_type="clinic", category="general", grade="B", creation_token="c" * 32
            )
            results.append(customer.pk)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2 and len(set(results)) == 1
    assert Customer.objects.filter(name="并发测试口腔").count() == 1


# System reasons


def test_grading_reason_formats_percentages_and_follows_the_reader_language(manager, rep):
    GradingSettings.objects.create(grade_a_share=60, grade_b_share=85, months=12)
    f.CustomerFactory(owner=rep, category="general", grade="A")
    customer = f.CustomerFactory(owner=rep, category="general", grade="B")

    grading.apply_grading(actor=manager)
    change = GradeChange.objects.filter(customer=customer).get()

    with translation.override("en"):
        assert change.reason_text == "Grading rule: A within 60% of sales, B within 85%, over 12 months."
    with translation.override("zh-hans"):
        assert "E+" not in change.reason_text and "60" in change.reason_text
    assert "E+" not in change.reason


def test_grade_history_shows_time_of_day(supervisor, customer):
    grading.set_grade(actor=supervisor, customer=customer, category="key", grade="A", reason="年采购额大")
    page = client_for(supervisor).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert GradeChange.objects.get().changed_at.astimezone().strftime("%Y-%m-%d %H:") in page


# Merge


@pytest.mark.parametrize("case", ["self", "inactive"])
def test_merge_refuses_self_and_inactive_with_a_message(manager, rep, case):
    kept = f.CustomerFactory(owner=rep)
    duplicate = kept if case == "self" else f.CustomerFactory(owner=rep, is_active=False)
    url = reverse("customers:merge", args=[kept.pk, duplicate.pk])

    for method in ("get", "post"):
        response = getattr(client_for(manager), method)(url, {"reason": "重复"} if method == "post" else None, follow=True)
        text = response.content.decode()
        assert "merged into itself" in text if case == "self" else "perhaps merged already" in text
    kept.refresh_from_db()
    assert kept.is_active


def test_merge_moves_revisit_plans_and_shows_in_the_kept_history(manager, rep):
    kept = f.CustomerFactory(owner=rep)
    duplicate = f.CustomerFactory(owner=rep)
    today = local_today()
    RevisitPlan.objects.create(customer=kept, owner=rep, due_on=today + datetime.timedelta(days=30))
    RevisitPlan.objects.create(customer=duplicate, owner=rep, due_on=today + datetime.timedelta(days=5))
    RevisitPlan.objects.create(customer=duplicate, owner=rep, due_on=today, status=RevisitStatus.DONE)

    merge = merging.merge_customers(actor=manager, kept=kept, duplicate=duplicate, reason="同一诊所")

    assert not merge.moved["not_moved"]
    assert not RevisitPlan.objects.filter(customer=duplicate, status=RevisitStatus.OPEN).exists()
    assert RevisitPlan.objects.get(customer=kept, status=RevisitStatus.OPEN).due_on == today + datetime.timedelta(days=5)
    page = client_for(manager).get(reverse("customers:detail", args=[kept.pk])).content.decode()
    assert f"Customer {duplicate.code}" in page and "同一诊所" in page


# Review checklist, list, search


def test_review_checklist_names_a_waiting_licence_once(rep, customer):
    from dentalsales.customers.compliance import pending_qualifications, qualification_problems

    Qualification.objects.filter(customer=customer).delete()
    Qualification.objects.create(customer=customer, kind="medical_institution_licence", number="PDY00012345")
    customer.customer_type = "clinic"
    problems = qualification_problems(customer, {"II"})

    assert any("PDY00012345" in problem for problem in problems)
    assert pending_qualifications(customer, except_named_in=problems) == []


def test_list_label_shows_verification_state(rep):
    customer = f.CustomerFactory(owner=rep)
    Qualification.objects.filter(customer=customer).delete()
    Qualification.objects.create(customer=customer, kind="business_licence", number="X1", verification_status="pending")

    page = client_for(rep).get(reverse("customers:list")).content.decode()

    assert 'data-verification="pending"' in page
    assert "Business licence · Waiting for verification" in page


@pytest.mark.parametrize("query", ["(浦东)", "（浦东）"])
def test_search_treats_half_and_full_width_brackets_alike(rep, query):
    services.create_customer(actor=rep, name="上海朗齿口腔医院（浦东）", customer_type="clinic", category="potential")

    page = client_for(rep).get(reverse("customers:list"), {"q": query}).content.decode()

    assert "上海朗齿口腔医院（浦东）" in page


# Form messages


def test_contact_and_address_forms_show_one_specific_message(rep, customer):
    client = client_for(rep)
    contact = client.post(reverse("customers:contact_create", args=[customer.pk]), {"name": "", "email": "bad", "decision_role": "other"})
    address = client.post(reverse("customers:address_create", args=[customer.pk]), {"detail": "1 号", "recipient": "王", "recipient_phone": "13800138000"})
    merge_text = contact.content.decode() + address.content.decode()

    assert "This field is required" not in merge_text
    assert merge_text.count("The contact&#x27;s name is missing.") == 1
    assert merge_text.count("“bad” is not an e-mail address.") == 1
    assert "The district is missing." in merge_text


# Import details


def _job(actor, kind, text, name="rows.csv"):
    return importing.create_import_job(actor=actor, kind=kind, name=name, data=text.encode())


def test_import_understands_city_and_district(rep, regions):
    job = _job(rep, "customers", "客户名称,客户类型,等级,区域\n成都测试口腔,口腔诊所,B,成都市锦江区\n")

    assert job.problems == {}


def test_import_says_a_representative_imports_for_themselves(rep, rep2, regions):
    job = _job(rep, "customers", f"客户名称,客户类型,等级,销售代表\n成都测试口腔,口腔诊所,B,{rep2.username}\n")

    assert "imports customers for themselves only" in job.problems["2"][0]


def test_import_reads_the_sheet_named_like_the_kind(rep, customer):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "客户"
    workbook.active.append(["客户名称"])
    contacts = workbook.create_sheet("联系人")
    contacts.append(["客户编码", "联系人姓名"])
    contacts.append([customer.code, "张伟"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = importing.create_import_job(actor=rep, kind="contacts", name="all.xlsx", data=buffer.getvalue())

    assert job.problems == {}


def test_template_example_rows_pass_their_own_checks(rep, regions):
    from openpyxl import load_workbook

    with translation.override("zh-hans"):
        for kind in ("customers", "contacts"):
            workbook = importing.template_workbook(kind)
            sheet = workbook.worksheets[0]
            header, example = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
            context = importing._build_context(kind, rep, [])
            keys = [column.key for column in importing.COLUMNS[kind]]
            values = dict(zip(keys, (str(v or "") for v in example)))
            problems = importing.CHECKERS[kind](values, context)[-1]
            problems = [p for p in problems if "CU-CD-0001" not in p]
            assert problems == [], (kind, header, problems)
            notes = [row for row in workbook.worksheets[1].iter_rows(values_only=True)]
            assert any(row[3] for row in notes[1:] if row and len(row) > 3)


def test_imported_qualifications_notify_once_per_customer(rep, quality, customer):
    Notification.objects.all().delete()
    rows = "客户编码,资质类型,证号\n" + "".join(f"{customer.code},营业执照,N{n}\n" for n in range(3))
    job = _job(rep, "qualifications", rows)
    importing.start_import(actor=rep, job=job, mode="all")
    job = importing.run_import(actor=rep, job=job)

    assert job.status == ImportStatus.DONE
    assert Notification.objects.filter(recipient=quality, category="qualification_verification").count() == 1
