"""The one error type connectors raise; the engine maps it onto the record lifecycle."""

from __future__ import annotations

from syncops.store.categories import Category


class DeliveryError(Exception):
    """A failed call to a vendor, already classified.

    Raised for whole-request failures (429, 5xx, refused connection); per-item
    failures inside a 200 response come back as `ItemResult.error` instead.
    """

    def __init__(
        self,
        category: Category | str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        response_excerpt: str | None = None,
        vendor_code: str | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.category = Category(category)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt
        self.vendor_code = vendor_code
        # The call went out and no trustworthy answer came back: the vendor may have applied it.
        self.maybe_applied = maybe_applied

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"
