"""Customer screens: visibility per role, search and paging, export, entry with qualifications."""

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.models import Region
from dentalsales.core.timeutils import local_today
from dentalsales.customers import services
from dentalsales.customers.models import Customer, QualificationKind
from dentalsales.testing import factories as f

LIST_URL = reverse("customers:list")
CREATE_URL = reverse("customers:create")


def client_for(user):
    """Return a client signed in as ``user`` that requests English pages, so that tests can compare messages."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def listed_codes(response):
    return [customer.code for customer in response.context["page_obj"]]


def form_data(owner, **overrides):
    data = {
        "code": "",
        "owner": str(owner.pk),
        "name": "上海齿科门诊部",
        "customer_type": "clinic",
        "category": "general",
        "grade": "B",
        "region": "",
        "address": "上海市徐汇区漕溪北路 1 号",
        "contact_name": "王医生",
        "contact_phone": "13800138000",
        "credit_limit": "50000.00",
        "payment_terms_days": "30",
        "min_shelf_life_days": "180",
        "uscc": "",
        "uscc_override_reason": "",
        "is_active": "on",
        "qualifications-TOTAL_FORMS": "0",
        "qualifications-INITIAL_FORMS": "0",
        "qualifications-MIN_NUM_FORMS": "0",
        "qualifications-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def with_wrong_check_character(code):
    return code[:17] + ("1" if code[17] != "1" else "2")


# Visibility per role


def test_representative_lists_only_own_customers(rep, rep2):
    own = f.CustomerFactory(owner=rep)
    other = f.CustomerFactory(owner=rep2)

    response = client_for(rep).get(LIST_URL)

    assert response.status_code == 200
    assert own.code in listed_codes(response)
    assert other.code not in listed_codes(response)


def test_supervisor_lists_the_team_but_not_other_teams(supervisor, rep, rep2):
    team_customer = f.CustomerFactory(owner=rep)
    other = f.CustomerFactory(owner=rep2)

    codes = listed_codes(client_for(supervisor).get(LIST_URL))

    assert team_customer.code in codes
    assert other.code not in codes


def test_manager_lists_every_customer(manager, rep, rep2):
    first = f.CustomerFactory(owner=rep)
    second = f.CustomerFactory(owner=rep2)

    codes = listed_codes(client_for(manager).get(LIST_URL))

    assert codes == sorted([first.code, second.code])


def test_another_representatives_customer_is_not_found(rep, rep2):
    other = f.CustomerFactory(owner=rep2)
    client = client_for(rep)

    assert client.get(reverse("customers:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("customers:update", args=[other.pk])).status_code == 404


def test_another_representatives_customer_cannot_be_changed_by_post(rep, rep2):
    other = f.CustomerFactory(owner=rep2, name="原名称")

    response = client_for(rep).post(reverse("customers:update", args=[other.pk]), form_data(rep2, name="改名"))

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.name == "原名称"


def test_supervisor_opens_a_team_members_customer(supervisor, rep):
    customer = f.CustomerFactory(owner=rep)

    assert client_for(supervisor).get(reverse("customers:detail", args=[customer.pk])).status_code == 200


def test_new_customer_button_only_for_sales_roles(rep, logistics):
    assert 'data-testid="new-customer"' in client_for(rep).get(LIST_URL).content.decode()
    assert 'data-testid="new-customer"' not in client_for(logistics).get(LIST_URL).content.decode()


def test_logistics_cannot_open_the_customer_form(logistics):
    assert client_for(logistics).get(CREATE_URL).status_code == 403


def test_logistics_cannot_create_a_customer(logistics):
    response = client_for(logistics).post(CREATE_URL, form_data(logistics))

    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_finance_cannot_edit_a_customer(finance, customer):
    response = client_for(finance).post(reverse("customers:update", args=[customer.pk]), form_data(customer.owner, name="改名"))

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.name != "改名"


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Search, filters, paging


def test_search_by_pinyin_initials(rep):
    found = services.create_customer(actor=rep, name="上海齿科门诊部", customer_type="clinic", category="general", grade="B")
    services.create_customer(actor=rep, name="北京口腔医院", customer_type="dental_hospital", category="key", grade="A")

    codes = listed_codes(client_for(rep).get(LIST_URL, {"q": "shck"}))

    assert codes == [found.code]


def test_filters_by_type_category_and_grade(rep):
    hospital = f.CustomerFactory(owner=rep, customer_type="dental_hospital", category="key", grade="A")
    f.CustomerFactory(owner=rep, customer_type="clinic", category="key", grade="A")
    f.CustomerFactory(owner=rep, customer_type="dental_hospital", category="general", grade="A")
    f.CustomerFactory(owner=rep, customer_type="dental_hospital", category="key", grade="B")

    codes = listed_codes(client_for(rep).get(LIST_URL, {"type": "dental_hospital", "category": "key", "grade": "A"}))

    assert codes == [hospital.code]


def test_list_pages_by_fifty(rep):
    f.CustomerFactory.create_batch(60, owner=rep, qualifications=[])
    client = client_for(rep)

    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": 2})

    assert len(first.context["page_obj"]) == 50
    assert len(second.context["page_obj"]) == 10


@pytest.mark.parametrize("rows", [5, 60])
def test_list_runs_a_fixed_number_of_queries(rows, rep, django_assert_max_num_queries):
    # Each customer has two qualifications, so a per-row query would show.
    today = local_today()
    for _ in range(rows):
        f.CustomerFactory(
            owner=rep,
            region=Region.objects.get(code="440106"),
            qualifications=[
                (QualificationKind.MEDICAL_INSTITUTION_LICENCE, today),
                (QualificationKind.BUSINESS_LICENCE, None),
            ],
        )
    client = client_for(rep)

    # session, user, groups, count, the user's and the groups' permissions
    # (for the contact export button), page, qualifications
    with django_assert_max_num_queries(8):
        response = client.get(LIST_URL)

    assert response.status_code == 200


# Excel export


def test_export_contains_the_filtered_visible_customers_with_credit_limit(rep, rep2):
    hospital = f.CustomerFactory(owner=rep, customer_type="dental_hospital", credit_limit="80000.00")
    f.CustomerFactory(owner=rep, customer_type="clinic")
    f.CustomerFactory(owner=rep2, customer_type="dental_hospital")

    response = client_for(rep).get(LIST_URL, {"type": "dental_hospital", "export": "xlsx"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert "Credit limit" in headers
    assert not any("cost" in str(header).lower() for header in headers)
    assert [row[0] for row in rows[1:]] == [hospital.code]
    assert rows[1][headers.index("Credit limit")] == 80000


# Entry


def test_representative_creates_a_customer_with_region_and_qualification(rep):
    region = Region.objects.get(code="440106")
    data = form_data(
        rep,
        region=str(region.pk),
        uscc=f.valid_uscc(7),
        **{
            "qualifications-TOTAL_FORMS": "2",
            "qualifications-0-kind": "medical_institution_licence",
            "qualifications-0-number": "PDY440106001",
            "qualifications-0-valid_until": "2030-12-31",
        },
    )

    response = client_for(rep).post(CREATE_URL, data)

    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.code.startswith("CU-")
    assert customer.owner == rep
    assert customer.region == region
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == [
        ("medical_institution_licence", "PDY440106001", datetime.date(2030, 12, 31))
    ]


def test_create_keeps_a_given_code(rep):
    client_for(rep).post(CREATE_URL, form_data(rep, code="BJ-0001"))

    assert Customer.objects.get().code == "BJ-0001"


def test_malformed_uscc_is_refused_naming_the_value(rep):
    response = client_for(rep).post(CREATE_URL, form_data(rep, uscc="91310115ABC"))

    assert response.status_code == 200
    errors = response.context["form"].errors["uscc"]
    assert "“91310115ABC” is not a unified social credit code" in errors[0]
    assert not Customer.objects.exists()


def test_uscc_with_wrong_check_character_needs_a_reason(rep):
    code = with_wrong_check_character(f.valid_uscc(3))

    response = client_for(rep).post(CREATE_URL, form_data(rep, uscc=code))

    assert response.status_code == 200
    message = response.context["form"].errors["uscc"][0]
    assert f"The check character of unified social credit code “{code}” is wrong" in message
    assert "give the reason" in message
    assert not Customer.objects.exists()


def test_uscc_with_wrong_check_character_is_accepted_with_a_reason(rep):
    code = with_wrong_check_character(f.valid_uscc(3))

    response = client_for(rep).post(CREATE_URL, form_data(rep, uscc=code, uscc_override_reason="早期试点代码，与营业执照一致"))

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.uscc == code
    assert customer.uscc_override_reason == "早期试点代码，与营业执照一致"


def test_incomplete_qualification_row_is_refused(rep):
    data = form_data(rep, **{"qualifications-TOTAL_FORMS": "1", "qualifications-0-kind": "business_licence"})

    response = client_for(rep).post(CREATE_URL, data)

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["number"]
    assert not Customer.objects.exists()


def test_representative_cannot_assign_another_representative(rep, rep2):
    response = client_for(rep).post(CREATE_URL, form_data(rep2))

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_owner_choices_follow_the_team(supervisor, rep, rep2):
    rep_choices = set(client_for(rep).get(CREATE_URL).context["form"].fields["owner"].queryset)
    supervisor_choices = set(client_for(supervisor).get(CREATE_URL).context["form"].fields["owner"].queryset)

    assert rep_choices == {rep}
    assert supervisor_choices == {supervisor, rep}


def test_supervisor_creates_a_customer_for_a_team_member(supervisor, rep):
    client_for(supervisor).post(CREATE_URL, form_data(rep))

    assert Customer.objects.get().owner == rep


def qualification_rows(*rows, initial=0):
    """Return the POST fields of a qualification formset holding ``rows`` of (kind, number, valid_until[, delete])."""
    data = {"qualifications-TOTAL_FORMS": str(len(rows)), "qualifications-INITIAL_FORMS": str(initial)}
    for index, (kind, number, valid_until, *delete) in enumerate(rows):
        data[f"qualifications-{index}-kind"] = kind
        data[f"qualifications-{index}-number"] = number
        data[f"qualifications-{index}-valid_until"] = valid_until
        if delete:
            data[f"qualifications-{index}-DELETE"] = "on"
    return data


def edit_data(customer, **overrides):
    data = form_data(customer.owner, uscc=customer.uscc, **overrides)
    del data["code"]
    return data


def test_manager_changes_fields_and_replaces_qualifications(manager, rep):
    customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.BUSINESS_LICENCE, None)])
    data = edit_data(
        customer,
        name="新名称口腔诊所",
        **qualification_rows(
            ("business_licence", "OLD", "", "delete"), ("medical_institution_licence", "PDY-NEW", "2031-06-30"), initial=1
        ),
    )

    response = client_for(manager).post(reverse("customers:update", args=[customer.pk]), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "新名称口腔诊所"
    assert list(customer.qualifications.values_list("kind", "number")) == [("medical_institution_licence", "PDY-NEW")]


def test_edit_form_shows_existing_qualifications(manager):
    customer = f.CustomerFactory(qualifications=[(QualificationKind.BUSINESS_LICENCE, None)])

    formset = client_for(manager).get(reverse("customers:update", args=[customer.pk])).context["formset"]

    assert formset.initial == [{"kind": "business_licence", "number": f"PDY{customer.pk:05d}0", "valid_until": None}]


# What each role may change


def test_representative_sees_credit_terms_and_existing_qualifications_as_text(rep):
    customer = f.CustomerFactory(owner=rep, credit_limit="80000.00", payment_terms_days=45)

    response = client_for(rep).get(reverse("customers:update", args=[customer.pk]))

    html = response.content.decode()
    form = response.context["form"]
    assert "credit_limit" not in form.fields
    assert "payment_terms_days" not in form.fields
    assert 'name="credit_limit"' not in html
    assert 'data-read-only="credit_limit">80,000.00<' in html
    assert 'data-read-only="payment_terms_days">45 days<' in html
    assert response.context["formset"] is None
    assert 'name="qualifications-TOTAL_FORMS"' not in html
    assert f"PDY{customer.pk:05d}0" in html


def test_representative_edit_keeps_credit_terms_and_qualifications(rep):
    customer = f.CustomerFactory(owner=rep, credit_limit="80000.00", payment_terms_days=45)
    before = list(customer.qualifications.values_list("kind", "number", "valid_until"))
    data = edit_data(
        customer,
        name="新名称口腔诊所",
        credit_limit="999999.00",
        payment_terms_days="180",
        **qualification_rows(("business_licence", "FORGED", "")),
    )

    response = client_for(rep).post(reverse("customers:update", args=[customer.pk]), data)

    customer.refresh_from_db()
    assert response.status_code == 302
    assert customer.name == "新名称口腔诊所"
    assert customer.credit_limit == Decimal("80000.00")
    assert customer.payment_terms_days == 45
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == before


def test_representative_creates_with_default_credit_terms_and_qualifications(rep):
    form = client_for(rep).get(CREATE_URL)
    data = form_data(
        rep, credit_limit="50000.00", payment_terms_days="90", **qualification_rows(("business_licence", "BL-1", ""))
    )

    response = client_for(rep).post(CREATE_URL, data)

    customer = Customer.objects.get()
    html = form.content.decode()
    assert 'data-read-only="credit_limit">0.00<' in html
    assert 'data-read-only="payment_terms_days">30 days<' in html
    assert 'name="qualifications-TOTAL_FORMS"' in html
    assert response.status_code == 302
    assert customer.credit_limit == 0
    assert customer.payment_terms_days == 30
    assert list(customer.qualifications.values_list("kind", "number")) == [("business_licence", "BL-1")]


def test_supervisor_sets_credit_terms_but_not_existing_qualifications(supervisor, rep):
    customer = f.CustomerFactory(owner=rep)
    before = list(customer.qualifications.values_list("kind", "number", "valid_until"))
    client = client_for(supervisor)

    page = client.get(reverse("customers:update", args=[customer.pk]))
    response = client.post(
        reverse("customers:update", args=[customer.pk]),
        edit_data(customer, credit_limit="120000.50", payment_terms_days="60", **qualification_rows(("business_licence", "X", ""))),
    )

    customer.refresh_from_db()
    assert "credit_limit" in page.context["form"].fields
    assert page.context["formset"] is None
    assert response.status_code == 302
    assert customer.credit_limit == Decimal("120000.50")
    assert customer.payment_terms_days == 60
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_limit", "-100", "Credit limit must be 0 or more, not “-100”."),
        ("credit_limit", "五万", "Credit limit must be 0 or more, not “五万”."),
        ("credit_limit", "100.555", "Credit limit has at most 2 decimal places, not “100.555”."),
        ("payment_terms_days", "1.5", "Payment terms must be a whole number of days, 0 or more, not “1.5”."),
        ("payment_terms_days", "-30", "Payment terms must be a whole number of days, 0 or more, not “-30”."),
    ],
)
def test_bad_credit_terms_are_named(supervisor, rep, field, value, message):
    customer = f.CustomerFactory(owner=rep, credit_limit="80000.00", payment_terms_days=45)

    response = client_for(supervisor).post(reverse("customers:update", args=[customer.pk]), edit_data(customer, **{field: value}))

    customer.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert customer.credit_limit == Decimal("80000.00")
    assert customer.payment_terms_days == 45


def test_credit_limit_with_thousands_separators_is_accepted(supervisor, rep):
    customer = f.CustomerFactory(owner=rep)

    client_for(supervisor).post(reverse("customers:update", args=[customer.pk]), edit_data(customer, credit_limit="50,000"))

    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("50000.00")


def test_quality_officer_is_sent_from_the_edit_page_to_the_qualifications(quality, customer):
    response = client_for(quality).get(reverse("customers:update", args=[customer.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:qualifications", args=[customer.pk])


def test_quality_officer_cannot_change_other_fields(quality, customer):
    response = client_for(quality).post(reverse("customers:update", args=[customer.pk]), edit_data(customer, name="改名"))

    customer.refresh_from_db()
    assert response.status_code == 302
    assert customer.name != "改名"


def test_quality_officer_replaces_qualifications(quality, customer):
    url = reverse("customers:qualifications", args=[customer.pk])
    client = client_for(quality)

    page = client.get(url)
    response = client.post(
        url,
        qualification_rows(
            ("medical_institution_licence", f"PDY{customer.pk:05d}0", "", "delete"),
            ("device_business_licence", "沪药监械经营许20230001号", "2029-03-31"),
            initial=1,
        ),
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == [
        ("device_business_licence", "沪药监械经营许20230001号", datetime.date(2029, 3, 31))
    ]


def test_incomplete_row_on_the_qualifications_screen_changes_nothing(quality, customer):
    before = list(customer.qualifications.values_list("kind", "number", "valid_until"))

    response = client_for(quality).post(
        reverse("customers:qualifications", args=[customer.pk]), qualification_rows(("business_licence", "", ""))
    )

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["number"]
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == before


@pytest.mark.parametrize("persona", ["rep", "supervisor", "logistics", "finance"])
def test_other_roles_cannot_replace_qualifications(persona, request, customer):
    user = request.getfixturevalue(persona)
    before = list(customer.qualifications.values_list("kind", "number", "valid_until"))
    url = reverse("customers:qualifications", args=[customer.pk])
    client = client_for(user)

    page = client.get(url)
    response = client.post(url, qualification_rows(("business_licence", "FORGED", "")))

    assert page.status_code == 403
    assert response.status_code == 403
    assert list(customer.qualifications.values_list("kind", "number", "valid_until")) == before


@pytest.mark.parametrize(
    ("persona", "edit", "qualifications"),
    [
        ("rep", True, False),
        ("supervisor", True, False),
        ("manager", True, True),
        ("quality", False, True),
        ("finance", False, False),
    ],
)
def test_detail_buttons_follow_the_role(persona, edit, qualifications, request, customer):
    html = client_for(request.getfixturevalue(persona)).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert ('data-testid="edit-customer"' in html) is edit
    assert ('data-testid="edit-qualifications"' in html) is qualifications


# Detail


def test_detail_shows_region_expired_qualification_and_orders(rep, product):
    customer = f.CustomerFactory(
        owner=rep,
        region=Region.objects.get(code="440106"),
        qualifications=[
            (QualificationKind.MEDICAL_INSTITUTION_LICENCE, local_today() - datetime.timedelta(days=1)),
            (QualificationKind.BUSINESS_LICENCE, None),
        ],
    )
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])

    response = client_for(rep).get(reverse("customers:detail", args=[customer.pk]))

    html = response.content.decode()
    assert "广东省 广州市 天河区" in html
    assert html.count("data-expired") == 1
    assert reverse("sales:order_detail", args=[order.pk]) in html
    assert list(response.context["recent_orders"]) == [order]


def test_recent_orders_show_their_line_count(rep, product):
    customer = f.CustomerFactory(owner=rep)
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 2), (f.ProductFactory(), 1), (f.ProductFactory(), 4)])

    response = client_for(rep).get(reverse("customers:detail", args=[customer.pk]))

    html = response.content.decode()
    row = html[html.index(reverse("sales:order_detail", args=[order.pk])) :]
    assert response.context["recent_orders"][0].line_count == 3
    assert '<td class="num">3</td>' in row[: row.index("</tr>")]


def history_rows(response):
    return [(entry["kind"], entry["subject"], entry["user"], entry["fields"]) for entry in response.context["history"]]


def test_detail_lists_the_change_history(manager, quality, rep):
    create = client_for(manager).post(
        CREATE_URL, form_data(rep, name="上海齿科门诊部", **qualification_rows(("business_licence", "BL-1", "")))
    )
    customer = Customer.objects.get()
    client_for(manager).post(
        reverse("customers:update", args=[customer.pk]),
        edit_data(customer, name="上海齿科门诊部（徐汇）", credit_limit="60000.00", **qualification_rows(("business_licence", "BL-1", ""), initial=1)),
    )
    client_for(quality).post(
        reverse("customers:qualifications", args=[customer.pk]),
        qualification_rows(("business_licence", "BL-1", "", "delete"), ("business_licence", "BL-2", "2030-01-31"), initial=1),
    )

    response = client_for(rep).get(reverse("customers:detail", args=[customer.pk]))

    html = response.content.decode()
    assert create.status_code == 302
    assert history_rows(response) == [
        ("+", "Qualification: Business licence BL-2", quality, []),
        ("-", "Qualification: Business licence BL-1", quality, []),
        ("~", "Customer", manager, ["Credit limit", "Name"]),
        ("+", "Qualification: Business licence BL-1", manager, []),
        ("+", "Customer", manager, []),
    ]
    assert 'data-history-kind="~"' in html
    assert "Credit limit; Name" in html
    assert "Changed" in html


@pytest.mark.parametrize("changes", [3, 30])
def test_detail_history_runs_a_fixed_number_of_queries(changes, rep, product, django_assert_max_num_queries):
    customer = f.CustomerFactory(owner=rep)
    qualification = customer.qualifications.get()
    for index in range(changes):
        customer.contact_name = f"联系人{index}"
        customer.save()
        qualification.number = f"PDY-{index}"
        qualification.save()
    f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    client = client_for(rep)

    # session, user, groups, customer, qualifications with their
    # categories, orders, line counts, and for each of the customer and its
    # qualifications: the latest records with their users, and the records
    # before them. The profile adds the contact visibility check, contacts,
    # addresses, documents, business information and grade changes; the
    # CRM panel adds gift totals, revisit plan, last visit and prospect.
    with django_assert_max_num_queries(22):
        response = client.get(reverse("customers:detail", args=[customer.pk]))

    assert response.status_code == 200
    assert len(response.context["history"]) == min(20, 2 + 2 * changes)
    assert response.context["history"][0]["fields"] == ["Number"]
    assert response.context["history"][1]["fields"] == ["Receiving contact"]


# JSON endpoints


def test_region_search_matches_name_and_full_name(rep):
    client = client_for(rep)

    by_name = client.get(reverse("customers:regions"), {"q": "天河"}).json()["results"]
    by_full_name = client.get(reverse("customers:regions"), {"q": "广东省 广州市"}).json()["results"]

    assert {"id": Region.objects.get(code="440106").pk, "text": "广东省 广州市 天河区"} in by_name
    assert all(row["text"].startswith("广东省 广州市") for row in by_full_name)


def test_region_search_returns_at_most_thirty(rep):
    results = client_for(rep).get(reverse("customers:regions"), {"q": "区"}).json()["results"]

    assert len(results) == 30


def test_autocomplete_returns_only_visible_active_customers(rep, rep2):
    own = f.CustomerFactory(owner=rep)
    f.CustomerFactory(owner=rep, is_active=False)
    f.CustomerFactory(owner=rep2)

    results = client_for(rep).get(reverse("customers:autocomplete"), {"q": "bjkq"}).json()["results"]

    assert results == [{"id": own.pk, "text": str(own), "search": f"{own.search_text} {own.contact_phone} bjkq"}]


def test_autocomplete_returns_at_most_thirty(manager):
    f.CustomerFactory.create_batch(31, qualifications=[])

    results = client_for(manager).get(reverse("customers:autocomplete")).json()["results"]

    assert len(results) == 30


def test_autocomplete_needs_login(client):
    assert client.get(reverse("customers:autocomplete")).status_code == 302


def test_finance_sets_credit_terms_on_screen(client, finance, rep):
    customer = f.CustomerFactory(owner=rep)
    client.force_login(finance)

    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    refused = client.post(f"/customers/{customer.pk}/credit-terms/", {"credit_limit": "-5", "payment_terms_days": "60"})
    saved = client.post(f"/customers/{customer.pk}/credit-terms/", {"credit_limit": "250000.00", "payment_terms_days": "60"})
    customer.refresh_from_db()

    assert 'data-testid="edit-credit-terms"' in detail
    assert refused.status_code == 200
    assert "-5" in refused.content.decode()
    assert saved.status_code == 302
    assert str(customer.credit_limit) == "250000.00"
    assert customer.payment_terms_days == 60


def test_representative_has_no_credit_terms_screen(client, rep):
    customer = f.CustomerFactory(owner=rep)
    client.force_login(rep)

    response = client.post(f"/customers/{customer.pk}/credit-terms/", {"credit_limit": "9999999", "payment_terms_days": "90"})
    customer.refresh_from_db()

    assert response.status_code == 403
    assert str(customer.credit_limit) == "100000.00"
