"""Readers and writers for files (and, later, SQL databases). IO never knows about models."""
from lookalike.io.dialect import check_dialect, sniff_csv, write_csv_batch
from lookalike.io.files import atomic_path, check_writable, read_table, write_table

__all__ = ["read_table", "write_table", "check_writable", "atomic_path", "sniff_csv", "write_csv_batch",
           "check_dialect"]
