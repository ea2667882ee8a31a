"""Opening balances: entry by form and API, the spreadsheet import with its preview, roles and the representative backfill."""

import datetime
import importlib
import io
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.core import signing
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.finance import opening_balances, services
from dentalsales.finance.models import Payment, Receivable
from dentalsales.finance.opening_balance_views import PAYLOAD_SALT
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db

HEADER = "客户编码,金额,发票号,开票日期,到期日,备注"
LIST_URL = "/finance/opening-balances/"
IMPORT_URL = "/finance/opening-balances/import/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, code="CU-CD-0001", payment_terms_days=30)


@pytest.fixture
def foreign_customer(rep2):
    return f.CustomerFactory(owner=rep2, code="CU-GZ-0002")


def enter(actor, customer, **changes):
    values = {"amount": "1000.00", "reference": "FP-001", "invoiced_on": datetime.date(2026, 3, 1), **changes}
    return opening_balances.create_opening_receivable(actor=actor, customer=customer, **values)


def csv_upload(lines, encoding="utf-8"):
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


class TestEntry:
    def test_enters_a_receivable_without_shipment(self, finance, rep, customer):
        receivable = enter(finance, customer, note="旧系统迁移")

        assert receivable.shipment_id is None
        assert receivable.reference == "FP-001"
        assert receivable.representative == rep
        assert receivable.due_on == datetime.date(2026, 3, 31)
        assert receivable.open_amount == D("1000.00")
        assert receivable.number.startswith("AR-20260301-")

    def test_due_date_given(self, finance, customer):
        receivable = enter(finance, customer, due_on="2026-05-10")

        assert receivable.due_on == datetime.date(2026, 5, 10)

    def test_advance_settles_it(self, finance, customer):
        services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="300.00")

        receivable = enter(finance, customer)

        assert receivable.open_amount == D("700.00")
        assert Payment.objects.get().unapplied_amount == D("0.00")

    @pytest.mark.parametrize(
        "changes,field,text",
        [
            ({"amount": "0"}, "amount", "greater than 0, not 0"),
            ({"amount": "-5"}, "amount", "greater than 0, not -5"),
            ({"amount": "10.005"}, "amount", "10.005 has more than 2 decimal places"),
            ({"reference": " "}, "reference", "Enter the invoice or reference number"),
            ({"invoiced_on": "2026-02-30"}, "invoiced_on", "“2026-02-30” is not a date"),
            ({"due_on": "2026-02-28"}, "due_on", "The due date 2026-02-28 is before the invoice date 2026-03-01."),
        ],
    )
    def test_bad_values_are_named(self, finance, customer, changes, field, text):
        with pytest.raises(InvalidInput) as caught:
            enter(finance, customer, **changes)

        assert text in caught.value.field_errors[field][0]
        assert Receivable.objects.count() == 0

    def test_future_invoice_date_is_refused(self, finance, customer):
        tomorrow = local_today() + datetime.timedelta(days=1)

        with pytest.raises(InvalidInput) as caught:
            enter(finance, customer, invoiced_on=tomorrow)

        assert "is in the future" in caught.value.field_errors["invoiced_on"][0]

    def test_reference_is_entered_once_per_customer(self, finance, customer, foreign_customer):
        enter(finance, customer)

        with pytest.raises(InvalidInput) as caught:
            enter(finance, customer, amount="5.00")
        enter(finance, foreign_customer)

        assert "“FP-001” is already entered for CU-CD-0001" in caught.value.field_errors["reference"][0]
        assert Receivable.objects.filter(customer=customer).count() == 1
        assert Receivable.objects.filter(customer=foreign_customer).count() == 1

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "manager", "logistics", "quality"])
    def test_only_finance_enters(self, request, customer, persona):
        with pytest.raises(NotPermitted):
            enter(request.getfixturevalue(persona), customer)

        assert Receivable.objects.count() == 0

    def test_administrator_enters(self, customer):
        administrator = f.UserFactory(roles=[services.Role.ADMINISTRATOR])

        assert enter(administrator, customer).amount == D("1000.00")


class TestReading:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
    def test_csv_encodings(self, encoding):
        data = csv_upload(["CU-CD-0001,\"￥12,800.50\",FP-001,2026/1/5,,旧系统"], encoding)

        rows = opening_balances.read_rows("期初.csv", data)

        assert rows == [
            {"row_number": 2, "customer_code": "CU-CD-0001", "amount": "￥12,800.50", "reference": "FP-001",
             "invoiced_on": "2026/1/5", "due_on": "", "note": "旧系统"}
        ]

    def test_xlsx_with_english_headers_and_real_dates(self):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Customer code *", "Open amount *", "Invoice or reference *", "Invoice date *", "Due date"])
        sheet.append(["CU-CD-0001", 1234.5, "FP-9", datetime.datetime(2026, 1, 5), datetime.datetime(2026, 2, 4)])
        buffer = io.BytesIO()
        workbook.save(buffer)

        rows = opening_balances.read_rows("balances.xlsx", buffer.getvalue())

        assert rows[0]["amount"] == "1234.5"
        assert (rows[0]["invoiced_on"], rows[0]["due_on"], rows[0]["note"]) == ("2026-01-05", "2026-02-04", "")

    def test_missing_required_column_is_named(self):
        with pytest.raises(InvalidInput) as caught:
            opening_balances.read_rows("x.csv", "客户编码,金额\nCU-CD-0001,10\n".encode())

        assert "Invoice or reference" in str(caught.value)
        assert "Invoice date" in str(caught.value)

    def test_too_many_rows(self, monkeypatch):
        monkeypatch.setattr(opening_balances, "MAX_IMPORT_ROWS", 2)

        with pytest.raises(InvalidInput) as caught:
            opening_balances.read_rows("x.csv", csv_upload([f"C,1,R{n},2026-01-01,," for n in range(3)]))

        assert "The file has 3 rows; import at most 2 at a time." == str(caught.value)

    def test_other_file_type(self):
        with pytest.raises(InvalidInput) as caught:
            opening_balances.read_rows("balances.pdf", b"%PDF")

        assert "is not an .xlsx or .csv file" in str(caught.value)


class TestChecking:
    def test_every_problem_of_every_row_is_listed(self, finance, customer):
        enter(finance, customer, reference="FP-OLD")
        future = (local_today() + datetime.timedelta(days=3)).isoformat()
        rows = opening_balances.read_rows(
            "x.csv",
            csv_upload(
                [
                    "CU-CD-0001,100.00,FP-1,2026-01-05,2026-02-04,",
                    "CU-XX-9999,100.00,FP-2,2026-01-05,,",
                    "CU-CD-0001,0,FP-3,2026-01-05,,",
                    "CU-CD-0001,12.345,FP-4,2026-13-01,,",
                    "CU-CD-0001,abc,FP-5,2026-01-05,2025-12-31,",
                    "CU-CD-0001,10,FP-1,2026-01-05,,",
                    "CU-CD-0001,10,FP-OLD,2026-01-05,,",
                    f"CU-CD-0001,10,FP-6,{future},,",
                    ",10,,,,",
                ]
            ),
        )

        checked = opening_balances.check_rows(rows)

        problems = {row.row_number: [(name, message) for name, message in row.problems] for row in checked}
        assert problems[2] == []
        assert problems[3] == [("customer_code", "No customer has the code “CU-XX-9999”.")]
        assert problems[4] == [("amount", "The amount must be greater than 0, not 0.")]
        assert [name for name, _message in problems[5]] == ["amount", "invoiced_on"]
        assert "12.345 has more than 2 decimal places" in problems[5][0][1]
        assert problems[5][1][1] == "“2026-13-01” is not a date (YYYY-MM-DD)."
        assert problems[6] == [
            ("amount", "“abc” is not an amount."),
            ("due_on", "The due date 2025-12-31 is before the invoice date 2026-01-05."),
        ]
        assert problems[7] == [("reference", "The reference “FP-1” of CU-CD-0001 is also in row 2.")]
        assert problems[8] == [("reference", "An opening balance with the reference “FP-OLD” is already entered for CU-CD-0001.")]
        assert problems[9] == [("invoiced_on", f"The invoice date {future} is in the future.")]
        assert [name for name, _message in problems[10]] == ["customer_code", "reference", "invoiced_on"]

    def test_due_date_defaults_to_payment_terms(self, customer):
        rows = opening_balances.read_rows("x.csv", csv_upload(["CU-CD-0001,10,FP-1,20260105,,"]))

        checked = opening_balances.check_rows(rows)[0]

        assert checked.problems == []
        assert (checked.invoiced_on, checked.due_on) == (datetime.date(2026, 1, 5), datetime.date(2026, 2, 4))


class TestImport:
    def test_imports_all_rows(self, finance, rep, rep2, customer, foreign_customer):
        rows = opening_balances.read_rows(
            "x.csv", csv_upload(["CU-CD-0001,100.00,FP-1,2026-01-05,,", "CU-GZ-0002,\"2,000.10\",FP-1,2026.2.1,2026-03-01,备注"])
        )

        receivables = opening_balances.import_opening_balances(actor=finance, rows=rows)

        assert [(r.customer, r.amount, r.representative) for r in receivables] == [
            (customer, D("100.00"), rep),
            (foreign_customer, D("2000.10"), rep2),
        ]
        assert receivables[1].due_on == datetime.date(2026, 3, 1)
        assert receivables[1].note == "备注"

    def test_one_bad_row_imports_nothing(self, finance, customer):
        rows = opening_balances.read_rows("x.csv", csv_upload(["CU-CD-0001,100.00,FP-1,2026-01-05,,", "CU-CD-0001,-1,FP-2,2026-01-05,,"]))

        with pytest.raises(InvalidInput) as caught:
            opening_balances.import_opening_balances(actor=finance, rows=rows)

        assert str(caught.value).startswith("1 of 2 rows have problems, so nothing was imported. First: row 3:")
        assert Receivable.objects.count() == 0

    def test_failure_after_the_first_insert_rolls_back(self, finance, customer, monkeypatch):
        rows = opening_balances.read_rows("x.csv", csv_upload(["CU-CD-0001,100.00,FP-1,2026-01-05,,", "CU-CD-0001,200.00,FP-2,2026-01-05,,"]))
        original = opening_balances._create
        calls = []

        def fail_on_second(actor, checked):
            calls.append(checked.row_number)
            if len(calls) == 2:
                raise InvalidInput("simulated failure", field="reference")
            return original(actor, checked)

        monkeypatch.setattr(opening_balances, "_create", fail_on_second)

        with pytest.raises(InvalidInput):
            opening_balances.import_opening_balances(actor=finance, rows=rows)

        assert calls == [2, 3]
        assert Receivable.objects.count() == 0

    def test_same_import_twice_is_refused(self, finance, customer):
        rows = opening_balances.read_rows("x.csv", csv_upload(["CU-CD-0001,100.00,FP-1,2026-01-05,,"]))
        opening_balances.import_opening_balances(actor=finance, rows=rows)

        with pytest.raises(InvalidInput) as caught:
            opening_balances.import_opening_balances(actor=finance, rows=rows)

        assert "already entered for CU-CD-0001" in str(caught.value)
        assert Receivable.objects.count() == 1

    def test_representative_cannot_import(self, rep, customer):
        rows = opening_balances.read_rows("x.csv", csv_upload(["CU-CD-0001,100.00,FP-1,2026-01-05,,"]))

        with pytest.raises(NotPermitted):
            opening_balances.import_opening_balances(actor=rep, rows=rows)

        assert Receivable.objects.count() == 0


class TestScreens:
    @pytest.mark.parametrize(
        "persona,status,has_form",
        [("finance", 200, True), ("manager", 200, False), ("rep", 403, False), ("supervisor", 403, False), ("logistics", 403, False), ("quality", 403, False)],
    )
    def test_list_per_role(self, request, finance, customer, persona, status, has_form):
        enter(finance, customer)

        response = client_for(request.getfixturevalue(persona)).get(LIST_URL)

        assert response.status_code == status
        if status == 200:
            html = response.content.decode()
            assert 'data-opening-balance="' in html
            assert ('data-testid="opening-balance-form"' in html) is has_form

    @pytest.mark.parametrize("persona", ["manager", "rep", "supervisor", "logistics"])
    def test_only_finance_posts(self, request, customer, persona):
        client = client_for(request.getfixturevalue(persona))
        body = {"customer": customer.pk, "amount": "10", "reference": "FP-1", "invoiced_on": "2026-01-05"}

        list_status = client.post(LIST_URL, body).status_code
        import_status = client.post(IMPORT_URL, {"file": io.BytesIO(csv_upload(["CU-CD-0001,10,FP-1,2026-01-05,,"]))}).status_code

        assert (list_status, import_status) == (403, 403)
        assert Receivable.objects.count() == 0

    def test_finance_enters_one(self, finance, customer):
        body = {"customer": customer.pk, "amount": "1,000.50", "reference": "FP-7", "invoiced_on": "2026-01-05", "note": "迁移"}

        response = client_for(finance).post(LIST_URL, body, follow=True)

        receivable = Receivable.objects.get()
        assert receivable.amount == D("1000.50")
        assert receivable.due_on == datetime.date(2026, 2, 4)
        assert f"Opening balance {receivable.number} of" in response.content.decode()

    def test_form_shows_the_error_beside_the_field(self, finance, customer):
        body = {"customer": customer.pk, "amount": "10", "reference": "FP-8", "invoiced_on": "2026-01-05", "due_on": "2026-01-01"}

        response = client_for(finance).post(LIST_URL, body)

        assert 'data-error-for="due_on"' in response.content.decode()
        assert "The due date 2026-01-01 is before the invoice date 2026-01-05." in response.content.decode()
        assert Receivable.objects.count() == 0

    def test_preview_lists_problems_and_offers_no_import(self, finance, customer):
        upload = io.BytesIO(csv_upload(["CU-CD-0001,10,FP-1,2026-01-05,,", "CU-XX-1,10,FP-2,2026-01-05,,"], "gbk"))
        upload.name = "期初.csv"

        response = client_for(finance).post(IMPORT_URL, {"file": upload})

        html = response.content.decode()
        assert 'data-import-row="3"' in html
        assert "No customer has the code “CU-XX-1”." in html
        assert 'data-testid="import-problems"' in html
        assert 'data-testid="confirm-import"' not in html
        assert Receivable.objects.count() == 0

    def test_preview_then_confirm_imports(self, finance, customer):
        client = client_for(finance)
        upload = io.BytesIO(csv_upload(["CU-CD-0001,10,FP-1,2026-01-05,,", "CU-CD-0001,20,FP-2,2026-01-06,,"], "utf-8-sig"))
        upload.name = "balances.csv"

        preview = client.post(IMPORT_URL, {"file": upload})
        assert Receivable.objects.count() == 0
        confirmed = client.post(IMPORT_URL, {"payload": preview.context["payload"]}, follow=True)
        again = client.post(IMPORT_URL, {"payload": preview.context["payload"]}, follow=True)

        assert "2 opening balances imported." in confirmed.content.decode()
        assert "already entered for CU-CD-0001" in again.content.decode()
        assert sorted(Receivable.objects.values_list("reference", flat=True)) == ["FP-1", "FP-2"]

    def test_changed_payload_is_refused(self, finance, customer):
        payload = signing.dumps([{"row_number": 2, "customer_code": "CU-CD-0001", "amount": "10"}], salt="another salt")

        response = client_for(finance).post(IMPORT_URL, {"payload": payload + "x"}, follow=True)

        assert "The preview has expired or was changed" in response.content.decode()
        assert Receivable.objects.count() == 0

    def test_signed_payload_is_checked_again(self, finance, customer):
        payload = signing.dumps(
            [{"row_number": 2, "customer_code": "CU-CD-0001", "amount": "0", "reference": "X", "invoiced_on": "2026-01-05", "due_on": "", "note": ""}],
            salt=PAYLOAD_SALT,
            compress=True,
        )

        response = client_for(finance).post(IMPORT_URL, {"payload": payload}, follow=True)

        assert "nothing was imported" in response.content.decode()
        assert Receivable.objects.count() == 0

    def test_template_reads_back(self, finance, customer):
        response = client_for(finance).get("/finance/opening-balances/template/")
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        buffer = io.BytesIO(response.content)

        parsed = opening_balances.read_rows("template.xlsx", buffer.getvalue())

        assert rows[0][0] == "Customer code *"
        assert opening_balances.check_rows(parsed)[0].problems == []

    def test_statement_shows_the_reference(self, finance, customer):
        receivable = enter(finance, customer, note="旧系统迁移")
        url = reverse("finance:statement", args=[customer.pk]) + "?date_from=2026-01-01&date_to=2026-12-31"

        entries = client_for(finance).get(url).context["statement"]["entries"]

        assert [(entry["number"], entry["reference"]) for entry in entries] == [(receivable.number, "FP-001 旧系统迁移")]

    def test_representative_sees_own_opening_balances_in_receivables(self, finance, rep, customer, foreign_customer):
        own = enter(finance, customer)
        foreign = enter(finance, foreign_customer)

        html = client_for(rep).get(reverse("finance:receivable_list")).content.decode()

        assert f'data-receivable="{own.number}"' in html
        assert f'data-receivable="{foreign.number}"' not in html


class TestApi:
    URL = "/api/v1/receivables/opening-balances/"

    def body(self, customer, **changes):
        return {"customer": customer.pk, "amount": "880.00", "reference": "FP-API-1", "invoiced_on": "2026-01-05", **changes}

    def test_finance_enters(self, api, finance, rep, customer):
        response = api(finance).post(self.URL, self.body(customer), format="json")

        assert response.status_code == 201
        body = response.json()
        assert (body["reference"], body["amount"], body["due_on"], body["representative"]) == ("FP-API-1", "880.00", "2026-02-04", rep.pk)

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
    def test_other_roles_are_forbidden(self, request, api, customer, persona):
        response = api(request.getfixturevalue(persona)).post(self.URL, self.body(customer), format="json")

        assert response.status_code == 403
        assert Receivable.objects.count() == 0

    @pytest.mark.parametrize("persona", ["logistics", "quality"])
    def test_roles_without_finance_access(self, request, api, customer, persona):
        response = api(request.getfixturevalue(persona)).post(self.URL, self.body(customer), format="json")

        assert response.status_code == 403
        assert Receivable.objects.count() == 0

    def test_bad_amount_names_the_value(self, api, finance, customer):
        response = api(finance).post(self.URL, self.body(customer, amount="1.234"), format="json")

        assert response.status_code == 400
        assert "1.234 has more than 2 decimal places" in response.content.decode()
        assert Receivable.objects.count() == 0

    def test_representative_reads_own_only(self, api, finance, rep, customer, foreign_customer):
        own = enter(finance, customer)
        enter(finance, foreign_customer)

        response = api(rep).get("/api/v1/receivables/?status=open")

        assert [row["number"] for row in response.json()["results"]] == [own.number]
        assert response.json()["results"][0]["reference"] == "FP-001"


def test_backfill_of_representatives(finance, rep, rep2, supervisor, stocked_product, logistics, quality):
    """A receivable of an order takes the order's owner; opening balances and payments the customer's owner."""
    from .factories import approved_order, dispatch

    customer = f.CustomerFactory(owner=rep)
    order = approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 2, "130.00")])
    shipped = dispatch(order=order, picker=logistics, reviewer=quality).receivable
    opening = make_receivable(customer=customer, amount="5.00")
    payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="1.00")
    customer.owner = rep2
    customer.save(update_fields=["owner"])
    Receivable.objects.update(representative=None)
    Payment.objects.update(representative=None)
    migration = importlib.import_module("dentalsales.finance.migrations.0007_fill_representatives")

    migration.fill_representatives(apps, None)

    assert Receivable.objects.get(pk=shipped.pk).representative == rep
    assert Receivable.objects.get(pk=opening.pk).representative == rep2
    assert Payment.objects.get(pk=payment.pk).representative == rep2
