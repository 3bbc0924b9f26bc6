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
    from syncops.services.errors import ActionError
    from syncops.store.db import StoreError
    from syncops.store.filters import FilterError
    from syncops.store.queries import RecordNotFound

    try:
        return call()
    except CliError as exc:
        print(f"syncops: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"syncops: config error:\n{exc}", file=sys.stderr)
        return 1
    except (ActionError, StoreError, FilterError, RecordNotFound) as exc:
        print(f"syncops: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("syncops: interrupted; nothing more was changed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
