from django.db import migrations

# The import permission (issue 5), granted to the built-in roles that have it in
# DEFAULT_ROLES (admin, manager, marketing); roles created before it existed lack it.
NEW_CODES = ("data.import",)


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
    dependencies = [("accounts", "0003_hygiene_permissions")]
    operations = [migrations.RunPython(grant, revoke)]
