"""Set ``requires_drug_licence`` on the products that the order review recognised as drugs by name.

Before the flag existed, a product counted as a drug (a dental local
anaesthetic) when its name, English name or the name of one of its
categories contained one of these markers. The markers are frozen here
because the review now reads only the flag.
"""

from django.db import migrations

DRUG_NAME_MARKERS = ("麻醉", "卡因", "anaesthe", "anesthe", "articaine", "lidocaine", "mepivacaine", "prilocaine")


def _names(product, categories):
    names = [product.name, product.name_en]
    category = categories.get(product.category_id)
    while category is not None:
        names += [category.name, category.name_en]
        category = categories.get(category.parent_id)
    return " ".join(name for name in names if name).lower()


def flag_drug_products(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    Product = apps.get_model("catalog", "Product")

    categories = Category.objects.in_bulk()
    drug_ids = [
        product.pk
        for product in Product.objects.only("pk", "name", "name_en", "category_id").iterator()
        if any(marker in _names(product, categories) for marker in DRUG_NAME_MARKERS)
    ]
    Product.objects.filter(pk__in=drug_ids).update(requires_drug_licence=True)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_product_requires_drug_licence")]

    operations = [migrations.RunPython(flag_drug_products, migrations.RunPython.noop)]
