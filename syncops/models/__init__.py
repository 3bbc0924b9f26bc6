"""Canonical retail models: the shape every entity has between source and target."""

from .base import (Amount, CanonicalModel, Currency, Entity, Identifier, Money, NonNegativeMoney, Ref, Text,
                   WholeNumber)
from .catalog import ProductVariant
from .common import TOTAL_TOLERANCE, Address, Customer, Location, money_sum, within_tolerance
from .errors import PayloadInvalid, format_loc
from .inventory import InventoryPosition
from .journal import JournalEntry, JournalLine
from .orders import OrderLine, Payment, SalesOrder, TaxLine
from .pii import PII_FIELDS, mask_email, mask_name, mask_phone, mask_pii
from .pricing import Price
from .registry import ENTITIES, FLOW_ENTITIES, entity_key, model_for, validate_payload
from .returns import ReturnLine, ReturnRefund
from .samples import sample_payload
from .settlement import Settlement, SettlementLine

__all__ = [
    "ENTITIES",
    "FLOW_ENTITIES",
    "PII_FIELDS",
    "TOTAL_TOLERANCE",
    "Address",
    "Amount",
    "CanonicalModel",
    "Currency",
    "Customer",
    "Entity",
    "Identifier",
    "InventoryPosition",
    "JournalEntry",
    "JournalLine",
    "Location",
    "Money",
    "NonNegativeMoney",
    "OrderLine",
    "PayloadInvalid",
    "Payment",
    "Price",
    "ProductVariant",
    "Ref",
    "ReturnLine",
    "ReturnRefund",
    "SalesOrder",
    "Settlement",
    "SettlementLine",
    "TaxLine",
    "Text",
    "WholeNumber",
    "entity_key",
    "format_loc",
    "mask_email",
    "mask_name",
    "mask_phone",
    "mask_pii",
    "model_for",
    "money_sum",
    "sample_payload",
    "validate_payload",
    "within_tolerance",
]
