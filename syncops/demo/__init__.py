"""`syncops demo` and `syncops simulate`: the engine against the built-in retail simulator."""
