"""Readers and writers for files and SQL databases. IO never knows about models."""
from lookalike.io.dialect import check_dialect, sniff_csv, write_csv_batch
from lookalike.io.files import atomic_path, check_output_folder, check_writable, read_table, temp_beside, write_table

__all__ = ["read_table", "write_table", "check_writable", "atomic_path", "check_output_folder", "temp_beside", "sniff_csv", "write_csv_batch",
           "check_dialect"]
