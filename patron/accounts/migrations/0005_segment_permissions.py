from django.db import migrations

# The segment permissions (issue 6), granted to the built-in roles that have them in
# DEFAULT_ROLES (manage: admin, manager, marketing; view: also sales and support).
NEW_CODES = ("segment.view", "segment.manage")


def grant(apps, schema_editor):
    from patron.core.permissions import DEFAULT_ROLES

    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(key__in=list(DEFAULT_ROLES)):
        wanted = {c for c in NEW_CODES if c in DEFAULT_ROLES[role.key][1]}
        missing = wanted - set(role.permissions or [])
        if missing:
            role.permissions = sorted(set(role.permissions or []) | missing)
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.all():
        kept = [c for c in role.permissions or [] if c not in NEW_CODES]
        if kept != role.permissions:
            role.permissions = kept
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_import_permission")]
    operations = [migrations.RunPython(grant, revoke)]
