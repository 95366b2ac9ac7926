"""Internal targets are refused at save time and at send time, in every notation.

No test here sends a byte to a refused address: refusal happens before connecting
(the receiver tests prove that allowed requests do reach the checked address).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services import endpoint_create, endpoint_send_test
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.ssrf import UnsafeURL, check_url, is_forbidden

INTERNAL = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3/hook",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://[::1]/hook",
    "https://[::]/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[::ffff:169.254.169.254]/",
    "https://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://0177.0.0.1/hook",
    "https://0x7f.1/hook",
    "https://127.0.0.1.:8443/hook",
    "https://localhost/hook",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_at_save_time(url: str, db: None) -> None:
    with pytest.raises(UnsafeURL, match="private, loopback or reserved"):
        check_url(url)


def test_a_hostname_resolving_to_loopback_is_refused(fake_dns: Any, admin_user_p: Any) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(ValidationError) as err:
        endpoint_create(
            actor=admin_user_p,
            data={
                "name": "x",
                "url": "https://hooks.example.com/in",
                "event_types": ["segment.entered"],
            },
        )
    assert "url" in err.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_public_addresses_pass(fake_dns: Any) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    target = check_url("https://hooks.example.com:8443/in?x=1")
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com",
        8443,
        "/in?x=1",
        "93.184.216.34",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.216.34/", "https"),
        ("ftp://93.184.216.34/", "https"),
        ("javascript:alert(1)", "https"),
        ("https://user:pw@93.184.216.34/", "Credentials"),
        ("https:///nohost", "no host"),
        ("https://93.184.216.34:99999/", "not valid"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/\r\nX-Evil: 1", "control"),
        ("https://" + "a" * 2001 + ".com/", "longer"),
        ("", "Enter a URL"),
        ("https://" + "a" * 64 + ".example.com/", "host name is not valid"),
    ],
)
def test_malformed_urls_are_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match=message):
        check_url(url)


def test_international_names_are_resolved_in_their_dns_form(fake_dns: Any) -> None:
    fake_dns({"xn--bcher-kva.example": ["93.184.216.34"]})
    assert check_url("https://bücher.example/in").host == "xn--bcher-kva.example"


def test_is_forbidden_covers_the_ipaddress_categories() -> None:
    import ipaddress

    assert not is_forbidden(ipaddress.ip_address("93.184.216.34"))
    assert not is_forbidden(ipaddress.ip_address("2606:2800:220:1::1"))
    assert is_forbidden(ipaddress.ip_address("::ffff:10.1.2.3"))


def test_send_time_check_catches_dns_rebinding(
    fake_dns: Any, admin_user_p: Any, settings: Any
) -> None:
    """Public when saved, loopback when sent: refused, nothing sent, not retried."""
    fake_dns({"rebind.example.com": ["93.184.216.34"]})
    endpoint, _ = endpoint_create(
        actor=admin_user_p,
        data={
            "name": "rebind",
            "url": "https://rebind.example.com/in",
            "event_types": ["segment.entered"],
        },
    )
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    fake_dns({"rebind.example.com": ["127.0.0.1"]})
    deliveries_send_due(max_seconds=5)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("refused:")
    assert delivery.last_status_code is None


def test_allowed_private_setting_is_off_by_default() -> None:
    from patron.webhooks import conf

    # Neither the environment nor the test settings set it: the production rule applies.
    assert conf.allow_private() is False
