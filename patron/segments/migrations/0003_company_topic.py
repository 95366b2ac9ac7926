"""Segments with company-field rules also depend on the ``company`` topic (company edits
re-evaluate the company's contacts for those segments only)."""

from typing import Any

from django.db import migrations


def _uses_company_field(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("kind") == "field" and str(node.get("field", "")).startswith("company."):
            return True
        return any(_uses_company_field(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_company_field(v) for v in node)
    return False


def forwards(apps: Any, schema_editor: Any) -> None:
    Segment = apps.get_model("segments", "Segment")
    for seg in Segment.objects.only("pk", "rules", "depends_on"):
        if _uses_company_field(seg.rules) and "company" not in seg.depends_on:
            seg.depends_on = sorted({*seg.depends_on, "company"})
            seg.save(update_fields=["depends_on"])


class Migration(migrations.Migration):
    dependencies = [("segments", "0002_install_templates")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
