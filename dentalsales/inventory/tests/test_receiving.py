"""Receiving inspection, supplier and UDI data, and the refusals of a goods receipt."""

import datetime

import pytest

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    GoodsReceipt,
    InspectionResult,
    Lot,
    LotStatus,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.inventory.services import release_lot_from_quarantine, receive_stock
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def days(n):
    return local_today() + datetime.timedelta(days=n)


def receive(product, warehouse, actor, *, lot_number="R001", quantity=10, production=-30, expiry=720, **extra):
    return receive_stock(
        actor=actor, product=product, warehouse=warehouse, lot_number=lot_number, production_date=days(production),
        expiry_date=days(expiry), quantity=quantity, **extra,
    )


def snapshot():
    return (
        sorted(Lot.objects.values_list("pk", "status")),
        GoodsReceipt.objects.count(),
        StockLedgerEntry.objects.count(),
        sorted(StockBalance.objects.values_list("pk", "on_hand", "reserved")),
    )


def gtin(body13):
    return body13 + gtin_check_digit(body13)


def test_accepted_receipt_keeps_supplier_serial_and_udi(product, warehouse, logistics):
    receipt = receive(
        product, warehouse, logistics, supplier="上海齿科材料有限公司", serial_number="SN-0001", quantity=1,
        udi=f"(01){gtin('0690123456789')}(10)R001(21)SN-0001",
    )

    receipt.refresh_from_db()
    assert receipt.supplier == "上海齿科材料有限公司"
    assert receipt.serial_number == "SN-0001"
    assert receipt.udi == f"(01){gtin('0690123456789')}(10)R001(21)SN-0001"
    assert receipt.inspection_result == InspectionResult.ACCEPTED
    assert StockBalance.objects.get().on_hand == 1


def test_rejected_receipt_changes_no_stock(product, warehouse, logistics):
    receipt = receive(product, warehouse, logistics, inspection_result=InspectionResult.REJECTED, inspection_note="外包装破损")

    assert receipt.inspection_result == InspectionResult.REJECTED
    assert receipt.inspection_note == "外包装破损"
    assert StockLedgerEntry.objects.count() == 0
    assert not StockBalance.objects.filter(on_hand__gt=0).exists()


def test_rejected_receipt_may_record_expired_goods(product, warehouse, logistics):
    receipt = receive(product, warehouse, logistics, expiry=-1, production=-400, inspection_result="rejected", inspection_note="已过期")

    assert receipt.lot.expiry_date == days(-1)
    assert StockLedgerEntry.objects.count() == 0


def test_quarantined_receipt_is_stock_of_a_quarantined_lot(product, warehouse, logistics):
    receive(product, warehouse, logistics, inspection_result=InspectionResult.QUARANTINED, inspection_note="温度记录缺失")

    lot = Lot.objects.get()
    assert lot.status == LotStatus.QUARANTINED
    assert StockBalance.objects.get().on_hand == 10
    assert StockBalance.objects.get().sellable_quantity == 0


def test_quality_officer_releases_quarantined_lot(product, warehouse, logistics, quality):
    receive(product, warehouse, logistics, inspection_result=InspectionResult.QUARANTINED, inspection_note="温度记录缺失")
    lot = Lot.objects.get()

    with pytest.raises(NotPermitted):
        release_lot_from_quarantine(actor=logistics, lot=lot)
    with pytest.raises(InvalidInput):
        release_lot_from_quarantine(actor=quality, lot=lot, note="  ")
    release_lot_from_quarantine(actor=quality, lot=lot, note="温度记录已补齐")

    lot.refresh_from_db()
    assert lot.status == LotStatus.AVAILABLE
    assert lot.history.first().history_change_reason == "温度记录已补齐"
    assert lot.history.first().history_user == quality
    with pytest.raises(InvalidTransition):
        release_lot_from_quarantine(actor=quality, lot=lot, note="再次放行")


@pytest.mark.parametrize("result", [InspectionResult.REJECTED, InspectionResult.QUARANTINED])
def test_rejection_or_quarantine_needs_a_reason(result, product, warehouse, logistics):
    before = snapshot()

    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, inspection_result=result, inspection_note="  ")

    assert list(caught.value.field_errors) == ["inspection_note"]
    assert snapshot() == before


def test_unknown_inspection_result_is_refused(product, warehouse, logistics):
    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, inspection_result="maybe")

    assert "“maybe”" in caught.value.field_errors["inspection_result"][0]
    assert GoodsReceipt.objects.count() == 0


def test_lot_number_of_another_product_is_refused(product, warehouse, logistics):
    other = f.ProductFactory()
    receive(other, warehouse, logistics, lot_number="DUP-1")
    before = snapshot()

    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, lot_number="DUP-1")

    message = caught.value.field_errors["lot_number"][0]
    assert "DUP-1" in message
    assert other.name in message
    assert snapshot() == before


def test_expiry_before_production_names_both_dates(product, warehouse, logistics):
    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, production=-10, expiry=-20)

    message = caught.value.field_errors["expiry_date"][0]
    assert str(days(-20)) in message
    assert str(days(-10)) in message
    assert Lot.objects.count() == 0


def test_expired_registration_is_refused_for_sale(warehouse, logistics):
    product = f.ProductFactory(registration_valid_until=days(-1))

    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics)

    assert list(caught.value.field_errors) == ["product"]
    assert product.registration_number in caught.value.field_errors["product"][0]
    assert GoodsReceipt.objects.count() == 0


def test_registration_valid_through_today_is_accepted(warehouse, logistics):
    product = f.ProductFactory(registration_valid_until=days(0))

    receive(product, warehouse, logistics)

    assert StockBalance.objects.get().on_hand == 10


def test_udi_with_other_lot_is_refused(product, warehouse, logistics):
    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, lot_number="R001", udi=f"(01){gtin('0690123456789')}(10)R999")

    assert "R999" in caught.value.field_errors["udi"][0]
    assert GoodsReceipt.objects.count() == 0


def test_udi_with_other_product_identifier_is_refused(warehouse, logistics):
    product = f.ProductFactory(udi_di=gtin("0690123456789"))
    foreign = gtin("0690123456788")

    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, lot_number="R001", udi=f"(01){foreign}(10)R001")

    assert foreign in caught.value.field_errors["udi"][0]


def test_matching_udi_is_accepted(warehouse, logistics):
    di = gtin("0690123456789")
    product = f.ProductFactory(udi_di=di)
    expiry = days(720)

    receive(product, warehouse, logistics, lot_number="R001", udi=f"(01){di}(17){expiry:%y%m%d}(10)R001")

    assert GoodsReceipt.objects.get().udi.startswith("(01)")


def test_malformed_udi_is_refused_with_the_value(product, warehouse, logistics):
    with pytest.raises(InvalidInput) as caught:
        receive(product, warehouse, logistics, udi="(01)123")

    assert "(01)123" in caught.value.field_errors["udi"][0]
    assert GoodsReceipt.objects.count() == 0
