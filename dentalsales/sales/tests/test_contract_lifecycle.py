"""Contract review by amount, hand-over on activation, expiry, quotation → contract → orders → shipments."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.notifications.models import Notification
from dentalsales.pricing.models import DiscountAuthority
from dentalsales.sales import contracts as cs
from dentalsales.sales import quotations as qs
from dentalsales.sales.models import Contract, ContractStatus, QuotationStatus
from dentalsales.sales.services import (
    approve_order,
    cancel_order,
    release_order,
    ship_order,
    submit_order,
    update_order,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
C = ContractStatus


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CONTRACT_MANAGER_REVIEW_AMOUNT = Decimal("50000")


def make_contract(rep, customer, product, *, quantity=100, unit_price="110.00"):
    contract = cs.create_contract(
        actor=rep, customer=customer, lines=[{"product": product, "quantity": quantity, "unit_price": unit_price}]
    )
    return cs.submit_contract(actor=rep, contract=contract)


def set_state(contract, status, **changes):
    Contract.objects.filter(pk=contract.pk).update(status=status, **changes)
    contract.refresh_from_db()
    return contract


def titles_for(user):
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


class TestManagerReview:
    def test_small_contract_signed_by_supervisor(self, rep, supervisor, manager, customer, product):
        contract = make_contract(rep, customer, product, quantity=100)  # 11,000.00

        contract = cs.approve_contract(actor=supervisor, contract=contract)

        assert contract.status == C.SIGNED
        assert contract.supervisor_approved_by is None
        assert titles_for(manager) == []
        assert titles_for(rep) == [f"Contract {contract.number} was approved"]

    def test_large_contract_goes_to_manager(self, rep, supervisor, manager, customer, product):
        contract = make_contract(rep, customer, product, quantity=1000)  # 110,000.00

        contract = cs.approve_contract(actor=supervisor, contract=contract)

        assert contract.status == C.MANAGER_REVIEW
        assert contract.supervisor_approved_by == supervisor
        assert titles_for(manager) == [f"Contract {contract.number} waits for your approval"]
        with pytest.raises(NotPermitted):
            cs.approve_contract(actor=supervisor, contract=contract)
        contract = cs.approve_contract(actor=manager, contract=contract)
        assert contract.status == C.SIGNED
        assert contract.reviewed_by == manager

    def test_manager_may_approve_large_contract_directly(self, rep, manager, customer, product):
        contract = make_contract(rep, customer, product, quantity=1000)

        contract = cs.approve_contract(actor=manager, contract=contract)

        assert contract.status == C.SIGNED

    def test_threshold_is_inclusive_for_supervisor(self, rep, supervisor, customer, product, settings):
        settings.CONTRACT_MANAGER_REVIEW_AMOUNT = Decimal("11000.00")
        contract = make_contract(rep, customer, product, quantity=100)  # exactly 11,000.00

        assert cs.approve_contract(actor=supervisor, contract=contract).status == C.SIGNED

    def test_price_below_supervisor_authority_goes_to_manager(self, rep, supervisor, manager, customer, product):
        DiscountAuthority.objects.create(role="supervisor", category=None, min_share_of_list=Decimal("0.80"))
        low = (product.list_price * Decimal("0.70")).quantize(Decimal("0.01"))
        contract = make_contract(rep, customer, product, quantity=1, unit_price=low)

        reasons = cs.manager_review_reasons(contract)
        contract = cs.approve_contract(actor=supervisor, contract=contract)

        assert len(reasons) == 1
        assert "below the supervisor's discount authority" in reasons[0]
        assert contract.status == C.MANAGER_REVIEW

    def test_manager_rejection_clears_supervisor_approval(self, rep, supervisor, manager, customer, product):
        contract = cs.approve_contract(actor=supervisor, contract=make_contract(rep, customer, product, quantity=1000))

        with pytest.raises(NotPermitted):
            cs.reject_contract(actor=supervisor, contract=contract, reason="too big")
        contract = cs.reject_contract(actor=manager, contract=contract, reason="Split into two deliveries")

        assert contract.status == C.DRAFT
        assert contract.supervisor_approved_by is None
        assert contract.rejection_reason == "Split into two deliveries"

    def test_supervisor_who_is_also_manager_cannot_approve_twice(self, rep, customer, product, team):
        both = f.UserFactory(username="both", roles=[Role.SUPERVISOR, Role.MANAGER])
        contract = make_contract(rep, customer, product, quantity=1000)
        contract = set_state(contract, C.MANAGER_REVIEW, supervisor_approved_by=both)

        with pytest.raises(NotPermitted):
            cs.approve_contract(actor=both, contract=contract)
        assert "approve" not in cs.allowed_actions(contract, both)

    def test_detail_page_explains_manager_review(self, client, rep, supervisor, manager, customer, product):
        contract = cs.approve_contract(actor=supervisor, contract=make_contract(rep, customer, product, quantity=1000))
        client.force_login(manager)

        page = client.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()

        assert 'data-testid="manager-review"' in page
        assert "is above" in page
        assert 'data-action="approve"' in page


class TestActivationHandOver:
    def test_logistics_and_finance_notified_in_app_and_by_email(self, rep, logistics, finance, customer, product, django_capture_on_commit_callbacks):
        finance.email = "cw@example.com"
        finance.save()
        contract = set_state(make_contract(rep, customer, product), C.SIGNED, signed_copy="contracts/x.pdf")

        with django_capture_on_commit_callbacks(execute=True):
            cs.activate_contract(actor=rep, contract=contract)

        expected = f"Contract {contract.number} with {customer} is active"
        assert titles_for(logistics) == [expected]
        assert titles_for(finance) == [expected]
        assert [message.to for message in mail.outbox] == [["cw@example.com"]]
        assert reverse("sales:contract_detail", args=[contract.pk]) in mail.outbox[0].body
        contract.refresh_from_db()
        assert contract.activated_at is not None

    @pytest.mark.parametrize("persona", ["logistics", "finance"])
    def test_read_only_copy(self, client, request, rep, customer, product, persona):
        user = request.getfixturevalue(persona)
        contract = set_state(make_contract(rep, customer, product), C.ACTIVE)
        client.force_login(user)

        detail = client.get(reverse("sales:contract_detail", args=[contract.pk]))
        printed = client.get(reverse("sales:contract_print", args=[contract.pk]))

        assert detail.status_code == 200
        assert cs.allowed_actions(contract, user) == []
        assert 'data-testid="create-order"' not in detail.content.decode()
        assert printed.status_code == 200
        response = client.post(reverse("sales:contract_action", args=[contract.pk, "complete"]))
        contract.refresh_from_db()
        assert response.status_code == 302
        assert contract.status == C.ACTIVE


class TestExpiry:
    def test_active_and_signed_contracts_expire_after_end_date(self, rep, customer, product):
        yesterday = local_today() - datetime.timedelta(days=1)
        ended = set_state(make_contract(rep, customer, product), C.ACTIVE, start_date=yesterday, end_date=yesterday)
        signed = set_state(make_contract(rep, customer, product), C.SIGNED, start_date=yesterday, end_date=yesterday)
        running = set_state(make_contract(rep, customer, product), C.ACTIVE)
        completed = set_state(make_contract(rep, customer, product), C.COMPLETED, start_date=yesterday, end_date=yesterday)

        assert cs.expire_contracts() == 2

        statuses = dict(Contract.objects.values_list("pk", "status"))
        assert statuses[ended.pk] == C.EXPIRED
        assert statuses[signed.pk] == C.EXPIRED
        assert statuses[running.pk] == C.ACTIVE
        assert statuses[completed.pk] == C.COMPLETED
        assert titles_for(rep).count(f"Contract {ended.number} expired on {yesterday}") == 1

    def test_contract_ending_today_stays_active(self, rep, customer, product):
        today = local_today()
        contract = set_state(make_contract(rep, customer, product), C.ACTIVE, start_date=today, end_date=today)

        assert cs.expire_contracts() == 0
        contract.refresh_from_db()
        assert contract.status == C.ACTIVE

    def test_expired_contract_refuses_orders(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product), C.EXPIRED)

        with pytest.raises(InvalidTransition) as error:
            cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract.lines.get().pk: 1})

        assert "Expired" in str(error.value)
        assert contract.lines.get().drawn_quantity == 0

    def test_command_reports_count(self, rep, customer, product, capsys):
        yesterday = local_today() - datetime.timedelta(days=1)
        set_state(make_contract(rep, customer, product), C.ACTIVE, start_date=yesterday, end_date=yesterday)

        call_command("expire_contracts")

        assert "1 contracts expired." in capsys.readouterr().out


def sent_quotation(rep, customer, product, quantity=30):
    quotation = qs.create_quotation(actor=rep, customer=customer, lines=[{"product": product, "quantity": quantity}])
    return qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")


class TestQuotationToContract:
    def test_lines_prices_and_link_kept(self, rep, customer, product):
        quotation = sent_quotation(rep, customer, product)
        quoted = quotation.lines.get()

        contract = cs.create_contract_from_quotation(actor=rep, quotation=quotation)

        quotation.refresh_from_db()
        line = contract.lines.get()
        assert quotation.status == QuotationStatus.ACCEPTED
        assert contract.quotation == quotation
        assert contract.status == C.DRAFT
        assert (line.product, line.quantity, line.unit_price) == (product, 30, quoted.unit_price)
        assert contract.total_amount == quotation.total_amount

    def test_accepted_quotation_cannot_become_order_too(self, rep, customer, product):
        quotation = sent_quotation(rep, customer, product)
        cs.create_contract_from_quotation(actor=rep, quotation=quotation)

        with pytest.raises(InvalidTransition):
            qs.accept_quotation(actor=rep, quotation=quotation)
        with pytest.raises(InvalidTransition):
            cs.create_contract_from_quotation(actor=rep, quotation=quotation)
        assert Contract.objects.count() == 1

    def test_draft_or_expired_quotation_refused(self, rep, customer, product):
        draft = qs.create_quotation(actor=rep, customer=customer, lines=[{"product": product, "quantity": 1}])
        with pytest.raises(InvalidTransition):
            cs.create_contract_from_quotation(actor=rep, quotation=draft)
        old = sent_quotation(rep, customer, product)
        type(old).objects.filter(pk=old.pk).update(valid_until=local_today() - datetime.timedelta(days=1))
        with pytest.raises(InvalidTransition):
            cs.create_contract_from_quotation(actor=rep, quotation=old)
        assert Contract.objects.count() == 0

    def test_logistics_may_not_accept(self, rep, logistics, customer, product):
        quotation = sent_quotation(rep, customer, product)

        with pytest.raises((NotPermitted, InvalidInput)):
            cs.create_contract_from_quotation(actor=logistics, quotation=quotation)

    def test_web_and_api(self, client, api, rep, customer, product):
        first = sent_quotation(rep, customer, product)
        second = sent_quotation(rep, customer, product)
        client.force_login(rep)

        response = client.post(reverse("sales:quotation_accept_contract", args=[first.pk]))
        contract = Contract.objects.get(quotation=first)
        assert response["Location"] == reverse("sales:contract_detail", args=[contract.pk])
        page = client.get(reverse("sales:quotation_detail", args=[first.pk])).content.decode()
        assert 'data-testid="contract-link"' in page

        body = api(rep).post(f"/api/v1/quotations/{second.pk}/accept-contract/").json()
        assert body["quotation"] == second.pk
        assert body["status"] == "draft"
        assert api(rep).get(f"/api/v1/quotations/{second.pk}/").json()["contract"] == body["id"]
        assert api(rep).post(f"/api/v1/quotations/{second.pk}/accept-contract/").status_code == 409


def approve_and_release(order, supervisor, logistics):
    order = submit_order(actor=order.owner, order=order)
    order = approve_order(actor=supervisor, order=order)
    return release_order(actor=logistics, order=order)


class TestDrawdownAcrossOrdersAndShipments:
    def test_quotation_contract_orders_partial_shipments(self, rep, supervisor, logistics, customer, stocked_product):
        quotation = sent_quotation(rep, customer, stocked_product, quantity=60)
        contract = cs.create_contract_from_quotation(actor=rep, quotation=quotation)
        contract = set_state(contract, C.ACTIVE)
        line = contract.lines.get()

        first = cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 25})
        first = approve_and_release(first, supervisor, logistics)
        ship_order(actor=logistics, order=first, carrier="顺丰速运", quantities={first.lines.get().pk: 10})
        second = cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 15})

        line = cs.lines_with_progress(contract).get()
        assert (line.drawn_quantity, line.shipped_quantity, line.remaining_quantity) == (40, 10, 20)

        ship_order(actor=logistics, order=first, carrier="顺丰速运")
        cancel_order(actor=rep, order=second, reason="Customer changed the date")
        line = cs.lines_with_progress(contract).get()
        assert (line.drawn_quantity, line.shipped_quantity, line.remaining_quantity) == (25, 25, 35)
        assert second.lines.get().contract_drawdown.released_at is not None

    def test_cancel_gives_quantities_back_once(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)
        line = contract.lines.get()
        order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 10})

        cancel_order(actor=rep, order=order, reason="Duplicate")
        with pytest.raises(InvalidTransition):
            cancel_order(actor=rep, order=order, reason="Again")

        line.refresh_from_db()
        assert line.remaining_quantity == 10
        again = cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 10})
        assert again.lines.get().quantity == 10

    def test_lines_of_contract_order_cannot_be_replaced(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)
        order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract.lines.get().pk: 5})

        with pytest.raises(InvalidInput) as error:
            update_order(actor=rep, order=order, lines=[{"product": product.pk, "quantity": 50}])

        assert error.value.field == "lines"
        assert contract.number in str(error.value)
        assert order.lines.get().quantity == 5
        update_order(actor=rep, order=order, note="Deliver before noon")

    def test_detail_page_shows_progress_and_orders(self, client, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)
        order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract.lines.get().pk: 4})
        client.force_login(rep)

        page = client.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()

        assert 'data-testid="ordered">4<' in page
        assert 'data-testid="shipped">0<' in page
        assert 'data-testid="remaining">6<' in page
        assert order.number in page


class TestContractApiErrors:
    def test_drawdown_error_names_request_position(self, api, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=5), C.ACTIVE)
        line = contract.lines.get()

        response = api(rep).post(
            f"/api/v1/contracts/{contract.pk}/orders/", {"lines": [{"contract_line": line.pk, "quantity": 6}]}, format="json"
        )

        assert response.status_code == 400
        body = response.json()
        assert "lines[0].quantity" in str(body)
        assert f"lines[{line.pk}]" not in str(body) or line.pk == 0

    def test_duplicate_line_refused(self, api, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=5), C.ACTIVE)
        line = contract.lines.get()

        response = api(rep).post(
            f"/api/v1/contracts/{contract.pk}/orders/",
            {"lines": [{"contract_line": line.pk, "quantity": 1}, {"contract_line": line.pk, "quantity": 1}]},
            format="json",
        )

        assert response.status_code == 400
        assert "lines[1].contract_line" in str(response.json())
        line.refresh_from_db()
        assert line.drawn_quantity == 0

    def test_contract_shows_shipped_and_new_fields(self, api, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=5), C.ACTIVE)

        body = api(rep).get(f"/api/v1/contracts/{contract.pk}/").json()

        assert body["lines"][0]["shipped_quantity"] == 0
        assert {"supervisor_approved_by", "activated_at", "quotation"} <= set(body)


def test_print_view_has_capitals_and_seal_area(client, rep, customer, product):
    contract = make_contract(rep, customer, product, quantity=100, unit_price="123.4567")
    client.force_login(rep)

    page = client.get(reverse("sales:contract_print", args=[contract.pk])).content.decode()

    assert contract.number in page
    assert 'data-testid="seal-area"' in page
    assert "人民币" in page or "圆" in page or "元" in page


class TestEntryRules:
    def test_blank_price_takes_policy_price(self, rep, customer, product):
        contract = cs.create_contract(actor=rep, customer=customer, lines=[{"product": product, "quantity": 10}])

        line = contract.lines.get()
        assert line.unit_price == product.list_price
        assert contract.total_amount == product.list_price * 10

    def test_blank_price_through_api(self, api, rep, customer, product):
        response = api(rep).post(
            "/api/v1/contracts/", {"customer": customer.pk, "lines": [{"product": product.pk, "quantity": 2}]}, format="json"
        )

        assert response.status_code == 201
        assert Decimal(response.json()["lines"][0]["unit_price"]) == product.list_price

    @pytest.mark.parametrize("price", ["0", "0.0000", "-1"])
    def test_zero_or_negative_price_refused_everywhere(self, rep, customer, product, price):
        with pytest.raises(InvalidInput) as contract_error:
            cs.create_contract(actor=rep, customer=customer, lines=[{"product": product, "quantity": 1, "unit_price": price}])
        with pytest.raises(InvalidInput) as quotation_error:
            qs.create_quotation(actor=rep, customer=customer, lines=[{"product": product, "quantity": 1, "unit_price": price}])

        for error in (contract_error, quotation_error):
            assert price in " ".join(error.value.field_errors["lines[0].unit_price"])
        assert Contract.objects.count() == 0

    def test_same_product_twice_refused(self, rep, customer, product):
        with pytest.raises(InvalidInput) as error:
            cs.create_contract(
                actor=rep,
                customer=customer,
                lines=[{"product": product, "quantity": 1}, {"product": product, "quantity": 2}],
            )

        assert "lines[1].product" in error.value.field_errors
        assert Contract.objects.count() == 0

    def test_delivery_date_outside_term_refused(self, rep, customer, product):
        too_late = (local_today() + datetime.timedelta(days=800)).isoformat()

        with pytest.raises(InvalidInput) as error:
            cs.create_contract(
                actor=rep, customer=customer, lines=[{"product": product, "quantity": 1, "delivery_date": too_late}]
            )

        assert too_late in " ".join(error.value.field_errors["lines[0].delivery_date"])

    def test_term_already_ended_refused(self, rep, customer, product):
        with pytest.raises(InvalidInput) as error:
            cs.create_contract(
                actor=rep,
                customer=customer,
                lines=[{"product": product, "quantity": 1}],
                start_date="2026-01-01",
                end_date="2026-06-30",
            )

        assert error.value.field == "end_date"
        assert "2026-06-30" in str(error.value)

    def test_activation_after_end_date_refused(self, rep, customer, product):
        yesterday = local_today() - datetime.timedelta(days=1)
        contract = set_state(
            make_contract(rep, customer, product), C.SIGNED, signed_copy="contracts/x.pdf", end_date=yesterday
        )

        with pytest.raises(InvalidInput) as error:
            cs.activate_contract(actor=rep, contract=contract)

        contract.refresh_from_db()
        assert error.value.field == "end_date"
        assert contract.status == C.SIGNED

    def test_default_payment_terms_from_customer(self, rep, customer, product):
        contract = cs.create_contract(actor=rep, customer=customer, lines=[{"product": product, "quantity": 1}])

        assert str(customer.payment_terms_days) in contract.payment_terms

    def test_quotation_delivery_terms_go_to_note(self, rep, customer, product):
        quotation = qs.create_quotation(
            actor=rep,
            customer=customer,
            lines=[{"product": product, "quantity": 1}],
            payment_terms="月结 60 天",
            delivery_terms="分两批交货",
        )
        quotation = qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")

        contract = cs.create_contract_from_quotation(actor=rep, quotation=quotation)

        assert contract.payment_terms == "月结 60 天"
        assert "分两批交货" in contract.note

    def test_blank_email_named(self, rep, customer, product):
        quotation = qs.create_quotation(actor=rep, customer=customer, lines=[{"product": product, "quantity": 1}])

        with pytest.raises(InvalidInput) as error:
            qs.send_quotation(actor=rep, quotation=quotation, email="  ")

        assert error.value.field == "email"
        assert "e-mail address" in str(error.value)


class TestSignedCopyAndCompletion:
    def test_signed_copy_cannot_be_replaced_once_active(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product), C.ACTIVE, signed_copy="contracts/original.pdf")

        with pytest.raises(InvalidTransition):
            cs.attach_signed_copy(actor=rep, contract=contract, upload=SimpleUploadedFile("new.pdf", b"%PDF-1.4\n"))

        contract.refresh_from_db()
        assert contract.signed_copy.name == "contracts/original.pdf"
        assert "attach" not in cs.allowed_actions(contract, rep)

    def test_complete_refused_while_an_order_is_open(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)
        order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract.lines.get().pk: 10})

        with pytest.raises(InvalidTransition) as error:
            cs.complete_contract(actor=rep, contract=contract)

        assert order.number in str(error.value)
        contract.refresh_from_db()
        assert contract.status == C.ACTIVE

    def test_complete_with_remaining_needs_reason(self, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)

        with pytest.raises(InvalidInput) as error:
            cs.complete_contract(actor=rep, contract=contract)
        assert error.value.field == "reason"
        assert "10" in str(error.value)

        contract = cs.complete_contract(actor=rep, contract=contract, reason="客户改用集采渠道")
        assert contract.status == C.COMPLETED
        assert contract.completion_note == "客户改用集采渠道"

    def test_complete_through_api_with_reason(self, api, rep, customer, product):
        contract = set_state(make_contract(rep, customer, product, quantity=10), C.ACTIVE)

        refused = api(rep).post(f"/api/v1/contracts/{contract.pk}/complete/", {}, format="json")
        done = api(rep).post(f"/api/v1/contracts/{contract.pk}/complete/", {"reason": "项目结束"}, format="json")

        assert refused.status_code == 400
        assert done.status_code == 200
        assert done.json()["completion_note"] == "项目结束"


class TestReviewSupport:
    def test_submit_notifies_team_supervisor(self, rep, supervisor, customer, product):
        contract = make_contract(rep, customer, product)

        assert titles_for(supervisor) == [f"Contract {contract.number} with {customer} waits for review"]

    def test_review_queue_lists_contracts_by_step(self, client, rep, supervisor, manager, customer, product):
        small = make_contract(rep, customer, product, quantity=10)
        large = cs.approve_contract(actor=supervisor, contract=make_contract(rep, customer, product, quantity=1000))

        client.force_login(supervisor)
        supervisor_page = client.get(reverse("sales:review_queue")).content.decode()
        client.force_login(manager)
        manager_page = client.get(reverse("sales:review_queue")).content.decode()

        assert f'data-contract="{small.number}"' in supervisor_page
        assert f'data-contract="{large.number}"' not in supervisor_page
        assert f'data-contract="{small.number}"' in manager_page
        assert f'data-contract="{large.number}"' in manager_page

    def test_reviewers_see_price_basis_and_reps_do_not(self, client, rep, supervisor, customer, product):
        low = (product.list_price * Decimal("0.5")).quantize(Decimal("0.01"))
        contract = make_contract(rep, customer, product, quantity=1, unit_price=low)

        client.force_login(supervisor)
        supervisor_page = client.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()
        client.force_login(rep)
        rep_page = client.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()

        assert 'data-approval="manager"' in supervisor_page
        assert "(50.0%)" in supervisor_page
        assert 'data-testid="price-approval"' not in rep_page
