"""Contract screens: list, export, entry, actions, upload, drawdown and the signed copy, per role."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.sales import contracts as cs
from dentalsales.sales.models import Contract, ContractStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
C = ContractStatus
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make(actor, customer, product, status=None):
    contract = cs.create_contract(
        actor=actor, customer=customer, lines=[{"product": product, "quantity": 50, "unit_price": "105.50"}]
    )
    if status:
        Contract.objects.filter(pk=contract.pk).update(status=status)
        contract.refresh_from_db()
    return contract


def form_data(customer, product, quantity="20", unit_price="99.5"):
    return {
        "customer": str(customer.pk),
        "start_date": "",
        "end_date": "",
        "payment_terms": "60 days",
        "quality_terms": "GSP",
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": str(product.pk),
        "lines-0-specification": "",
        "lines-0-quantity": quantity,
        "lines-0-unit_price": unit_price,
        "lines-0-delivery_date": "2027-01-15",
    }


def action_url(contract, action):
    return reverse("sales:contract_action", args=[contract.pk, action])


def test_list_filter_and_export(client, rep, customer, product):
    draft = make(rep, customer, product)
    active = make(rep, customer, product, status=C.ACTIVE)
    client.force_login(rep)

    filtered = client.get(reverse("sales:contract_list"), {"status": "active"})
    exported = client.get(reverse("sales:contract_list"), {"export": "xlsx"})

    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert [row.number for row in filtered.context["page_obj"]] == [active.number]
    assert len(rows) == 3
    assert {rows[1][0], rows[2][0]} == {draft.number, active.number}


@pytest.mark.parametrize("count", [2, 60])
def test_list_runs_a_fixed_number_of_queries(client, rep, customer, product, count, django_assert_max_num_queries):
    for _ in range(count):
        make(rep, customer, product)
    client.force_login(rep)

    with django_assert_max_num_queries(6):
        response = client.get(reverse("sales:contract_list"))

    assert len(response.context["page_obj"]) == min(count, 50)


def test_create_via_form(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:contract_create"), form_data(customer, product))

    contract = Contract.objects.get()
    line = contract.lines.get()
    assert response.status_code == 302
    assert contract.quality_terms == "GSP"
    assert str(contract.total_amount) == "1990.00"
    assert str(line.delivery_date) == "2027-01-15"


def test_create_bad_price_shown_beside_line(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:contract_create"), form_data(customer, product, unit_price="cheap"))

    assert response.status_code == 200
    assert "cheap" in " ".join(response.context["formset"].forms[0].errors["unit_price"])
    assert Contract.objects.count() == 0


def test_logistics_gets_403_on_entry(client, logistics, customer, product):
    client.force_login(logistics)

    response = client.post(reverse("sales:contract_create"), form_data(customer, product))

    assert response.status_code == 403
    assert Contract.objects.count() == 0


def test_edit_draft(client, rep, customer, product):
    contract = make(rep, customer, product)
    client.force_login(rep)
    data = form_data(customer, product, quantity="10", unit_price="100")
    del data["customer"]

    page = client.get(reverse("sales:contract_edit", args=[contract.pk]))
    response = client.post(reverse("sales:contract_edit", args=[contract.pk]), data)

    contract.refresh_from_db()
    assert page.status_code == 200
    assert response.status_code == 302
    assert str(contract.total_amount) == "1000.00"


def test_flow_through_screens(client, rep, supervisor, customer, product):
    contract = make(rep, customer, product)
    client.force_login(rep)
    client.post(action_url(contract, "submit"))
    client.force_login(supervisor)
    detail_for_reviewer = client.get(reverse("sales:contract_detail", args=[contract.pk]))
    client.post(action_url(contract, "approve"))
    client.force_login(rep)
    client.post(action_url(contract, "attach"), {"signed_copy": SimpleUploadedFile("signed.pdf", PDF)})
    client.post(action_url(contract, "activate"))
    line = contract.lines.get()
    response = client.post(reverse("sales:contract_order", args=[contract.pk]), {f"quantity-{line.pk}": "20"})
    download = client.get(reverse("sales:contract_signed_copy", args=[contract.pk]))

    contract.refresh_from_db()
    line.refresh_from_db()
    order = SalesOrder.objects.get()
    assert detail_for_reviewer.context["actions"] == ["approve", "reject"]
    assert contract.status == C.ACTIVE
    assert line.remaining_quantity == 30
    assert response.url == reverse("sales:order_detail", args=[order.pk])
    assert b"".join(download.streaming_content) == PDF


def test_order_over_remaining_shows_message(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    line = contract.lines.get()
    client.force_login(rep)

    response = client.post(reverse("sales:contract_order", args=[contract.pk]), {f"quantity-{line.pk}": "51"}, follow=True)

    line.refresh_from_db()
    assert "Only 50 of" in response.content.decode()
    assert line.drawn_quantity == 0
    assert SalesOrder.objects.count() == 0


def test_bad_upload_shows_message(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.SIGNED)
    client.force_login(rep)

    response = client.post(
        action_url(contract, "attach"), {"signed_copy": SimpleUploadedFile("virus.exe", b"MZ")}, follow=True
    )

    contract.refresh_from_db()
    assert "“virus.exe” is not a PDF, JPEG or PNG file." in response.content.decode()
    assert not contract.signed_copy


def test_rep_cannot_approve_via_screen(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.UNDER_REVIEW)
    client.force_login(rep)

    client.post(action_url(contract, "approve"))

    contract.refresh_from_db()
    assert contract.status == C.UNDER_REVIEW


def test_other_reps_contract_and_copy_are_404(client, rep, rep2, customer, product):
    contract = make(rep, customer, product)
    client.force_login(rep2)

    assert client.get(reverse("sales:contract_detail", args=[contract.pk])).status_code == 404
    assert client.get(reverse("sales:contract_signed_copy", args=[contract.pk])).status_code == 404
    assert client.post(action_url(contract, "submit")).status_code == 404
    contract.refresh_from_db()
    assert contract.status == C.DRAFT


def test_unknown_action_is_404(client, rep, customer, product):
    contract = make(rep, customer, product)
    client.force_login(rep)

    assert client.post(action_url(contract, "explode")).status_code == 404


def test_terminate_via_screen_records_reason(client, rep, supervisor, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    client.force_login(supervisor)

    client.post(action_url(contract, "terminate"), {"terminate-reason": "Customer closed"})

    contract.refresh_from_db()
    assert contract.status == C.TERMINATED
    assert contract.termination_reason == "Customer closed"


def test_order_errors_shown_once_per_line(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    line = contract.lines.get()
    client.force_login(rep)

    response = client.post(reverse("sales:contract_order", args=[contract.pk]), {f"quantity-{line.pk}": "x"}, follow=True)

    texts = [str(message) for message in response.context["messages"]]
    assert texts == ["Quantity must be a whole number of at least 1, not “x”."]
    assert SalesOrder.objects.count() == 0


def test_order_without_quantities_shows_message(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    client.force_login(rep)

    response = client.post(reverse("sales:contract_order", args=[contract.pk]), {}, follow=True)

    texts = [str(message) for message in response.context["messages"]]
    assert texts == ["Enter a quantity for at least one contract line."]


def test_entry_form_renders(client, rep, customer):
    client.force_login(rep)

    response = client.get(reverse("sales:contract_create"), {"customer": customer.pk})

    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 3


def test_list_visibility_per_role(client, rep, rep2, supervisor, manager, customer, product):
    mine = make(rep, customer, product)
    other = make(rep2, f.CustomerFactory(owner=rep2), product)

    def numbers(user):
        client.force_login(user)
        return {row.number for row in client.get(reverse("sales:contract_list")).context["page_obj"]}

    assert numbers(rep) == {mine.number}
    assert numbers(supervisor) == {mine.number}
    assert numbers(rep2) == {other.number}
    assert numbers(manager) == {mine.number, other.number}


def test_detail_shows_remaining_and_order_inputs(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    line = contract.lines.get()
    client.force_login(rep)

    html = client.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()

    assert f'name="quantity-{line.pk}"' in html
    assert 'data-testid="create-order"' in html


def test_refused_order_keeps_typed_quantities(client, rep, customer, product):
    contract = make(rep, customer, product, status=C.ACTIVE)
    line = contract.lines.get()
    client.force_login(rep)

    response = client.post(
        reverse("sales:contract_order", args=[contract.pk]), {f"quantity-{line.pk}": str(line.quantity + 1)}
    )

    assert response.status_code == 400
    assert f'name="quantity-{line.pk}" value="{line.quantity + 1}"' in response.content.decode()
    assert SalesOrder.objects.count() == 0
