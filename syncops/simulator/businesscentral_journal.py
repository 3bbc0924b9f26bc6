"""General journals of the simulated Business Central company (API v2.0 shapes).

- ``GET journals`` ($filter ``code eq '...'``);
- ``GET|POST journals(<id>)/journalLines`` ($filter ``documentNumber eq '...'``), ``DELETE
  journals(<id>)/journalLines(<lineId>)``;
- ``POST journals(<id>)/Microsoft.NAV.post``: posts every line of the batch, as BC does. Each
  document number must balance (debits = credits), or nothing is posted (400
  ``Application_DialogException``); posted lines leave the journal as ``generalLedgerEntries``
  (``GET generalLedgerEntries``, $filter ``documentNumber eq '...'``).

Journal line ``amount`` is signed the BC way: positive debits, negative credits. Only
``accountType: "G/L Account"`` is served; an account number not in the chart is 400.
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from syncops.simulator.http import Response, json_response

LINE_FIELDS = ("accountType", "accountNumber", "postingDate", "documentNumber", "externalDocumentNumber",
               "amount", "description")


class Journals:
    def __init__(self, accounts: set[str], iso: Callable[[], str], err: Callable[..., Response],
                 codes: tuple[str, ...] = ("GENERAL", "SYNCOPS")) -> None:
        self.accounts = accounts  # the company's chart (shared with the app)
        self.iso = iso
        self.err = err
        self.journals = {str(uuid.uuid5(uuid.NAMESPACE_URL, f"journal:{c}")): {"code": c, "lines": {}}
                         for c in codes}
        self.ledger: list[dict[str, Any]] = []
        self._entry = itertools.count(1)
        self._line = itertools.count(10000, 10000)

    def _journal_out(self, jid: str) -> dict[str, Any]:
        j = self.journals[jid]
        return {"id": jid, "code": j["code"], "displayName": f"{j['code'].title()} journal",
                "templateDisplayName": "GENERAL", "lastModifiedDateTime": self.iso(),
                "balancingAccountId": "00000000-0000-0000-0000-000000000000", "balancingAccountNumber": ""}

    def list_journals(self, flt: tuple[str, str] | None) -> Response:
        rows = [self._journal_out(jid) for jid in self.journals]
        if flt is not None:
            if flt[0] != "code":
                return self.err(400, "BadRequest", f"Could not parse filter on '{flt[0]}'.")
            rows = [r for r in rows if r["code"] == flt[1]]
        return json_response({"value": rows})

    def lines(self, method: str, jid: str | None, line_id: str | None, body: Any,
              flt: tuple[str, str] | None) -> Response:
        journal = self.journals.get(jid or "")
        if journal is None:
            return self.err(404, "BadRequest_NotFound", f"The journal {jid} does not exist.")
        lines = journal["lines"]
        if method == "GET" and line_id is None:
            rows = list(lines.values())
            if flt is not None:
                if flt[0] != "documentNumber":
                    return self.err(400, "BadRequest", f"Could not parse filter on '{flt[0]}'.")
                rows = [r for r in rows if r["documentNumber"] == flt[1]]
            return json_response({"value": rows})
        if method == "POST" and line_id is None:
            return self._create(jid or "", journal, body)
        if method == "DELETE" and line_id is not None:
            if lines.pop(line_id, None) is None:
                return self.err(404, "BadRequest_NotFound", f"The journal line {line_id} does not exist.")
            return Response(204)
        return self.err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")

    def _create(self, jid: str, journal: dict[str, Any], body: Any) -> Response:
        if not isinstance(body, dict):
            return self.err(400, "BadRequest", "The request body is not a JSON object.")
        unknown = sorted(set(body) - set(LINE_FIELDS))
        if unknown:
            return self.err(400, "BadRequest_PropertyNotFound",
                            f"Could not find a property named '{unknown[0]}' on type 'Microsoft.NAV.journalLine'.")
        if body.get("accountType", "G/L Account") != "G/L Account":
            return self.err(400, "Application_DialogException", "The simulator serves G/L Account lines only.")
        account = str(body.get("accountNumber") or "")
        if account not in self.accounts:
            return self.err(400, "Application_DialogException",
                            f"The field Account No. of table Gen. Journal Line contains a value ({account}) that "
                            "cannot be found in the related table (G/L Account).")
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            return self.err(400, "BadRequest", "Invalid value for amount.")
        doc = str(body.get("documentNumber") or "")
        if not doc or len(doc) > 20:
            return self.err(400, "Application_StringExceededLength" if doc else "BadRequest",
                            "The length of the string is 21, but it must be less than or equal to 20 characters."
                            if doc else "documentNumber is required.")
        line = {"id": str(uuid.uuid4()), "journalId": jid, "journalDisplayName": journal["code"],
                "lineNumber": next(self._line), "accountType": "G/L Account", "accountNumber": account,
                "postingDate": str(body.get("postingDate") or self.iso()[:10]), "documentNumber": doc,
                "externalDocumentNumber": str(body.get("externalDocumentNumber") or "")[:35],
                "amount": float(amount), "description": str(body.get("description") or "")[:100],
                "lastModifiedDateTime": self.iso()}
        journal["lines"][line["id"]] = line
        return json_response(line, 201)

    def post(self, jid: str | None) -> Response:
        journal = self.journals.get(jid or "")
        if journal is None:
            return self.err(404, "BadRequest_NotFound", f"The journal {jid} does not exist.")
        by_doc: dict[str, Decimal] = {}
        for line in journal["lines"].values():
            by_doc[line["documentNumber"]] = by_doc.get(line["documentNumber"], Decimal(0)) + \
                Decimal(str(line["amount"]))
        off = sorted(d for d, total in by_doc.items() if total != 0)
        if off:
            return self.err(400, "Application_DialogException",
                            f"Document No. {off[0]} is out of balance by {by_doc[off[0]]}. Check the journal lines.")
        for line in sorted(journal["lines"].values(), key=lambda ln: ln["lineNumber"]):
            amount = Decimal(str(line["amount"]))
            self.ledger.append({"id": str(uuid.uuid4()), "entryNumber": next(self._entry),
                                "postingDate": line["postingDate"], "documentNumber": line["documentNumber"],
                                "documentType": " ", "accountNumber": line["accountNumber"],
                                "description": line["description"],
                                "debitAmount": float(amount) if amount > 0 else 0.0,
                                "creditAmount": float(-amount) if amount < 0 else 0.0,
                                "externalDocumentNumber": line["externalDocumentNumber"],
                                "lastModifiedDateTime": self.iso()})
        journal["lines"].clear()
        return Response(204)

    def entries(self, flt: tuple[str, str] | None) -> Response:
        rows = self.ledger
        if flt is not None:
            if flt[0] != "documentNumber":
                return self.err(400, "BadRequest", f"Could not parse filter on '{flt[0]}'.")
            rows = [r for r in rows if r["documentNumber"] == flt[1]]
        return json_response({"value": [{k: v for k, v in r.items() if k != "externalDocumentNumber"}
                                        for r in rows]})
