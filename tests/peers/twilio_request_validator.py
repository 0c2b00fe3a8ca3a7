"""Twilio's own request-signing fixtures, rebuilt from twilio-python's
tests/unit/test_request_validator.py (github.com/twilio/twilio-python, class ValidationTest):
its auth token, its request URL with and without ports, its webhook parameters, the
repeated key `Digits=5678&Digits=1234` (sent once more as 1234, as its newest test does) and
the signatures that test expects. Each case is what Twilio would POST: the URL it called,
the form fields in the order sent, and the X-Twilio-Signature header.

Left out: test_validation_of_body_succeeds, a JSON body signed through `bodySHA256` in the
query string; Twilio's voice webhooks are always form-encoded, and ours refuse any other body.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTH_TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PATH = "/myapp.php?foo=1&bar=2"

PARAMS: tuple[tuple[str, str], ...] = (
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
)
# test_compute_signature_duplicate_multi_dict / _query_dict: keys sorted, each key's values
# sorted, duplicates dropped; every value of Digits is signed.
DUPLICATE_PARAMS: tuple[tuple[str, str], ...] = (
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "1234"),
)


@dataclass(frozen=True)
class SignedRequest:
    name: str  # the twilio-python test it comes from
    url: str  # as Twilio called it
    params: tuple[tuple[str, str], ...]
    signature: str

    @property
    def origin(self) -> str:
        """scheme://host[:port], what CONTACTDESK_PUBLIC_URL says for this request."""
        return self.url[: self.url.index("/", len("https://"))]


CASES = (
    SignedRequest("test_validation", URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    SignedRequest(
        "test_compute_signature_duplicate_multi_dict", URL, DUPLICATE_PARAMS, "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    ),
    SignedRequest(
        "test_validation_removes_port_on_https",
        "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
        PARAMS,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    ),
    SignedRequest(
        "test_validation_removes_port_on_http",
        "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
        PARAMS,
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
    ),
    SignedRequest("test_validation_adds_port_on_https", URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w="),
    SignedRequest(
        "test_validation_adds_port_on_http",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        PARAMS,
        "0ZXoZLH/DfblKGATFgpif+LLRf4=",
    ),
)
