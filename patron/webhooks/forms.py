"""The endpoint form: which fields the page offers. Validation lives in the services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.forms.boundfield import BoundField

from patron.webhooks.models import EVENT_TYPES, WebhookEndpoint


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    url = forms.CharField(
        max_length=2000,
        label="URL",
        help_text="https:// only. Private, loopback and cloud-metadata addresses are refused.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/patron"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )
    segment_ids = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these segments",
        help_text="Leave all unticked for every segment.",
    )
    sections = [("Endpoint", ["name", "url"]), ("Subscriptions", ["event_types", "segment_ids"])]

    def __init__(
        self, *args: Any, segments: Iterable[tuple[int, str]], instance: Any = None, **kw: Any
    ) -> None:
        self.instance: WebhookEndpoint | None = instance
        if instance is not None:
            kw.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "url": instance.url,
                    "event_types": list(instance.event_types or []),
                    "segment_ids": [str(s) for s in instance.segment_ids or []],
                },
            )
        super().__init__(*args, **kw)
        field = self.fields["segment_ids"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(pk), name) for pk, name in segments]

    def grouped(self) -> list[tuple[str, list[BoundField]]]:
        return [(title, [self[n] for n in names]) for title, names in self.sections]

    def to_service_data(self) -> dict[str, Any]:
        names = list(self.fields) if self.instance is None else list(self.changed_data)
        data = {n: self.cleaned_data.get(n) for n in names}
        if "segment_ids" in data:
            data["segment_ids"] = [int(v) for v in data["segment_ids"] or []]
        return data

    def add_service_errors(self, message_dict: Mapping[str, Iterable[str]]) -> None:
        for key, messages in message_dict.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
