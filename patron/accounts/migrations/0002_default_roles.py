from django.db import migrations


def create_roles(apps, schema_editor):
    from patron.core.permissions import DEFAULT_ROLES

    Role = apps.get_model("accounts", "Role")
    for key, (name, perms, restricted) in DEFAULT_ROLES.items():
        Role.objects.get_or_create(
            key=key,
            defaults={"name": name, "permissions": sorted(perms), "restricted": restricted},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
