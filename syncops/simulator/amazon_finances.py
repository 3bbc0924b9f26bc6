"""Amazon's settlements for the simulated seller: financial event groups and their events.

Shapes from the Finances API v0 model (financesV0.json): ``listFinancialEventGroups`` and
``listFinancialEventsByGroupId``. Every priced order the buyer places posts a ``ShipmentEvent``
into the open group (Amazon posts it when the order ships; the simulator does not model the
gap): per item ``Principal``, ``Tax`` and ``ShippingCharge`` charges, a ``PromotionList`` discount,
the ``MarketplaceFacilitatorTax-Principal`` Amazon withholds and remits, and the ``Commission``
(15 %, Amazon's list referral fee for most categories) and, for FBA orders,
``FBAPerUnitFulfillmentFee`` fees. ``service_fee`` posts a ``ServiceFeeEvent`` (the monthly
subscription). ``settle()`` closes the open group with ``FundTransferStatus: Succeeded`` and the
sum of its events as ``OriginalTotal`` (``skew`` makes that total disagree with its events) and
opens the next one. Money is ``{"CurrencyCode", "CurrencyAmount"}`` (a number), fees negative.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

COMMISSION = Decimal("0.15")
FBA_FEE = Decimal("3.22")  # per unit, a small standard-size item
SUBSCRIPTION = Decimal("39.99")
_CENT = Decimal("0.01")


def _c(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


class AmazonFinanceBook:
    def __init__(self, currency: str, clock: Callable[[], float], iso: Callable[[float], str]) -> None:
        self.currency = currency
        self.clock = clock
        self.iso = iso
        self.groups: dict[str, dict[str, Any]] = {}  # id -> FinancialEventGroup, oldest first
        self.events: dict[str, dict[str, list[dict[str, Any]]]] = {}  # group id -> FinancialEvents lists
        self._seq = 0
        self._open: str | None = None

    def _money(self, amount: Decimal) -> dict[str, Any]:
        return {"CurrencyCode": self.currency, "CurrencyAmount": float(amount)}

    def _open_group(self, now: float) -> str:
        if self._open is None:
            self._seq += 1
            gid = f"SIM-FEG-{self._seq:06d}-{int(now) % 100000:05d}"
            self.groups[gid] = {"FinancialEventGroupId": gid, "ProcessingStatus": "Open",
                                "FundTransferStatus": "Unknown", "OriginalTotal": self._money(Decimal(0)),
                                "BeginningBalance": self._money(Decimal(0)),
                                "FinancialEventGroupStart": self.iso(now)}
            self.events[gid] = {}
            self._open = gid
        return self._open

    def _post(self, kind: str, event: dict[str, Any], now: float) -> None:
        gid = self._open_group(now)
        self.events[gid].setdefault(kind, []).append(event)

    def shipment(self, order: dict[str, Any], now: float | None = None) -> None:
        now = self.clock() if now is None else now
        items = []
        for n, li in enumerate(order["lines"]):
            principal = li["price"] * li["qty"]
            charges = [("Principal", principal), ("Tax", li["tax"]), ("ShippingCharge", li["ship"]),
                       ("ShippingTax", li["ship_tax"])]
            fees = [("Commission", -_c((principal + li["ship"] - li["promo"]) * COMMISSION))]
            if order["channel"] == "AFN":
                fees.append(("FBAPerUnitFulfillmentFee", -FBA_FEE * li["qty"]))
            item: dict[str, Any] = {
                "SellerSKU": li["sku"], "OrderItemId": f"{order['n']:06d}{n:08d}", "QuantityShipped": li["qty"],
                "ItemChargeList": [{"ChargeType": t, "ChargeAmount": self._money(a)} for t, a in charges if a],
                "ItemFeeList": [{"FeeType": t, "FeeAmount": self._money(a)} for t, a in fees if a],
                # Amazon collects and remits US sales tax as the marketplace facilitator.
                "ItemTaxWithheldList": [{"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": [
                    {"ChargeType": "MarketplaceFacilitatorTax-Principal",
                     "ChargeAmount": self._money(-(li["tax"] + li["ship_tax"]))}]}] if li["tax"] else [],
                "PromotionList": [{"PromotionType": "PromotionMetaDataDefinitionValue",
                                   "PromotionId": f"SIM-PROMO-{order['n']}",
                                   "PromotionAmount": self._money(-li["promo"])}] if li["promo"] else [],
            }
            items.append(item)
        self._post("ShipmentEventList", {"AmazonOrderId": order["id"], "SellerOrderId": order["id"],
                                         "MarketplaceName": "Amazon.com", "PostedDate": self.iso(now),
                                         "ShipmentItemList": items}, now)

    def service_fee(self, amount: Decimal = SUBSCRIPTION, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self._post("ServiceFeeEventList", {"FeeReason": "Subscription", "FeeDescription": "Subscription Fee",
                                           "FeeList": [{"FeeType": "Subscription",
                                                        "FeeAmount": self._money(-amount)}]}, now)

    @property
    def pending(self) -> int:
        return sum(len(v) for v in self.events.get(self._open or "", {}).values())

    def settle(self, now: float | None = None, *, skew: Decimal = Decimal("0")) -> str | None:
        """Close the open group and transfer its total; None when it holds no events."""
        if not self.pending:
            return None
        now = self.clock() if now is None else now
        gid, self._open = self._open, None
        total = sum((_event_total(e) for events in self.events[gid].values() for e in events), Decimal(0))
        self.groups[gid].update({"ProcessingStatus": "Closed", "FundTransferStatus": "Succeeded",
                                 "OriginalTotal": self._money(total + skew), "FundTransferDate": self.iso(now),
                                 "FinancialEventGroupEnd": self.iso(now), "TraceId": f"TRACE{self._seq:08d}",
                                 "AccountTail": "123"})
        return gid

    def state(self) -> list[dict[str, Any]]:
        return [{"id": gid, "status": g["ProcessingStatus"], "transfer": g["FundTransferStatus"],
                 "total": str(g["OriginalTotal"]["CurrencyAmount"])} for gid, g in self.groups.items()]


def _event_total(event: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for item in event.get("ShipmentItemList", []):
        for key, amount in (("ItemChargeList", "ChargeAmount"), ("ItemFeeList", "FeeAmount")):
            total += sum((Decimal(str(x[amount]["CurrencyAmount"])) for x in item.get(key, [])), Decimal(0))
        total += sum((Decimal(str(p["PromotionAmount"]["CurrencyAmount"])) for p in item.get("PromotionList", [])),
                     Decimal(0))
        for withheld in item.get("ItemTaxWithheldList", []):
            total += sum((Decimal(str(t["ChargeAmount"]["CurrencyAmount"])) for t in withheld["TaxesWithheld"]),
                         Decimal(0))
    total += sum((Decimal(str(f["FeeAmount"]["CurrencyAmount"])) for f in event.get("FeeList", [])), Decimal(0))
    return _c(total)
