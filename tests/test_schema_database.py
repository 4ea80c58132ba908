"""Keys, sequence settings and database schemas: YAML round trips and errors that name table and column."""
import numpy as np
import pandas as pd
import pytest

from lookalike.errors import LookalikeError
from lookalike.schema import DatabaseSchema, ForeignKey, Kind, TableSchema, infer_schema

OLD_SCHEMA = """\
value_protection:
  enabled: true
  k: 5
columns:
- name: id
  kind: id
  dtype: int64
  id_type: integer
- name: amount
  kind: numeric
  dtype: float64
  integer: false
  decimals: 2
rules: []
"""


def _table(**keys) -> dict:
    d = {"columns": [
        {"name": "order_id", "kind": "id", "dtype": "int64", "id_type": "integer"},
        {"name": "customer_id", "kind": "categorical", "dtype": "int64"},
        {"name": "placed", "kind": "datetime", "dtype": "object", "formats": [["%Y-%m-%d", 1.0]]},
        {"name": "status", "kind": "categorical", "dtype": "object"},
    ]}
    d.update(keys)
    return d


def _customers() -> dict:
    return {"primary_key": ["customer_id"], "columns": [
        {"name": "customer_id", "kind": "id", "dtype": "int64"},
        {"name": "manager_id", "kind": "categorical", "dtype": "int64"},
        {"name": "segment", "kind": "categorical", "dtype": "object"}],
        "foreign_keys": [{"columns": ["manager_id"], "references": "customers"}]}


def test_an_existing_schema_file_still_loads_and_writes_the_same():
    schema = TableSchema.from_yaml(OLD_SCHEMA)
    assert schema.primary_key is None and schema.foreign_keys == [] and schema.entity is None
    assert schema.order is None
    assert schema.to_yaml() == OLD_SCHEMA


def test_keys_and_sequence_settings_round_trip():
    d = _table(primary_key=["order_id"], entity="customer_id", order="placed",
               foreign_keys=[{"columns": "customer_id", "references": "customers",
                              "referenced_columns": ["customer_id"], "name": "fk_orders_customer"}])
    schema = TableSchema.from_dict(d, name="orders")
    assert schema.primary_key == ["order_id"] and schema.entity == "customer_id" and schema.order == "placed"
    assert schema.foreign_keys == [ForeignKey(["customer_id"], "customers", ["customer_id"], "fk_orders_customer")]
    again = TableSchema.from_yaml(schema.to_yaml())
    assert again == schema
    assert again.to_dict() == schema.to_dict()


@pytest.mark.parametrize("keys, words", [
    ({"primary_key": ["nope"]}, "table 'orders': primary key column 'nope' is not a column"),
    ({"foreign_keys": [{"columns": ["cust"], "references": "customers"}]},
     "table 'orders': foreign key (to 'customers') column 'cust' is not a column"),
    ({"foreign_keys": [{"columns": ["customer_id"], "references": "customers", "referenced_columns": ["a", "b"]}]},
     "has 1 column(s) but references 2"),
    ({"foreign_keys": [{"columns": ["customer_id"]}]}, "needs 'columns' and 'references'"),
    ({"foreign_keys": [{"columns": ["customer_id"], "references": "c", "on": 1}]}, "unknown key(s) ['on']"),
    ({"entity": "who"}, "table 'orders': entity column 'who' is not a column"),
    ({"order": "status"}, "table 'orders': order column 'status' is categorical; an order column must be numeric "
                          "or datetime"),
    ({"order": "placed", "entity": "placed"}, "cannot be both the entity and the order"),
    ({"primary_key": ["order_id", "order_id"]}, "a column is named twice"),
])
def test_table_errors_name_table_and_column(keys, words):
    with pytest.raises(LookalikeError) as info:
        TableSchema.from_dict(_table(**keys), name="orders")
    assert words in str(info.value)


@pytest.mark.parametrize("options, words", [
    ({"decimals": "abc"}, "column 'price': decimals must be a whole number from 0 to 15, got 'abc'"),
    ({"decimals": 2.5}, "column 'price': decimals must be a whole number from 0 to 15, got 2.5"),
    ({"decimals": True}, "column 'price': decimals must be a whole number from 0 to 15, got True"),
    ({"decimals": 16}, "column 'price': decimals must be a whole number from 0 to 15, got 16"),
    ({"decimals": 2, "grid": -1}, "column 'price': grid must be a whole number from 0 to 15, got -1"),
    ({"decimals": 2, "grid": 3}, "column 'price': grid (3) must not exceed decimals (2)"),
])
def test_a_numbers_precision_options_are_checked_when_the_schema_is_read(options, words):
    """grid: -1 used to pass and make every new value 0; decimals: abc failed inside the codec with int()'s error."""
    table = _table()
    table["columns"].append({"name": "price", "kind": "numeric", "dtype": "float64", **options})
    with pytest.raises(LookalikeError) as info:
        TableSchema.from_dict(table, name="orders")
    assert "table 'orders': " + words in str(info.value)


def test_valid_precision_options_load():
    table = _table()
    table["columns"] += [{"name": "price", "kind": "numeric", "dtype": "float64", "decimals": 7, "grid": 2},
                         {"name": "rate", "kind": "numeric", "dtype": "float64", "decimals": None},
                         {"name": "n", "kind": "numeric", "dtype": "int64", "decimals": np.int64(0)}]
    schema = TableSchema.from_dict(table, name="orders")
    assert schema["price"].options == {"decimals": 7, "grid": 2}


def test_infer_schema_checks_declared_keys_against_inferred_kinds():
    n = 60
    df = pd.DataFrame({"account": np.repeat(np.arange(6), 10), "step": np.tile(np.arange(10), 6),
                       "ts": pd.date_range("2024-01-01", periods=n, freq="h"), "label": ["a", "b", "c"] * 20,
                       "code": np.arange(n) * 7 + 3})
    schema = infer_schema(df, source="events", entity="account", order="ts", primary_key="code")
    assert schema.entity == "account" and schema.order == "ts" and schema.primary_key == ["code"]
    assert schema["code"].kind == Kind.ID  # a declared primary key is a key, whatever inference guessed
    counter = infer_schema(df.iloc[:10], source="one", order="step")  # 0..9 unique: would be an id
    assert counter["step"].kind == Kind.NUMERIC
    with pytest.raises(LookalikeError, match="table 'events': order column 'label' is categorical"):
        infer_schema(df, source="events", order="label")
    with pytest.raises(LookalikeError, match=r"table 'events': primary key \['account'\] is not unique"):
        infer_schema(df, source="events", primary_key="account")


def test_database_round_trip_relations_and_parents_first_order():
    orders = _table(primary_key=["order_id"], foreign_keys=[{"columns": ["customer_id"], "references": "customers"}])
    db = DatabaseSchema.from_dict({"locale": "de_DE", "tables": {"orders": orders, "customers": _customers()}})
    assert db.order() == ["customers", "orders"]
    assert db.parents("orders") == ["customers"] and db.children("customers") == ["orders"]
    rel = [r for r in db.relations if not r.is_self_reference]
    assert [(r.parent, r.child, r.parent_columns, r.child_columns) for r in rel] == [
        ("customers", "orders", ("customer_id",), ("customer_id",))]  # referenced columns: the primary key
    assert [(r.parent, r.child) for r in db.self_references] == [("customers", "customers")]
    again = DatabaseSchema.from_yaml(db.to_yaml())
    assert again.to_dict() == db.to_dict() and again.settings == {"locale": "de_DE"}
    assert list(again.tables) == ["orders", "customers"]


def test_database_read_from_file(tmp_path):
    path = tmp_path / "db.yaml"
    path.write_text(DatabaseSchema.from_dict({"tables": {"customers": _customers()}}).to_yaml())
    assert DatabaseSchema.read(path).order() == ["customers"]
    with pytest.raises(LookalikeError, match="schema file not found"):
        DatabaseSchema.read(tmp_path / "missing.yaml")


def _fk(child_col, parent, ref=None):
    return {"columns": [child_col], "references": parent, **({"referenced_columns": [ref]} if ref else {})}


def _simple(name, *fks, pk=True):
    cols = [{"name": "id", "kind": "id", "dtype": "int64"}, {"name": "parent", "kind": "categorical", "dtype": "int64"}]
    return {"columns": cols, **({"primary_key": ["id"]} if pk else {}), "foreign_keys": list(fks)}


@pytest.mark.parametrize("tables, words", [
    ({"a": _simple("a", _fk("parent", "b")), "b": _simple("b", _fk("parent", "c")), "c": _simple("c", _fk("parent", "a"))},
     "cycle between tables: a -> b -> c -> a"),
    ({"a": _simple("a", _fk("parent", "zzz"))}, "table 'a': foreign key ['parent'] references unknown table 'zzz'"),
    ({"a": _simple("a", _fk("parent", "b", "nope")), "b": _simple("b")},
     "references column 'nope' that table 'b' does not have"),
    ({"a": _simple("a", _fk("parent", "b")), "b": _simple("b", pk=False)},
     "names no referenced_columns and table 'b' has no primary_key"),
    ({"a": _simple("a", {"columns": ["parent", "id"], "references": "b"}), "b": _simple("b")},
     "has 2 column(s) but the referenced key of 'b' has 1"),
    ({"a": {"columns": [{"name": "x", "kind": "colour"}]}}, "table 'a': column 'x': unknown kind 'colour'"),
])
def test_database_errors_name_the_tables(tables, words):
    with pytest.raises(LookalikeError) as info:
        DatabaseSchema.from_dict({"tables": tables})
    assert words in str(info.value)


def test_a_self_reference_is_not_a_cycle():
    db = DatabaseSchema.from_dict({"tables": {"staff": _simple("staff", _fk("parent", "staff"))}})
    assert db.order() == ["staff"] and len(db.self_references) == 1


def test_database_needs_tables():
    with pytest.raises(LookalikeError, match="needs a 'tables' mapping"):
        DatabaseSchema.from_dict({"columns": []})
    with pytest.raises(LookalikeError, match=r"unknown key\(s\) \['tabels'\]"):
        DatabaseSchema.from_dict({"tables": {"a": _simple("a")}, "tabels": {}})
