from django.db import migrations

EXPORT_ROLES = ("manager", "administrator")


def verify_existing_qualifications(apps, schema_editor):
    # Qualifications entered before verification existed were already
    # checked on paper, so they keep counting in order review.
    Qualification = apps.get_model("customers", "Qualification")
    Qualification.objects.update(verification_status="verified")


def grant_export_contacts(apps, schema_editor):
    # Permissions are normally created after all migrations have run, so
    # create this one now for the grant below.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="customers", model="contact")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="export_contacts", defaults={"name": "Can export customer contacts"}
    )
    for name in EXPORT_ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)


def revoke_export_contacts(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="customers", codename="export_contacts").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_create_role_groups"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0002_profile_contacts_grading"),
    ]

    operations = [
        migrations.RunPython(verify_existing_qualifications, migrations.RunPython.noop),
        migrations.RunPython(grant_export_contacts, revoke_export_contacts),
    ]
