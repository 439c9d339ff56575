"""Statistics of PAKN for any period: figures, charts, exports, the quarterly report."""
