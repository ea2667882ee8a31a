"""Import and export screens: upload, preview, progress polling, report, templates; export permissions and the export log."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.crm.models import ExportLog, ImportJob
from dentalsales.customers.models import Contact, Customer
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

GBK_FILE = (
    "客户编码,客户名称,客户类型,区域,联系电话,统一社会信用代码\n"
    "G1,成都武侯口腔诊所,口腔诊所,510107,028-85551234,\n"
    "G2,成都武侯口腔诊所,口腔诊所,,13800138000,\n"
    "G3,成都青羊口腔诊所,口腔诊所,火星区,13800138000,\n"
).encode("gbk")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def sheet_rows(response):
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_upload_preview_commit_and_report(rep):
    client = client_for(rep)

    response = client.post(reverse("customers:import_start"), {
        "kind": "customers", "file": SimpleUploadedFile("客户.csv", GBK_FILE, content_type="text/csv"),
    })
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert set(job.problems) == {"3", "4"}
    assert not Customer.objects.exists()

    preview = client.get(reverse("customers:import_preview", args=[job.pk])).content.decode()
    assert "Duplicate of row 2" in preview
    assert "火星区" in preview

    refused = client.post(reverse("customers:import_preview", args=[job.pk]), {"mode": "all"})
    assert refused.status_code == 200
    assert "2 rows have problems" in refused.content.decode()

    client.post(reverse("customers:import_preview", args=[job.pk]), {"mode": "valid_only"})
    panel = client.post(reverse("customers:import_step", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="done"' in panel
    assert list(Customer.objects.values_list("code", flat=True)) == ["G1"]

    report = sheet_rows(client.get(reverse("customers:import_report", args=[job.pk])))
    assert report[0][:4] == ("Row", "Outcome", "Created record", "Problems")
    assert [(row[0], row[1], row[2]) for row in report[1:]] == [(2, "Imported", "G1"), (3, "Not imported", None), (4, "Not imported", None)]
    # The finished page names what each imported row created.
    assert "Row 2: G1" in panel
    # The report holds contact data, so its download is in the export log.
    assert ExportLog.objects.filter(user=rep, list_name="import report", filters__import=job.pk).exists()


def test_bad_upload_shows_error(rep):
    response = client_for(rep).post(reverse("customers:import_start"), {
        "kind": "customers", "file": SimpleUploadedFile("x.txt", b"hello"),
    })

    assert response.status_code == 200
    assert "x.txt" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_other_users_job_is_404(rep, rep2):
    client_for(rep).post(reverse("customers:import_start"), {
        "kind": "customers", "file": SimpleUploadedFile("c.csv", GBK_FILE),
    })
    job = ImportJob.objects.get()

    client = client_for(rep2)
    assert client.get(reverse("customers:import_preview", args=[job.pk])).status_code == 404
    assert client.get(reverse("customers:import_report", args=[job.pk])).status_code == 404
    assert client.post(reverse("customers:import_step", args=[job.pk])).status_code == 404


def test_logistics_cannot_import(logistics):
    assert client_for(logistics).get(reverse("customers:import_start")).status_code == 403


def test_template_download(rep):
    response = client_for(rep).get(reverse("customers:import_template", args=["qualifications"]))

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert sheet_rows(response)[0][0] == "Customer code *"


def test_customer_export_hides_contacts_without_permission_and_logs(rep, manager):
    f.CustomerFactory(owner=rep, contact_name="李护士长", contact_phone="13800138000")

    rep_rows = sheet_rows(client_for(rep).get(reverse("customers:list"), {"export": "xlsx", "q": "口腔"}))
    manager_rows = sheet_rows(client_for(manager).get(reverse("customers:list"), {"export": "xlsx"}))

    assert "Receiving contact" not in rep_rows[0]
    assert "13800138000" not in [cell for row in rep_rows for cell in row]
    assert "Receiving contact" in manager_rows[0]
    logs = list(ExportLog.objects.order_by("pk").values_list("user__username", "list_name", "row_count", "filters"))
    assert logs == [("rep", "customers", 1, {"q": "口腔"}), ("manager", "customers", 1, {})]


def test_contact_export_needs_permission(rep, rep2, manager):
    mine = f.CustomerFactory(owner=rep)
    Contact.objects.create(customer=mine, name="张伟", mobile="13912345678")
    Contact.objects.create(customer=f.CustomerFactory(owner=rep2), name="赵六", mobile="13700000000")

    assert client_for(rep).get(reverse("customers:export_contacts")).status_code == 403
    rows = sheet_rows(client_for(manager).get(reverse("customers:export_contacts")))

    assert sorted(row[2] for row in rows[1:]) == ["张伟", "赵六"]
    assert rows[1][5] in ("13912345678", "13700000000")
    assert ExportLog.objects.get().list_name == "customer contacts"


def test_qualification_export_respects_visibility(rep, rep2):
    mine = f.CustomerFactory(owner=rep)
    f.CustomerFactory(owner=rep2)

    rows = sheet_rows(client_for(rep).get(reverse("customers:export_qualifications")))

    assert [row[0] for row in rows[1:]] == [mine.code]
    assert ExportLog.objects.get().row_count == 1
