"""Forms of the Sources pages: explicit fields only (no model forms, no mass assignment)."""

from __future__ import annotations

from django import forms


class SourceForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name", help_text="What sends the events.")


class RotateForm(forms.Form):
    grace_hours = forms.FloatField(
        min_value=0,
        max_value=720,
        initial=24,
        label="Old key works for (hours)",
    )


class ActiveForm(forms.Form):
    active = forms.BooleanField(required=False)
