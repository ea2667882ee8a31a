"""Validators for Chinese identifiers used across the domain."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015 统一社会信用代码: 18 characters from this 31-character set
# (no I, O, S, V, Z); character 18 is a check character over the first 17.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def normalize_uscc(value):
    return (value or "").strip().upper().replace(" ", "")


def uscc_check_character(first17):
    """Return the GB 32100 check character for the first 17 characters of a code."""
    total = sum(USCC_CHARSET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_problem(value):
    """Return why ``value`` is not a valid 统一社会信用代码, or None if it is valid.

    Two kinds of problem exist: ``"shape"`` (wrong length or characters, never
    accepted) and ``"check"`` (the check character differs, which some early
    pilot codes do and which may be accepted with a stated reason).
    """
    code = normalize_uscc(value)
    if not USCC_SHAPE.match(code):
        return "shape"
    if uscc_check_character(code[:17]) != code[17]:
        return "check"
    return None


def validate_uscc_shape(value):
    if uscc_problem(value) == "shape":
        raise ValidationError(
            _("“%(value)s” is not a unified social credit code: it needs 18 digits or capital letters (no I, O, S, V or Z)."),
            code="uscc_shape",
            params={"value": value},
        )


# NMPA registration certificate: 国械注准20173170123 (domestic class III),
# 粤械注准20172170123 (domestic class II, province abbreviation), 国械注进 for
# imports, 国械注许 for Hong Kong, Macao and Taiwan. The 11 digits are the
# year (4), the device class (1), the category (2) and a serial (4).
PROVINCE_ABBREVIATIONS = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵黔云滇藏陕秦甘陇青宁新"
REGISTRATION_PATTERN = re.compile(
    rf"^(?P<authority>国|[{PROVINCE_ABBREVIATIONS}])械注(?P<origin>[准进许])(?P<year>[0-9]{{4}})(?P<device_class>[23])(?P<category>[0-9]{{2}})(?P<serial>[0-9]{{4}})$"
)
# Class I record (备案凭证): 京械备20150012号, or with a city abbreviation
# (京朝械备20150012号), or 国械备 for imports.
RECORD_PATTERN = re.compile(
    rf"^(?P<authority>国|[{PROVINCE_ABBREVIATIONS}][\u4e00-\u9fa5]{{0,3}})械备(?P<year>[0-9]{{4}})(?P<serial>[0-9]{{4,5}})号$"
)
# Certificates issued before the 2014 regulation and still seen on old stock:
# 国食药监械(准)字2012第3630001号, 粤食药监械(准)字2012第2630001号.
LEGACY_PATTERN = re.compile(
    rf"^(?P<authority>国|[{PROVINCE_ABBREVIATIONS}])食?药监械[(（](?P<origin>[准进许])[)）]字(?P<year>[0-9]{{4}})第(?P<device_class>[123])(?P<serial>[0-9]{{6}})号$"
)


def parse_registration_number(value):
    """Return ``(kind, parts)`` for an NMPA number, kind being registration, record or legacy; None if malformed."""
    text = (value or "").strip()
    for kind, pattern in (("registration", REGISTRATION_PATTERN), ("record", RECORD_PATTERN), ("legacy", LEGACY_PATTERN)):
        match = pattern.match(text)
        if match:
            parts = match.groupdict()
            if kind == "registration" and not _registration_authority_fits(parts):
                return None
            return kind, parts
    return None


def _registration_authority_fits(parts):
    """Tell whether the issuing authority may issue this certificate.

    The NMPA (国) registers domestic class III devices, imports (进) and
    products from Hong Kong, Macao and Taiwan (许); a province registers only
    domestic (准) class II devices.
    """
    if parts["authority"] == "国":
        return parts["origin"] != "准" or parts["device_class"] == "3"
    return parts["origin"] == "准" and parts["device_class"] == "2"


def validate_registration_number(value):
    if parse_registration_number(value) is None:
        raise ValidationError(
            _(
                "“%(value)s” is not an NMPA registration or record number. "
                "Expected forms: 国械注准20173170123, 粤械注准20172170123, 京械备20150012号 "
                "or 国食药监械(准)字2012第3630001号."
            ),
            code="registration_number",
            params={"value": value},
        )


MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(value):
    """Strip spaces, hyphens and a leading +86 or 0086 from a phone number typed or pasted by a user."""
    text = str(value or "").strip().replace(" ", "").replace("-", "").replace("\u3000", "")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def is_mainland_mobile(value):
    """Tell whether ``value`` is a mainland China mobile number: 11 digits starting with 13 to 19."""
    return bool(MOBILE_PATTERN.match(normalize_phone(value)))


def validate_mobile(value):
    if not is_mainland_mobile(value):
        raise ValidationError(
            _("“%(value)s” is not a mainland mobile number: it needs 11 digits starting with 13 to 19."),
            code="mobile",
            params={"value": value},
        )
