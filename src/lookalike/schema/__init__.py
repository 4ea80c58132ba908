"""What each column is: kinds, inference and the editable YAML schema, for one table or a database."""
from lookalike.schema.columns import KINDS, ColumnSchema, ForeignKey, Kind, TableSchema
from lookalike.schema.database import DatabaseSchema, Relation
from lookalike.schema.infer import infer_schema

__all__ = ["KINDS", "Kind", "ColumnSchema", "ForeignKey", "TableSchema", "DatabaseSchema", "Relation",
           "infer_schema"]
