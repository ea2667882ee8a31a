"""Spreadsheet import: reading .xlsx and CSV in every encoding, the preview's problems, and both import modes."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.crm.models import ImportStatus
from dentalsales.customers import importing
from dentalsales.customers.models import Contact, Customer, Qualification
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

HEADER = "客户编码,客户名称,客户类型,区域,联系电话,统一社会信用代码\n"


def csv_bytes(lines, encoding="utf-8"):
    return (HEADER + "".join(line + "\n" for line in lines)).encode(encoding)


def xlsx_bytes(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def start(actor, data, name="customers.csv", kind="customers"):
    return importing.create_import_job(actor=actor, kind=kind, name=name, data=data)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_read_alike(rep, encoding):
    job = start(rep, csv_bytes([f"CU-T-001,成都锦江口腔门诊部,口腔诊所,510104,13800138000,{f.valid_uscc(9001)}"], encoding))

    assert job.total_rows == 1
    assert job.problems == {}
    assert job.rows[0]["values"]["name"] == "成都锦江口腔门诊部"
    assert job.rows[0]["values"]["code"] == "CU-T-001"


def test_xlsx_numbers_stay_text(rep):
    data = xlsx_bytes([
        ["客户编码", "客户名称", "客户类型", "联系电话"],
        ["00123", "成都高新口腔诊所", "口腔诊所", 13800138000],
    ])

    job = start(rep, data, name="c.xlsx")

    values = job.rows[0]["values"]
    assert values["code"] == "00123"
    assert values["contact_phone"] == "13800138000"
    assert job.problems == {}


def test_every_problem_listed_before_writing(rep):
    existing = f.CustomerFactory(owner=rep, name="北京朝阳口腔医院")
    lines = [
        "A1,成都口腔一,口腔诊所,510104,13800138000,91510104MA6CXXXXX",   # row 2: bad USCC shape
        "A2,成都口腔二,口腔诊所,510104,1380013800,",                    # row 3: bad mobile
        "A3,成都口腔三,口腔诊所,999999,,",                               # row 4: unknown region
        f"A4,成都口腔四,口腔诊所,,,{existing.uscc}",                     # row 5: duplicate by USCC
        "A5,北京 朝阳口腔医院,口腔诊所,,,",                              # row 6: duplicate by normalised name
        "A6,,口腔诊所,,,",                                               # row 7: missing name
        "A7,成都口腔一,口腔诊所,,,",                                     # row 8: duplicate of row 2 in file
        "A8,成都口腔八,牙科超市,,,",                                     # row 9: unknown type
        "A9,成都口腔九,口腔诊所,四川省 成都市 锦江区,028-85551234,",     # row 10: valid
    ]

    job = start(rep, csv_bytes(lines))

    problems = {int(row): " ".join(messages) for row, messages in job.problems.items()}
    assert "91510104MA6CXXXXX" in problems[2]
    assert "1380013800" in problems[3]
    assert "999999" in problems[4]
    assert existing.code in problems[5]
    assert existing.code in problems[6]
    assert "Name is missing" in problems[7]
    assert "row 2" in problems[8]
    assert "牙科超市" in problems[9]
    assert 10 not in problems
    assert Customer.objects.count() == 1


def test_import_all_refused_with_problems(rep):
    job = start(rep, csv_bytes(["B1,成都口腔一,口腔诊所,,138,", "B2,成都口腔二,口腔诊所,,,"]))

    with pytest.raises(InvalidInput) as error:
        importing.start_import(actor=rep, job=job, mode="all")

    assert error.value.field == "mode"
    assert Customer.objects.count() == 0


def test_import_valid_only_reports_kept_rows(rep):
    job = start(rep, csv_bytes(["B1,成都口腔一,口腔诊所,,138,", "B2,成都口腔二,口腔诊所,510104,,", "B3,成都口腔三,口腔诊所,,,"]))
    importing.start_import(actor=rep, job=job, mode="valid_only")

    job = importing.run_import(actor=rep, job=job, batch_size=1)

    assert job.status == ImportStatus.DONE
    assert job.imported_rows == [3, 4]
    assert job.skipped_rows == [2]
    assert set(Customer.objects.values_list("code", flat=True)) == {"B2", "B3"}
    assert Customer.objects.get(code="B2").region.code == "510104"
    headers, rows = importing.report_rows(job)
    outcomes = {row[0]: row[1] for row in rows}
    assert outcomes == {2: "Not imported", 3: "Imported", 4: "Imported"}


def test_import_all_rolls_back_on_late_conflict(rep):
    job = start(rep, csv_bytes(["C1,成都口腔一,口腔诊所,,,", "C2,成都口腔二,口腔诊所,,,"]))
    importing.start_import(actor=rep, job=job, mode="all")
    # Someone else creates the second customer between the preview and the import.
    f.CustomerFactory(owner=rep, code="X9", name="成都口腔二")

    job = importing.run_import(actor=rep, job=job, batch_size=1)

    assert job.status == ImportStatus.FAILED
    assert "Row 3" in job.error
    assert not Customer.objects.filter(code__in=["C1", "C2"]).exists()
    assert job.imported_rows == []


def test_import_progress_saved_per_batch(rep):
    job = start(rep, csv_bytes([f"D{i},成都口腔{i},口腔诊所,,," for i in range(5)]))
    importing.start_import(actor=rep, job=job, mode="valid_only")

    job = importing.run_import_step(actor=rep, job=job, batch_size=2)

    job.refresh_from_db()
    assert (job.processed_rows, job.progress_percent, job.status) == (2, 40, "running")
    assert Customer.objects.count() == 2


def test_all_or_none_import_runs_in_one_step(rep):
    job = start(rep, csv_bytes([f"D{i},成都口腔{i},口腔诊所,,," for i in range(5)]))
    importing.start_import(actor=rep, job=job, mode="all")

    job = importing.run_import_step(actor=rep, job=job, batch_size=2)

    job.refresh_from_db()
    assert (job.processed_rows, job.progress_percent, job.status) == (5, 100, "done")
    assert Customer.objects.count() == 5


def test_other_user_cannot_run_job(rep, rep2):
    job = start(rep, csv_bytes(["E1,成都口腔一,口腔诊所,,,"]))

    with pytest.raises(NotPermitted):
        importing.start_import(actor=rep2, job=job, mode="all")


def test_missing_required_column_rejected(rep):
    with pytest.raises(InvalidInput) as error:
        start(rep, "客户编码,联系电话\nA,1\n".encode())

    assert "Customer type" in str(error.value)


def test_wrong_file_type_rejected(rep):
    with pytest.raises(InvalidInput) as error:
        start(rep, b"x", name="customers.xls")

    assert error.value.field == "file"


def test_finance_cannot_import_customers(finance):
    with pytest.raises(NotPermitted):
        start(finance, csv_bytes(["A1,成都口腔一,口腔诊所,,,"]))


def test_contacts_import_checks_customer_and_mobile(rep, rep2):
    mine = f.CustomerFactory(owner=rep, code="M1")
    f.CustomerFactory(owner=rep2, code="O1")
    Contact.objects.create(customer=mine, name="李院长", mobile="13900000001")
    data = (
        "客户编码,姓名,职务,手机\n"
        "M1,张伟,院长,13912345678\n"
        "M1,王芳,护士长,1391234\n"
        "O1,赵六,院长,13700000000\n"
        "M1,李院长,院长,13900000001\n"
    ).encode("gbk")

    job = start(rep, data, kind="contacts")

    assert set(job.problems) == {"3", "4", "5"}
    assert "1391234" in job.problems["3"][0]
    assert "O1" in job.problems["4"][0]
    importing.start_import(actor=rep, job=job, mode="valid_only")
    importing.run_import(actor=rep, job=job)
    assert list(mine.contacts.order_by("name").values_list("name", "mobile")) == [("张伟", "13912345678"), ("李院长", "13900000001")]


def test_qualifications_import(rep):
    customer = f.CustomerFactory(owner=rep, code="Q1", qualifications=[])
    data = (
        "客户编码,资质类型,证号,有效期至,经营类别,含药品\n"
        "Q1,Medical device business licence,川蓉食药监械经营许20230001号,2029-12-31,\"II,III\",否\n"
        "Q1,营业执照,,2029-12-31,,\n"
        "Q1,Business licence,91510104X,2029-13-01,IV,maybe\n"
    ).encode()

    job = start(rep, data, kind="qualifications")

    assert set(job.problems) == {"3", "4"}
    assert len(job.problems["4"]) == 3
    importing.start_import(actor=rep, job=job, mode="valid_only")
    importing.run_import(actor=rep, job=job)
    qualification = Qualification.objects.get(customer=customer)
    assert qualification.device_classes == ["II", "III"]
    assert qualification.verification_status == "pending"


def test_template_has_text_cells_and_example(rep):
    workbook = importing.template_workbook("customers")
    sheet = workbook.active

    assert sheet.cell(row=1, column=2).value == "Name *"
    assert sheet.cell(row=2, column=9).number_format == "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert load_workbook(io.BytesIO(buffer.getvalue())).active.max_row >= 2


def test_template_round_trip_reads_header(rep):
    workbook = importing.template_workbook("contacts")
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = start(rep, buffer.getvalue(), name="template.xlsx", kind="contacts")

    assert job.total_rows == 1
    assert "CU-CD-0001" in job.problems["2"][0]
