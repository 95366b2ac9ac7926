"""Forms of the hygiene pages: explicit fields only (no model forms, no mass assignment)."""

from __future__ import annotations

from typing import Any

from django import forms

from patron.hygiene.models import HygieneSettings, MergeRecord

SIDE_CHOICES = [("", "Rule decides"), ("survivor", "Keep"), ("merged", "Take")]


class MergeForm(forms.Form):
    """The survivorship rule and, per field group, which contact's value survives."""

    rule = forms.ChoiceField(choices=MergeRecord.Rule.choices, initial="most_complete")

    def __init__(self, *args: Any, units: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for unit in units:
            self.fields[f"pick_{unit}"] = forms.ChoiceField(
                choices=[("", "Rule decides"), ("survivor", "Survivor"), ("merged", "Merged")],
                required=False,
            )


class SettingsForm(forms.Form):
    auto_merge_enabled = forms.BooleanField(required=False, label="Merge automatically")
    auto_merge_threshold = forms.FloatField(
        min_value=HygieneSettings.AUTO_MERGE_FLOOR,
        max_value=1.0,
        label="Above this score",
    )
    auto_merge_rule = forms.ChoiceField(choices=MergeRecord.Rule.choices, label="Survivorship rule")


class StaleTagForm(forms.Form):
    stale_months = forms.IntegerField(min_value=1, max_value=120, initial=12)
    tag = forms.CharField(max_length=80, initial="stale")
