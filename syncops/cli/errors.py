"""Turn every expected failure into one clear line on stderr and a non-zero exit: never a traceback."""

from __future__ import annotations

import sys
from typing import Callable


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run_guarded(call: Callable[[], int]) -> int:
    from syncops.config.errors import ConfigError
    from syncops.models.json_input import FileInputError
    from syncops.services.errors import ActionError
    from syncops.store.db import StoreError
    from syncops.store.filters import FilterError
    from syncops.store.queries import RecordNotFound
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return call()
    except CliError as exc:
        print(f"syncops: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"syncops: config error:\n{exc}", file=sys.stderr)
        return 1
    except (ActionError, StoreError, FilterError, RecordNotFound, FileInputError) as exc:
        print(f"syncops: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing --file, an $EDITOR that is not installed, a full disk
        print(f"syncops: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        # Only the driver's own message: str(exc) would include the SQL parameters (payloads).
        detail = getattr(exc, "orig", None) or (exc.args[0] if exc.args else type(exc).__name__)
        print(f"syncops: store error: {(str(detail).splitlines() or [''])[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("syncops: interrupted; nothing more was changed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
