"""Smoke test: Chromium opens the login page and it renders in Simplified Chinese."""

import re

import pytest

pytestmark = pytest.mark.browser

CHINESE_CHARACTER = re.compile(r"[\u4e00-\u9fff]")


def test_login_page_renders_in_chinese(page, screenshot):
    response = page.goto("/accounts/login/")

    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert CHINESE_CHARACTER.search(page.title()), page.title()
    # "Log in" comes from Django's own catalogue; the tagline needs the project's.
    assert CHINESE_CHARACTER.search(page.locator("button[type=submit]").inner_text())
    assert CHINESE_CHARACTER.search(page.locator("main h1 + p").inner_text())
    assert page.locator("input[name=username]").is_visible()
    assert page.locator("input[name=password]").is_visible()
    screenshot("login")
