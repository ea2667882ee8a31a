"""Customer profile in Chromium: the representative adds a contact and an address, the quality officer verifies.

Selectors rely on form field names and data-* hooks; each step checks the database too.
"""

import re

import pytest
from playwright.sync_api import expect

from dentalsales.customers.models import Contact, DeliveryAddress, VerificationStatus
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DETAIL_URL = re.compile(r"/customers/\d+/(#\w+)?$")


def log_in(page, user):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


def log_out(page):
    page.locator("nav form[action$='/accounts/logout/'] button[type=submit]").click()


def test_profile_and_verification_flow(page, screenshot, rep, quality, customer, regions):
    customer.qualifications.update(verification_status=VerificationStatus.PENDING)
    log_in(page, rep)
    page.goto(f"/customers/{customer.pk}/")

    page.locator("[data-testid=add-contact]").click()
    page.locator("input[name=name]").fill("王建华")
    page.locator("input[name=mobile]").fill("1380013")
    page.locator("[data-testid=profile-form] button[type=submit]").click()
    expect(page.locator("[data-error-for=mobile]")).to_contain_text("1380013")
    page.locator("input[name=mobile]").fill("138 0013 8000")
    page.locator("select[name=decision_role]").select_option("decision_maker")
    page.locator("[data-testid=profile-form] button[type=submit]").click()
    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator("[data-testid=contact-table]")).to_contain_text("13800138000")
    assert Contact.objects.get().mobile == "13800138000"

    page.locator("[data-testid=add-address]").click()
    page.locator("select[name=province]").select_option(label="四川省")
    expect(page.locator("select[name=city] option", has_text="成都市")).to_have_count(1)
    page.locator("select[name=city]").select_option(label="成都市")
    expect(page.locator("select[name=region] option", has_text="锦江区")).to_have_count(1)
    page.locator("select[name=region]").select_option(label="锦江区")
    page.locator("input[name=detail]").fill("春熙路 8 号 3 楼")
    page.locator("input[name=recipient]").fill("前台")
    page.locator("input[name=recipient_phone]").fill("028-86661234")
    page.locator("[data-testid=profile-form] button[type=submit]").click()
    expect(page.locator("[data-testid=address-table]")).to_contain_text("锦江区")
    assert DeliveryAddress.objects.get().region.code == "510104"
    screenshot("rep-profile")

    log_out(page)
    log_in(page, quality)
    page.goto("/customers/qualifications/verification/")
    expect(page.locator("[data-testid=verification-table]")).to_contain_text(customer.name)
    assert "王建华" not in page.content()
    screenshot("quality-queue")
    page.locator("[data-testid=verify]").first.click()
    expect(page.locator("[data-testid=verification-table]")).not_to_contain_text(customer.name)
    assert customer.qualifications.get().verification_status == VerificationStatus.VERIFIED


def test_device_class_checkboxes_are_clickable_and_saved(page, screenshot, rep, customer):
    log_in(page, rep)
    page.goto(f"/customers/{customer.pk}/qualifications/new/")

    # Each option is a normal check with its own label; a plain click must reach it.
    for index in (1, 2):
        page.locator(f"#id_device_classes_{index}").click(timeout=3000)
    box = page.locator("fieldset[data-choice-group=device_classes]").bounding_box()
    assert box["width"] > 200 and box["height"] < 120
    screenshot("device-classes")
    page.locator("select[name=kind]").select_option("device_business_licence")
    page.locator("input[name=number]").fill("沪徐食药监械经营许20260001")
    page.locator("[data-testid=profile-form] button[type=submit]").click()

    expect(page).to_have_url(DETAIL_URL)
    assert customer.qualifications.get(number="沪徐食药监械经营许20260001").device_classes == ["II", "III"]
