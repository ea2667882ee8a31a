"""Finance screens: access per role, visibility of other representatives' customers, forms and exports."""

import datetime
from decimal import Decimal as D
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote, CreditRelease, DocumentStatus, Payment, Receivable
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, name="成都锦江口腔诊所")


@pytest.fixture
def foreign_customer(rep2):
    return f.CustomerFactory(owner=rep2, name="广州天河口腔医院")


@pytest.fixture
def receivables(customer, foreign_customer):
    today = local_today()
    own = make_receivable(customer=customer, amount="1000.00", invoiced_on=today - datetime.timedelta(days=45))
    foreign = make_receivable(customer=foreign_customer, amount="500.00", invoiced_on=today - datetime.timedelta(days=5))
    return own, foreign


@pytest.fixture
def payment(finance, customer, receivables):
    return services.record_payment(
        actor=finance, customer=customer, received_on=local_today(), method="bank_transfer", amount="300.00", reference="工行回单 001"
    )


READ_PAGES = [
    ("finance:receivable_list", False),
    ("finance:aging", False),
    ("finance:credit_note_list", False),
    ("finance:release_list", False),
    ("finance:collection_rate", False),
]


@pytest.mark.parametrize("url_name,_unused", READ_PAGES)
@pytest.mark.parametrize("persona,status", [("rep", 200), ("supervisor", 200), ("manager", 200), ("finance", 200), ("logistics", 403), ("quality", 403)])
def test_read_pages_per_role(request, receivables, url_name, _unused, persona, status):
    user = request.getfixturevalue(persona)

    response = client_for(user).get(reverse(url_name))

    assert response.status_code == status


def test_anonymous_is_sent_to_login(receivables):
    response = Client().get(reverse("finance:receivable_list"))

    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("persona,sees_foreign", [("rep", False), ("supervisor", False), ("manager", True), ("finance", True), ("rep2", True)])
def test_receivable_list_visibility(request, receivables, persona, sees_foreign):
    own, foreign = receivables
    user = request.getfixturevalue(persona)

    html = client_for(user).get(reverse("finance:receivable_list")).content.decode()

    assert (f'data-receivable="{foreign.number}"' in html) is sees_foreign
    assert (f'data-receivable="{own.number}"' in html) is (persona != "rep2")


@pytest.mark.parametrize("rows", [2, 12])
def test_receivable_list_query_count_is_fixed(rows, finance, customer, django_assert_max_num_queries):
    for index in range(rows):
        make_receivable(customer=f.CustomerFactory(owner=customer.owner), amount=f"{100 + index}.00")
    client = client_for(finance)

    # session, user, groups, filter owners, filter regions, count, page, notification badge slot
    with django_assert_max_num_queries(8):
        response = client.get(reverse("finance:receivable_list"))

    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_aging_query_count_is_fixed(rows, finance, customer, django_assert_max_num_queries):
    for index in range(rows):
        make_receivable(customer=f.CustomerFactory(owner=customer.owner), amount="100.00")
    client = client_for(finance)

    with django_assert_max_num_queries(7):
        response = client.get(reverse("finance:aging") + "?group=owner")

    assert response.status_code == 200


def test_aging_buckets_by_invoice_age(finance, customer):
    today = local_today()
    for days, amount in [(0, "1.00"), (30, "2.00"), (31, "4.00"), (60, "8.00"), (61, "16.00"), (90, "32.00"), (91, "64.00")]:
        make_receivable(customer=customer, amount=amount, invoiced_on=today - datetime.timedelta(days=days))

    response = client_for(finance).get(reverse("finance:aging") + "?basis=invoice")

    row = response.context["rows"][0]
    assert row["0_30"] == D("3.00")
    assert row["31_60"] == D("12.00")
    assert row["61_90"] == D("48.00")
    assert row["over_90"] == D("64.00")
    assert row["total"] == D("127.00")
    assert [key for key, _header in response.context["columns"]] == ["0_30", "31_60", "61_90", "over_90"]


def test_aging_buckets_by_days_past_due(finance, customer):
    today = local_today()
    invoiced_on = today - datetime.timedelta(days=200)
    cases = [(-5, "1.00"), (0, "2.00"), (1, "4.00"), (30, "8.00"), (31, "16.00"), (60, "32.00"), (61, "64.00"), (90, "128.00"), (91, "256.00")]
    for days_past_due, amount in cases:
        due_on = today - datetime.timedelta(days=days_past_due)
        make_receivable(customer=customer, amount=amount, invoiced_on=invoiced_on, due_on=due_on)

    response = client_for(finance).get(reverse("finance:aging"))

    row = response.context["rows"][0]
    assert response.context["basis"] == "due"
    assert row["not_due"] == D("3.00")
    assert row["0_30"] == D("12.00")
    assert row["31_60"] == D("48.00")
    assert row["61_90"] == D("192.00")
    assert row["over_90"] == D("256.00")
    assert row["overdue"] == D("508.00")
    assert [header for _key, header in response.context["columns"]] == ["Not due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days"]


def test_aging_states_its_basis(finance, customer):
    make_receivable(customer=customer, amount="10.00")
    client = client_for(finance)

    by_due = client.get(reverse("finance:aging")).content.decode()
    by_invoice = client.get(reverse("finance:aging") + "?basis=invoice").content.decode()

    assert "Open amounts by days past the due date" in by_due
    assert 'data-aging-column="not_due"' in by_due
    assert "Open amounts by days since the invoice" in by_invoice
    assert 'data-aging-column="not_due"' not in by_invoice


def test_aging_of_invoice_not_yet_due(finance, customer):
    today = local_today()
    make_receivable(customer=customer, amount="500.00", invoiced_on=today - datetime.timedelta(days=45), due_on=today + datetime.timedelta(days=15))

    by_due = client_for(finance).get(reverse("finance:aging")).context["totals"]
    by_invoice = client_for(finance).get(reverse("finance:aging") + "?basis=invoice").context["totals"]

    assert by_due["not_due"] == D("500.00")
    assert by_due["31_60"] == D("0.00")
    assert by_invoice["31_60"] == D("500.00")


@pytest.mark.parametrize("group", ["customer", "owner", "region"])
def test_aging_groups_render(finance, receivables, group):
    response = client_for(finance).get(reverse("finance:aging") + f"?group={group}")

    assert response.status_code == 200
    assert response.context["totals"]["total"] == D("1500.00")


def test_aging_export_by_due_date(finance, receivables):
    response = client_for(finance).get(reverse("finance:aging") + "?export=xlsx")

    sheet = load_workbook(BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.title == "Aging by due date"
    assert header == ["Customer", "Open amount", "Not due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days", "Overdue"]
    assert sheet.max_row == 4
    assert [cell.value for cell in sheet[4]][:2] == ["Total", 1500]


def test_aging_export_by_invoice_date(finance, receivables):
    response = client_for(finance).get(reverse("finance:aging") + "?export=xlsx&basis=invoice")

    sheet = load_workbook(BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.title == "Aging by invoice date"
    assert header == ["Customer", "Open amount", "0–30 days", "31–60 days", "61–90 days", "Over 90 days", "Overdue"]


class TestStatement:
    def test_running_balance(self, finance, customer, receivables, payment):
        services.issue_credit_note(customer=customer, amount="100.00", reason="退货", actor=finance, source_reference="RT-1")

        response = client_for(finance).get(reverse("finance:statement", args=[customer.pk]))

        statement = response.context["statement"]
        assert statement["opening"] == D("0.00")
        assert [entry["balance"] for entry in statement["entries"]] == [D("1000.00"), D("700.00"), D("600.00")]
        assert statement["closing"] == D("600.00")

    def test_opening_balance_counts_earlier_documents(self, finance, customer, receivables, payment):
        today = local_today()
        url = reverse("finance:statement", args=[customer.pk]) + f"?date_from={today:%Y-%m-%d}&date_to={today:%Y-%m-%d}"

        statement = client_for(finance).get(url).context["statement"]

        assert statement["opening"] == D("1000.00")
        assert statement["closing"] == D("700.00")

    def test_reversed_payment_is_left_out(self, finance, customer, receivables, payment):
        services.reverse_payment(actor=finance, payment=payment, reason="退票")

        statement = client_for(finance).get(reverse("finance:statement", args=[customer.pk])).context["statement"]

        assert statement["closing"] == D("1000.00")

    def test_print_view_spells_the_balance(self, finance, customer, receivables, payment):
        response = client_for(finance).get(reverse("finance:statement", args=[customer.pk]) + "?print=1")

        html = response.content.decode()
        assert "柒佰元整" in html
        assert "@page { size: A4" in html

    def test_excel_export(self, finance, customer, receivables, payment):
        response = client_for(finance).get(reverse("finance:statement", args=[customer.pk]) + "?export=xlsx")

        sheet = load_workbook(BytesIO(response.content)).active
        assert sheet["A1"].value == "Customer statement"
        assert customer.name in sheet["A2"].value and customer.code in sheet["A2"].value
        date_from, date_to = sheet["A3"].value.removeprefix("Period: ").split(" to ")
        assert sheet.cell(row=5, column=1).value == "Date"
        assert sheet.cell(row=6, column=2).value == "Opening balance"
        assert sheet.cell(row=6, column=1).value.date().isoformat() == date_from
        assert sheet.cell(row=sheet.max_row, column=2).value == "Closing balance"
        assert sheet.cell(row=sheet.max_row, column=1).value.date().isoformat() == date_to
        assert sheet.cell(row=sheet.max_row, column=8).value == 700

    def test_excel_export_ages_open_receivables_by_due_date(self, finance, customer):
        today = local_today()
        overdue = make_receivable(customer=customer, amount="300.00", invoiced_on=today - datetime.timedelta(days=80), due_on=today - datetime.timedelta(days=50))
        not_due = make_receivable(customer=customer, amount="200.00", invoiced_on=today - datetime.timedelta(days=10), due_on=today + datetime.timedelta(days=20))

        response = client_for(finance).get(reverse("finance:statement", args=[customer.pk]) + "?export=xlsx")

        sheet = load_workbook(BytesIO(response.content))["Open receivables"]
        rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
        assert [cell.value for cell in sheet[1]][-2:] == ["Days past due", "Aging by due date"]
        assert [(row[0], row[4], row[5], row[6]) for row in rows] == [
            (overdue.number, 300, 50, "31–60 days"),
            (not_due.number, 200, 0, "Not due"),
        ]

    def test_other_representatives_customer_is_404(self, rep, foreign_customer):
        response = client_for(rep).get(reverse("finance:statement", args=[foreign_customer.pk]))

        assert response.status_code == 404

    def test_logistics_is_forbidden(self, logistics, customer):
        assert client_for(logistics).get(reverse("finance:statement", args=[customer.pk])).status_code == 403


class TestPaymentScreens:
    @pytest.mark.parametrize("persona,status", [("finance", 200), ("manager", 200), ("rep", 200), ("supervisor", 200), ("logistics", 403)])
    def test_list_access(self, request, payment, persona, status):
        user = request.getfixturevalue(persona)

        assert client_for(user).get(reverse("finance:payment_list")).status_code == status

    @pytest.mark.parametrize("persona", ["manager", "rep", "supervisor", "logistics", "quality"])
    def test_only_finance_may_enter(self, request, customer, receivables, persona):
        user = request.getfixturevalue(persona)
        client = client_for(user)

        get_status = client.get(reverse("finance:payment_create")).status_code
        post_status = client.post(
            reverse("finance:payment_create"),
            {"customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "10", "allocation": "oldest"},
        ).status_code

        assert (get_status, post_status) == (403, 403)
        assert Payment.objects.count() == 0

    def test_record_oldest_first(self, finance, customer, receivables):
        response = client_for(finance).post(
            reverse("finance:payment_create"),
            {"customer": customer.pk, "received_on": local_today(), "method": "bank_transfer", "amount": "1200.50", "allocation": "oldest"},
        )

        payment = Payment.objects.get()
        assert response.status_code == 302
        assert payment.unapplied_amount == D("200.50")
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("0.00")

    def test_record_by_hand(self, finance, customer, receivables):
        own = receivables[0]
        client_for(finance).post(
            reverse("finance:payment_create"),
            {
                "customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "500",
                "allocation": "manual", f"allocate-{own.pk}": "120.00",
            },
        )

        payment = Payment.objects.get()
        assert payment.unapplied_amount == D("380.00")
        assert Receivable.objects.get(pk=own.pk).open_amount == D("880.00")

    def test_bad_amount_shows_the_value(self, finance, customer, receivables):
        response = client_for(finance).post(
            reverse("finance:payment_create"),
            {"customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "12.345", "allocation": "oldest"},
        )

        assert response.status_code == 200
        assert "12.345 has more than 2 decimal places" in response.content.decode()
        assert Payment.objects.count() == 0

    def test_allocation_above_open_shows_the_value(self, finance, customer, receivables):
        own = receivables[0]
        response = client_for(finance).post(
            reverse("finance:payment_create"),
            {
                "customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "2000",
                "allocation": "manual", f"allocate-{own.pk}": "1000.01",
            },
        )

        assert "1,000.01 exceeds the open balance 1,000.00" in response.content.decode()
        assert Payment.objects.count() == 0

    def test_open_receivables_fragment(self, finance, customer, receivables):
        response = client_for(finance).get(reverse("finance:open_receivables") + f"?customer={customer.pk}")

        assert f'name="allocate-{receivables[0].pk}"' in response.content.decode()
        assert f'name="allocate-{receivables[1].pk}"' not in response.content.decode()

    def test_reverse_from_the_detail_page(self, finance, payment, receivables):
        client = client_for(finance)
        assert client.get(reverse("finance:payment_detail", args=[payment.pk])).status_code == 200

        client.post(reverse("finance:payment_reverse", args=[payment.pk]), {"reason": "银行退回"})

        payment.refresh_from_db()
        assert payment.status == DocumentStatus.REVERSED
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("1000.00")

    def test_form_carries_a_token(self, finance):
        form = client_for(finance).get(reverse("finance:payment_create")).context["form"]

        assert len(form.initial["token"]) == 32
        assert 'name="token"' in form.as_div()

    def test_double_submit_records_one_payment(self, finance, customer, receivables):
        client = client_for(finance)
        body = {
            "customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "100.00",
            "allocation": "oldest", "token": "form-token-1",
        }

        first = client.post(reverse("finance:payment_create"), body)
        second = client.post(reverse("finance:payment_create"), body, follow=True)

        payment = Payment.objects.get()
        assert first["Location"] == reverse("finance:payment_detail", args=[payment.pk])
        assert second.redirect_chain[-1][0] == reverse("finance:payment_detail", args=[payment.pk])
        assert f"This form was already sent; payment {payment.number} was recorded then." in second.content.decode()
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("900.00")

    def test_resubmit_with_other_values_gets_a_new_token(self, finance, customer, receivables):
        client = client_for(finance)
        body = {
            "customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "100.00",
            "allocation": "oldest", "token": "form-token-2",
        }
        client.post(reverse("finance:payment_create"), body)

        refused = client.post(reverse("finance:payment_create"), {**body, "amount": "150.00"})
        new_token = refused.context["form"].data["token"]
        accepted = client.post(reverse("finance:payment_create"), {**body, "amount": "150.00", "token": new_token})

        assert refused.status_code == 200
        assert "This form was already sent with other values." in refused.content.decode()
        assert new_token != "form-token-2"
        assert accepted.status_code == 302
        assert sorted(Payment.objects.values_list("amount", flat=True)) == [D("100.00"), D("150.00")]

    def test_two_forms_record_two_payments(self, finance, customer, receivables):
        client = client_for(finance)
        body = {"customer": customer.pk, "received_on": local_today(), "method": "cash", "amount": "10.00", "allocation": "oldest"}

        client.post(reverse("finance:payment_create"), {**body, "token": "a"})
        client.post(reverse("finance:payment_create"), {**body, "token": "b"})

        assert Payment.objects.count() == 2

    def test_manager_cannot_reverse(self, manager, payment):
        response = client_for(manager).post(reverse("finance:payment_reverse", args=[payment.pk]), {"reason": "x"})

        assert response.status_code == 403
        payment.refresh_from_db()
        assert payment.status == DocumentStatus.POSTED


class TestCreditNoteScreens:
    def test_issue_against_a_receivable(self, finance, customer, receivables):
        response = client_for(finance).post(
            reverse("finance:credit_note_create"),
            {"customer": customer.pk, "receivable": receivables[0].number, "amount": "80.00", "reason": "价格更正"},
        )

        note = CreditNote.objects.get()
        assert response.status_code == 302
        assert note.receivable_id == receivables[0].pk
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("920.00")

    def test_above_invoiced_is_refused_with_the_value(self, finance, customer, receivables):
        response = client_for(finance).post(
            reverse("finance:credit_note_create"),
            {"customer": customer.pk, "receivable": receivables[0].number, "amount": "1000.01", "reason": "价格更正"},
        )

        assert "1,000.01 exceeds what can still be credited" in response.content.decode()
        assert CreditNote.objects.count() == 0

    def test_rep_sees_own_credit_notes_only(self, finance, rep, customer, foreign_customer, receivables):
        own = services.issue_credit_note(customer=customer, amount="1", reason="a", actor=finance, source_reference="")
        foreign = services.issue_credit_note(customer=foreign_customer, amount="1", reason="b", actor=finance, source_reference="")
        client = client_for(rep)

        html = client.get(reverse("finance:credit_note_list")).content.decode()

        assert own.number in html
        assert foreign.number not in html
        assert client.get(reverse("finance:credit_note_detail", args=[foreign.pk])).status_code == 404

    def test_rep_cannot_issue(self, rep, customer):
        assert client_for(rep).get(reverse("finance:credit_note_create")).status_code == 403


class TestCreditReleaseScreens:
    def test_finance_grants_and_revokes(self, finance, customer):
        client = client_for(finance)
        until = local_today() + datetime.timedelta(days=10)

        client.post(reverse("finance:release_list"), {"customer": customer.pk, "valid_until": until, "reason": "年底回款承诺"})
        release = CreditRelease.objects.get()
        client.post(reverse("finance:release_revoke", args=[release.pk]), {"reason": "客户未兑现承诺"})

        release.refresh_from_db()
        assert release.valid_until == until
        assert release.revoked_at is not None
        assert release.revocation_reason == "客户未兑现承诺"

    def test_representative_is_notified(self, finance, customer, rep):
        from dentalsales.notifications.models import Notification

        services.grant_credit_release(actor=finance, customer=customer, reason="年底回款承诺", valid_until=local_today())

        assert Notification.objects.filter(recipient=rep, category="finance").count() == 1

    def test_rep_cannot_grant(self, rep, customer):
        response = client_for(rep).post(
            reverse("finance:release_list"), {"customer": customer.pk, "valid_until": local_today(), "reason": "x"}
        )

        assert response.status_code == 403
        assert CreditRelease.objects.count() == 0

    def test_too_long_release_is_refused(self, finance, customer):
        until = local_today() + datetime.timedelta(days=91)

        response = client_for(finance).post(reverse("finance:release_list"), {"customer": customer.pk, "valid_until": until, "reason": "x"})

        assert "at most 90 days" in response.content.decode()
        assert CreditRelease.objects.count() == 0


class TestCollectionRate:
    def test_rate_per_representative_and_month(self, finance, rep, customer):
        today = local_today()
        make_receivable(customer=customer, amount="1000.00", invoiced_on=today - datetime.timedelta(days=customer.payment_terms_days), due_on=today)
        services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="250.00")

        response = client_for(finance).get(reverse("finance:collection_rate"))

        row = next(row for row in response.context["rows"] if row["owner"] == rep)
        cell = row["months"][today.month - 1]
        assert cell["due"] == D("1000.00")
        assert cell["received"] == D("250.00")
        assert cell["rate"] == D("25.0")

    def test_month_without_receivables_due_has_no_rate(self, finance, rep, customer):
        today = local_today()
        make_receivable(customer=customer, amount="100.00", invoiced_on=today, due_on=today + datetime.timedelta(days=400))
        services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="250.00")

        rows = client_for(finance).get(reverse("finance:collection_rate")).context["rows"]

        assert rows == []
        assert "Nothing was to be collected" in client_for(finance).get(reverse("finance:collection_rate")).content.decode()


    def test_reassigned_customer_keeps_history(self, finance, rep, rep2, customer):
        today = local_today()
        receivable = make_receivable(customer=customer, amount="1000.00", invoiced_on=today - datetime.timedelta(days=30), due_on=today)
        services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="400.00")
        customer.owner = rep2
        customer.save(update_fields=["owner"])

        rows = {row["owner"]: row for row in client_for(finance).get(reverse("finance:collection_rate")).context["rows"]}

        assert receivable.representative == rep
        assert set(rows) == {rep}
        cell = rows[rep]["months"][today.month - 1]
        assert (cell["due"], cell["received"], cell["rate"]) == (D("1000.00"), D("400.00"), D("40.0"))

    def test_payment_counts_for_the_receivables_it_settled(self, finance, rep, rep2, customer):
        today = local_today()
        make_receivable(customer=customer, amount="300.00", invoiced_on=today - datetime.timedelta(days=30), due_on=today)
        customer.owner = rep2
        customer.save(update_fields=["owner"])

        # 300.00 settles rep's receivable; the 200.00 advance stays unapplied and counts for nobody yet.
        services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="500.00")
        rows = {row["owner"]: row for row in client_for(finance).get(reverse("finance:collection_rate")).context["rows"]}

        assert rows[rep]["months"][today.month - 1]["received"] == D("300.00")
        assert rows[rep]["rate"] == D("100.0")
        assert rep2 not in rows

    def test_representative_sees_own_row_only(self, finance, rep, rep2, customer, foreign_customer):
        today = local_today()
        make_receivable(customer=customer, amount="100.00", invoiced_on=today, due_on=today)
        make_receivable(customer=foreign_customer, amount="100.00", invoiced_on=today, due_on=today)

        rows = client_for(rep).get(reverse("finance:collection_rate")).context["rows"]

        assert [row["owner"] for row in rows] == [rep]

    def test_collection_rate_query_count_is_fixed(self, finance, rep, customer, django_assert_max_num_queries):
        today = local_today()
        for index in range(6):
            make_receivable(customer=f.CustomerFactory(owner=f.UserFactory()), amount="100.00", invoiced_on=today, due_on=today)
        client = client_for(finance)

        # session, user, groups, receivables, payments, credits, owners, years, notification badge slot
        with django_assert_max_num_queries(9):
            response = client.get(reverse("finance:collection_rate"))

        assert len(response.context["rows"]) == 6


class TestCustomerPage:
    def test_credit_slot_for_representative(self, rep, customer):
        html = client_for(rep).get(reverse("customers:detail", args=[customer.pk])).content.decode()

        assert reverse("finance:customer_credit", args=[customer.pk]) in html

    def test_credit_fragment_figures(self, finance, customer, receivables, payment):
        html = client_for(finance).get(reverse("finance:customer_credit", args=[customer.pk])).content.decode()

        assert 'data-figure="open_receivables">700.00' in html
        assert "Record payment" in html

    def test_no_credit_slot_for_logistics(self, logistics, customer):
        html = client_for(logistics).get(reverse("customers:detail", args=[customer.pk])).content.decode()

        assert reverse("finance:customer_credit", args=[customer.pk]) not in html

    def test_other_representatives_fragment_is_404(self, rep, foreign_customer):
        assert client_for(rep).get(reverse("finance:customer_credit", args=[foreign_customer.pk])).status_code == 404


def test_opening_balance_navigation(rep, finance, manager):
    assert 'data-nav="finance:opening_balance_list"' in client_for(finance).get(reverse("home")).content.decode()
    assert 'data-nav="finance:opening_balance_list"' in client_for(manager).get(reverse("home")).content.decode()
    assert 'data-nav="finance:opening_balance_list"' not in client_for(rep).get(reverse("home")).content.decode()


def test_navigation_entries(rep, finance, logistics):
    assert 'data-nav="finance:receivable_list"' in client_for(rep).get(reverse("home")).content.decode()
    # Representatives read their customers' payments for collection follow-up.
    assert 'data-nav="finance:payment_list"' in client_for(rep).get(reverse("home")).content.decode()
    assert 'data-nav="finance:payment_list"' not in client_for(logistics).get(reverse("home")).content.decode()
    assert 'data-nav="finance:payment_list"' in client_for(finance).get(reverse("home")).content.decode()
    assert 'data-nav="finance:receivable_list"' not in client_for(logistics).get(reverse("home")).content.decode()
