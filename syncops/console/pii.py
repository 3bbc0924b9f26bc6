"""What the console shows of customer data before a technician reveals it (the reveal is audited).

Canonical payloads are masked by the model layer's rules (models.mask_pii). Source payloads
are vendor-shaped, so the model's paths do not apply: mask by key name instead, erring on
the side of hiding too much.
"""

from __future__ import annotations

import re
from typing import Any

from syncops.models import mask_email, mask_name, mask_phone, mask_pii

MASK = "***"
_EMAIL = re.compile(r"e-?mail", re.I)
_PHONE = re.compile(r"phone|mobile|tel\b", re.I)
_NAME = re.compile(r"(^|_)(first|last|given|family|full|display)?_?name$", re.I)
_ADDRESS = re.compile(r"address|street|line[12]|postal|zip|postcode|city", re.I)
# "name" under these keys is a person; elsewhere ("product.name") it is not PII.
_PERSON = re.compile(r"customer|buyer|billing|shipping|recipient|contact|partner|client|person", re.I)


def mask_canonical(entity: str, payload: Any) -> Any:
    if not isinstance(payload, dict):
        return payload
    try:
        return mask_pii(entity, payload)
    except ValueError:  # unknown entity: hide everything rather than leak
        return mask_source(payload)


def _mask_scalar(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    text = str(value)
    if _EMAIL.search(key):
        return mask_email(text)
    if _PHONE.search(key):
        return mask_phone(text)
    if _NAME.search(key):
        return mask_name(text)
    return MASK


def mask_source(data: Any, *, in_person: bool = False, key: str = "") -> Any:
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            person = in_person or bool(_PERSON.search(str(k)))
            ks = str(k)
            if isinstance(v, (dict, list)):
                if _ADDRESS.search(ks) and person:
                    out[k] = _mask_address(v)
                else:
                    out[k] = mask_source(v, in_person=person, key=ks)
            elif _EMAIL.search(ks) or _PHONE.search(ks) or (person and (_NAME.search(ks) or _ADDRESS.search(ks))):
                out[k] = _mask_scalar(ks, v)
            else:
                out[k] = v
        return out
    if isinstance(data, list):
        return [mask_source(v, in_person=in_person, key=key) for v in data]
    return data


def _mask_address(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v if str(k).lower() in ("country", "country_code") or v is None else MASK)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_address(v) for v in value]
    return MASK
