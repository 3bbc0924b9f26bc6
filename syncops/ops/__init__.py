"""Operations surface: metrics, alerting and the like."""
