"""Data layer: the record-level schema, reading and validating extracts, aggregation, the
published figures and official tables, and the synthetic-data generator."""
