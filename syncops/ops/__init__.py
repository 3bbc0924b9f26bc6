"""Operations surface of the core: alert rules and notifications, Prometheus metrics, the systemd
unit and the incident bundle. Never imports Textual; everything reads the store (and, where the
engine passes itself, its in-process counters)."""
