"""Payment input, allocation errors, apply actions, credit releases, receivable detail, dashboard cards, statements."""

import datetime
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput, InvalidTransition
from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote, CreditRelease, Payment, Receivable
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, name="成都锦江口腔诊所", credit_limit=D("140000.00"))


@pytest.fixture
def receivable(customer):
    return make_receivable(customer=customer, amount="1000.00", invoiced_on=local_today() - datetime.timedelta(days=40))


def body(customer, **changes):
    return {
        "customer": customer.pk,
        "received_on": local_today().isoformat(),
        "method": "bank_transfer",
        "amount": "100.00",
        **changes,
    }


# Payment input -------------------------------------------------------------

AMOUNT_CASES = [
    ("1e3", "without an exponent"),
    ("1E3", "without an exponent"),
    ("2.5e2", "without an exponent"),
    ("0", "greater than 0"),
    ("-10", "greater than 0"),
    ("1,000.00", "not an amount"),
]


@pytest.mark.parametrize("value,fragment", AMOUNT_CASES)
def test_amount_refusals_name_the_value(value, fragment):
    with pytest.raises(InvalidInput) as error:
        services.parse_amount(value)

    assert fragment in str(error.value) and value in str(error.value)


@pytest.mark.parametrize("value,expected", [("1000", "1000.00"), (" 12.5 ", "12.50"), (1000, "1000.00"), (12.5, "12.50")])
def test_plain_amounts_pass(value, expected):
    assert services.parse_amount(value) == D(expected)


@pytest.mark.parametrize(
    "days_ago,accepted",
    [(0, True), (364, True), (services.PAYMENT_MAX_AGE_DAYS, True), (services.PAYMENT_MAX_AGE_DAYS + 1, False), (10000, False)],
)
def test_receipt_date_at_most_a_year_ago(finance, customer, days_ago, accepted):
    received_on = local_today() - datetime.timedelta(days=days_ago)
    call = lambda: services.record_payment(actor=finance, customer=customer, received_on=received_on, method="cash", amount="1.00")  # noqa: E731

    if accepted:
        assert call().received_on == received_on
    else:
        with pytest.raises(InvalidInput) as error:
            call()
        assert error.value.field == "received_on" and str(received_on) in str(error.value)
        assert Payment.objects.count() == 0


def test_api_refuses_exponent_and_old_date(api, finance, customer):
    client = api(finance)

    exponent = client.post("/api/v1/payments/", body(customer, amount="1e3"), format="json")
    old = client.post("/api/v1/payments/", body(customer, received_on="1999-01-01"), format="json")

    assert exponent.status_code == 400 and "1e3" in exponent.json()["amount"][0]
    assert old.status_code == 400 and "1999-01-01" in old.json()["received_on"][0]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("field", ["allocate", "allocations"])
@pytest.mark.parametrize(
    "item,key",
    [({"amount": "-10"}, "amount"), ({"amount": "5000.00"}, "amount"), ({}, "amount")],
)
def test_api_allocation_errors_name_the_request_field_and_position(api, finance, customer, receivable, field, item, key):
    other = make_receivable(customer=customer, amount="50.00")
    allocations = [{"receivable": other.pk, "amount": "10.00"}, {"receivable": receivable.pk, **item}]

    response = api(finance).post("/api/v1/payments/", body(customer, amount="6000.00", **{field: allocations}), format="json")

    assert response.status_code == 400
    assert f"{field}[1].{key}" in response.json(), response.json()
    if item:
        assert receivable.number in response.json()[f"{field}[1].{key}"][0]
    assert Payment.objects.count() == 0


# Payment form ----------------------------------------------------------------


def test_hand_allocation_error_names_receivable_once_and_marks_input(finance, customer, receivable):
    response = client_for(finance).post(
        reverse("finance:payment_create"),
        {**body(customer, amount="500"), "allocation": "manual", f"allocate-{receivable.pk}": "-10"},
    )

    html = response.content.decode()
    message = f"Amount to allocate to receivable {receivable.number}: The amount must be greater than 0, not -10."
    assert html.count(message) == 1
    assert f'name="allocate-{receivable.pk}"' in html and "is-invalid" in html
    assert 'class="alert alert-danger"' not in html
    assert Payment.objects.count() == 0


def test_form_before_customer_chosen_does_not_claim_no_receivables(finance):
    html = client_for(finance).get(reverse("finance:payment_create")).content.decode()

    assert "has no open receivables" not in html
    assert "Choose the customer" in html


@pytest.mark.parametrize("mode,disabled", [("oldest", True), ("manual", False)])
def test_allocation_inputs_disabled_unless_by_hand(finance, customer, receivable, mode, disabled):
    html = client_for(finance).get(
        reverse("finance:open_receivables"), {"customer": customer.pk, "allocation": mode}
    ).content.decode()

    row = html[html.index(f'name="allocate-{receivable.pk}"') :]
    assert (" disabled" in row[: row.index(">")]) == disabled


# Apply actions -----------------------------------------------------------------


def test_web_apply_without_open_receivables_says_nothing_allocated(finance, customer):
    payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="30.00")

    response = client_for(finance).post(reverse("finance:payment_apply", args=[payment.pk]), follow=True)

    html = response.content.decode()
    assert "nothing was allocated" in html
    assert "allocated to the oldest open receivables" not in html


def test_web_apply_credit_note(finance, customer):
    note = services.issue_credit_note(customer=customer, amount="570.00", reason="退货", actor=finance, source_reference="RT-5")
    receivable = make_receivable(customer=customer, amount="1000.00")

    response = client_for(finance).post(reverse("finance:credit_note_apply", args=[note.pk]), follow=True)

    assert "570.00 allocated to the oldest open receivables" in response.content.decode()
    receivable.refresh_from_db()
    assert receivable.open_amount == D("430.00")


@pytest.mark.parametrize("persona,status", [("finance", 200), ("manager", 403), ("rep", 403), ("supervisor", 403), ("logistics", 403)])
def test_api_apply_credit_note_per_role(request, api, finance, customer, persona, status):
    note = services.issue_credit_note(customer=customer, amount="70.00", reason="退货", actor=finance, source_reference="RT-5")
    make_receivable(customer=customer, amount="100.00")
    user = request.getfixturevalue(persona)

    response = api(user).post(f"/api/v1/credit-notes/{note.pk}/apply/", {}, format="json")

    assert response.status_code == status
    note.refresh_from_db()
    assert note.unapplied_amount == (D("0.00") if status == 200 else D("70.00"))


def test_api_apply_without_open_receivables_is_conflict(api, finance, customer):
    note = services.issue_credit_note(customer=customer, amount="70.00", reason="退货", actor=finance, source_reference="RT-5")

    response = api(finance).post(f"/api/v1/credit-notes/{note.pk}/apply/", {}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "nothing_to_apply"


@pytest.mark.parametrize("persona,status", [("finance", 302), ("manager", 403), ("rep", 403)])
def test_web_apply_credit_note_per_role(request, finance, customer, persona, status):
    note = services.issue_credit_note(customer=customer, amount="70.00", reason="退货", actor=finance, source_reference="RT-5")
    make_receivable(customer=customer, amount="100.00")

    response = client_for(request.getfixturevalue(persona)).post(reverse("finance:credit_note_apply", args=[note.pk]))

    assert response.status_code == status


# Credit releases -----------------------------------------------------------------


def test_second_overlapping_release_is_refused(finance, customer):
    today = local_today()
    services.grant_credit_release(actor=finance, customer=customer, reason="a", valid_until=today + datetime.timedelta(days=5))

    with pytest.raises(InvalidTransition) as error:
        services.grant_credit_release(actor=finance, customer=customer, reason="b", valid_until=today + datetime.timedelta(days=20))

    assert error.value.code == "release_exists" and "Revoke it first" in str(error.value)
    assert CreditRelease.objects.count() == 1


def test_release_after_revoking_is_allowed(finance, customer):
    today = local_today()
    first = services.grant_credit_release(actor=finance, customer=customer, reason="a", valid_until=today + datetime.timedelta(days=5))
    services.revoke_credit_release(actor=finance, release=first, reason="改为更长期限")

    second = services.grant_credit_release(actor=finance, customer=customer, reason="b", valid_until=today + datetime.timedelta(days=20))

    assert second.is_active()


def test_api_second_release_is_conflict(api, finance, customer):
    until = (local_today() + datetime.timedelta(days=5)).isoformat()
    client = api(finance)
    client.post("/api/v1/credit-releases/", {"customer": customer.pk, "valid_until": until, "reason": "a"}, format="json")

    response = client.post("/api/v1/credit-releases/", {"customer": customer.pk, "valid_until": until, "reason": "b"}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "release_exists"


@pytest.mark.parametrize("reason", ["", "   "])
def test_revoke_needs_a_reason_on_web_and_api(api, finance, customer, reason):
    release = services.grant_credit_release(actor=finance, customer=customer, reason="a", valid_until=local_today())

    web = client_for(finance).post(reverse("finance:release_revoke", args=[release.pk]), {"reason": reason}, follow=True)
    api_response = api(finance).post(f"/api/v1/credit-releases/{release.pk}/revoke/", {"reason": reason}, format="json")

    assert "Give the reason for revoking" in web.content.decode()
    assert api_response.status_code == 400 and "reason" in api_response.json()
    release.refresh_from_db()
    assert release.revoked_at is None


def test_release_form_messages_use_field_label(finance, customer):
    client = client_for(finance)

    past = client.post(reverse("finance:release_list"), {"customer": customer.pk, "valid_until": local_today() - datetime.timedelta(days=1), "reason": "x"})
    empty = client.post(reverse("finance:release_list"), {"customer": customer.pk, "valid_until": local_today(), "reason": ""})

    assert "“Valid until”" in past.content.decode()
    assert "Give the reason for the credit release" in empty.content.decode()
    assert "This field is required" not in empty.content.decode()


def test_release_list_puts_active_first_and_asks_confirmation(finance, customer):
    today = local_today()
    other = f.CustomerFactory(owner=customer.owner)
    revoked = services.grant_credit_release(actor=finance, customer=other, reason="old", valid_until=today + datetime.timedelta(days=30))
    services.revoke_credit_release(actor=finance, release=revoked, reason="不再需要")
    active = services.grant_credit_release(actor=finance, customer=customer, reason="今天到期", valid_until=today)

    html = client_for(finance).get(reverse("finance:release_list")).content.decode()

    assert html.index("今天到期") < html.index("不再需要")
    assert "data-confirm=" in html and 'name="reason"' in html
    assert active.is_active()


# Receivables ---------------------------------------------------------------------


@pytest.mark.parametrize("persona,status", [("rep", 200), ("supervisor", 200), ("manager", 200), ("finance", 200), ("rep2", 404), ("logistics", 403)])
def test_receivable_detail_per_role(request, finance, customer, receivable, persona, status):
    payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="300.00")
    note = services.record_credit_note(actor=finance, customer=customer, amount="100.00", reason="价格更正", receivable=receivable)

    response = client_for(request.getfixturevalue(persona)).get(reverse("finance:receivable_detail", args=[receivable.pk]))

    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert payment.number in html and note.number in html
        assert reverse("finance:credit_note_detail", args=[note.pk]) in html
        assert reverse("finance:payment_detail", args=[payment.pk]) in html


def test_receivable_list_links_and_totals_in_fixed_queries(finance, customer, django_assert_max_num_queries):
    for index in range(5):
        make_receivable(customer=customer, amount=f"{100 + index}.00")
    client = client_for(finance)
    client.get(reverse("finance:receivable_list"))

    with django_assert_max_num_queries(12):
        response = client.get(reverse("finance:receivable_list"))

    html = response.content.decode()
    first = Receivable.objects.first()
    assert reverse("finance:receivable_detail", args=[first.pk]) in html
    assert response.context["totals"]["amount"] == D("510.00")
    assert 'data-total="open">510.00' in html


# Credit note form ----------------------------------------------------------------


@pytest.mark.parametrize("value_of", [lambda r: str(r.pk), lambda r: r.number.lower(), lambda r: r.number])
def test_credit_note_form_takes_the_receivable_by_choice_or_number(finance, customer, receivable, value_of):
    response = client_for(finance).post(
        reverse("finance:credit_note_create"),
        {"customer": customer.pk, "receivable": value_of(receivable), "amount": "80.00", "reason": "价格更正"},
    )

    assert response.status_code == 302
    assert CreditNote.objects.get().receivable == receivable


def test_credit_note_form_lists_the_customers_creditable_receivables(finance, customer, receivable):
    other = f.CustomerFactory(owner=customer.owner)
    foreign = make_receivable(customer=other, amount="10.00")

    html = client_for(finance).get(reverse("finance:creditable_receivables"), {"customer": customer.pk}).content.decode()

    assert receivable.number in html and foreign.number not in html
    assert "creditable 1,000.00" in html


def test_credit_note_list_search(finance, customer, receivable):
    services.record_credit_note(actor=finance, customer=customer, amount="10.00", reason="a", source_reference="RT-777", receivable=receivable)
    services.record_credit_note(actor=finance, customer=f.CustomerFactory(), amount="10.00", reason="b", source_reference="RT-888")

    html = client_for(finance).get(reverse("finance:credit_note_list"), {"q": "rt-777"}).content.decode()

    assert "RT-777" in html and "RT-888" not in html


# Dashboard -----------------------------------------------------------------------


def test_finance_dashboard_cards_in_fixed_queries(finance, customer, django_assert_max_num_queries, settings):
    today = local_today()
    tolerance = settings.CREDIT_OVERDUE_TOLERANCE_DAYS
    make_receivable(customer=customer, amount="300.00", invoiced_on=today - datetime.timedelta(days=90), due_on=today - datetime.timedelta(days=tolerance + 5))
    make_receivable(customer=customer, amount="200.00", invoiced_on=today - datetime.timedelta(days=20), due_on=today - datetime.timedelta(days=2))
    services.record_payment(actor=finance, customer=f.CustomerFactory(), received_on=today, method="cash", amount="20000.00")
    services.grant_credit_release(actor=finance, customer=customer, reason="x", valid_until=today + datetime.timedelta(days=3))
    from dentalsales.finance.selectors import dashboard_entries

    with django_assert_max_num_queries(4):
        entries = {str(label): figure for label, figure, _url in dashboard_entries(finance)}

    assert entries["Overdue receivables"] == 2
    assert entries["Overdue amount"] == "500.00"
    assert entries[f"Receivables overdue more than {tolerance} days (orders blocked)"] == 1
    assert entries["Unapplied payments"] == "20,000.00"
    assert entries["Credit releases ending within 7 days"] == 1
    html = client_for(finance).get(reverse("home")).content.decode()
    assert "Overdue receivables" in html and "Nothing is waiting for you" not in html


def test_dashboard_cards_only_for_finance(rep, customer, receivable):
    from dentalsales.finance.selectors import dashboard_entries

    assert dashboard_entries(rep) == []


# Statement -------------------------------------------------------------------------


def test_statement_labels_receivables_and_opening_balances(finance, customer, receivable):
    html = client_for(finance).get(reverse("finance:statement", args=[customer.pk])).content.decode()

    row = html[html.index(f'data-statement-entry="{receivable.number}"') :]
    assert "Opening balance" in row[: row.index("</tr>")]
    assert "Shipment" not in row[: row.index("</tr>")]


def test_statement_explains_available_above_limit(finance, customer):
    services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="20000.00")

    html = client_for(finance).get(reverse("finance:statement", args=[customer.pk])).content.decode()

    assert 'data-testid="available-note"' in html and "20,000.00" in html


def test_print_view_bank_account_and_single_return_number(finance, customer, receivable, settings):
    settings.COMPANY_BANK_NAME = "招商银行上海张江支行"
    settings.COMPANY_BANK_ACCOUNT = "1219 0000 0000 0001"
    services.issue_credit_note(
        customer=customer, amount="10.00", reason="Goods returned with Return RT-20261205-0003", actor=finance, source_reference="RT-20261205-0003"
    )

    html = client_for(finance).get(reverse("finance:statement", args=[customer.pk]) + "?print=1").content.decode()

    assert "1219 0000 0000 0001" in html and "招商银行上海张江支行" in html
    assert html.count("RT-20261205-0003") == 1
    assert "white-space: nowrap" in html


def test_print_view_without_bank_account_leaves_it_out(finance, customer, settings):
    settings.COMPANY_BANK_ACCOUNT = ""

    html = client_for(finance).get(reverse("finance:statement", args=[customer.pk]) + "?print=1").content.decode()

    assert 'data-testid="bank-account"' not in html
