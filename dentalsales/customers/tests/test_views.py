"""Customer screens: visibility per role, search and paging, export, entry with qualifications."""

import datetime
import io

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

    # session, user, groups, count, page, qualifications
    with django_assert_max_num_queries(6):
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


def test_edit_changes_fields_and_replaces_qualifications(rep):
    customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.BUSINESS_LICENCE, None)])
    data = form_data(
        rep,
        name="新名称口腔诊所",
        uscc=customer.uscc,
        **{
            "qualifications-TOTAL_FORMS": "2",
            "qualifications-INITIAL_FORMS": "1",
            "qualifications-0-kind": "business_licence",
            "qualifications-0-number": "OLD",
            "qualifications-0-DELETE": "on",
            "qualifications-1-kind": "medical_institution_licence",
            "qualifications-1-number": "PDY-NEW",
            "qualifications-1-valid_until": "2031-06-30",
        },
    )
    del data["code"]

    response = client_for(rep).post(reverse("customers:update", args=[customer.pk]), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "新名称口腔诊所"
    assert list(customer.qualifications.values_list("kind", "number")) == [("medical_institution_licence", "PDY-NEW")]


def test_edit_form_shows_existing_qualifications(rep):
    customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.BUSINESS_LICENCE, None)])

    formset = client_for(rep).get(reverse("customers:update", args=[customer.pk])).context["formset"]

    assert formset.initial == [{"kind": "business_licence", "number": f"PDY{customer.pk:05d}0", "valid_until": None}]


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

    assert results == [{"id": own.pk, "text": str(own), "search": f"{own.search_text} {own.contact_phone}"}]


def test_autocomplete_returns_at_most_thirty(manager):
    f.CustomerFactory.create_batch(31, qualifications=[])

    results = client_for(manager).get(reverse("customers:autocomplete")).json()["results"]

    assert len(results) == 30


def test_autocomplete_needs_login(client):
    assert client.get(reverse("customers:autocomplete")).status_code == 302
