"""`syncops soak`: kill the engine at random, feed it vendor garbage, then check nothing was lost.

- `setup`    the soak's own tenant, activity profile and fault presets
- `child`    the engine child process (`python -m syncops.soak.child`) the harness SIGKILLs
- `engines`  starting, killing and restarting that child; counting refusals and crashes
- `verdict`  the simulator's final state against the source of truth: lost, duplicated, drift, stuck
- `run`      the whole soak and its one-line figure
"""
