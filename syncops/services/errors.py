"""Errors operator actions raise; each message tells the technician what happened and what to do."""


class ActionError(Exception):
    pass


class ConcurrencyConflict(ActionError):
    pass


class InvalidTransition(ActionError):
    pass


class ReasonRequired(ActionError):
    pass
