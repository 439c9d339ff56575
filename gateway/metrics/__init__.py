"""Operations metrics for Prometheus (``/metrics``)."""
