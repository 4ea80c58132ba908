"""What each column is: kinds, inference and the editable YAML schema."""
from lookalike.schema.columns import KINDS, ColumnSchema, Kind, TableSchema
from lookalike.schema.infer import infer_schema

__all__ = ["KINDS", "Kind", "ColumnSchema", "TableSchema", "infer_schema"]
