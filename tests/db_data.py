"""A small bank database with declared constraints, shared by the tests/test_db_*.py files.

branches <- customers <- accounts <- cards <- transactions (a chain of five levels; accounts also reference
branches: a second parent), employees.manager_id -> employees.emp_id (a self-reference) and
order_lines (order_id, line_no) -> orders (a composite primary key)."""
import numpy as np
import pandas as pd
import sqlalchemy as sa

DDL = """
CREATE TABLE branches (branch_id INTEGER PRIMARY KEY, region VARCHAR(10) NOT NULL, size INTEGER);
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, segment VARCHAR(10) NOT NULL, income FLOAT,
  email VARCHAR(80) UNIQUE, home_branch INTEGER REFERENCES branches(branch_id));
CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
  branch_id INTEGER NOT NULL REFERENCES branches(branch_id), kind VARCHAR(10) NOT NULL, balance NUMERIC(12, 2));
CREATE INDEX ix_accounts_kind ON accounts (kind);
CREATE TABLE cards (card_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(account_id),
  network VARCHAR(10));
CREATE TABLE transactions (tx_id INTEGER PRIMARY KEY, card_id INTEGER NOT NULL REFERENCES cards(card_id),
  amount FLOAT NOT NULL, booked DATE);
CREATE TABLE employees (emp_id INTEGER PRIMARY KEY, dept VARCHAR(10), manager_id INTEGER REFERENCES employees(emp_id));
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, channel VARCHAR(10));
CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders(order_id), line_no INTEGER NOT NULL,
  qty INTEGER, PRIMARY KEY (order_id, line_no));
"""


def bank_tables(seed: int = 0, n_customers: int = 150) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    branches = pd.DataFrame({"branch_id": np.arange(1, 21), "region": rng.choice(["north", "south"], 20),
                             "size": rng.integers(5, 50, 20)})
    seg = rng.choice(["retail", "premium"], n_customers, p=[0.7, 0.3])
    customers = pd.DataFrame({"customer_id": np.arange(1, n_customers + 1), "segment": seg,
                              "income": np.where(seg == "premium", 90_000, 30_000) + rng.normal(0, 3000, n_customers).round(),
                              "email": [f"c{i}@example.com" for i in range(n_customers)],
                              "home_branch": rng.integers(1, 21, n_customers)})
    k = np.where(seg == "premium", rng.integers(2, 5, n_customers), rng.integers(1, 3, n_customers))
    owner = np.repeat(customers.customer_id.to_numpy(), k)
    accounts = pd.DataFrame({"account_id": np.arange(1, len(owner) + 1), "customer_id": owner,
                             "branch_id": rng.integers(1, 21, len(owner)),
                             "kind": rng.choice(["checking", "savings"], len(owner)),
                             "balance": (np.where(np.repeat(seg, k) == "premium", 20_000, 2_000)
                                         * rng.uniform(0.5, 1.5, len(owner))).round(2)})
    c = rng.integers(1, 3, len(accounts))
    cards = pd.DataFrame({"card_id": np.arange(1, c.sum() + 1), "account_id": np.repeat(accounts.account_id.to_numpy(), c),
                          "network": rng.choice(["visa", "mc"], c.sum())})
    t = rng.integers(1, 4, len(cards))
    transactions = pd.DataFrame({"tx_id": np.arange(1, t.sum() + 1), "card_id": np.repeat(cards.card_id.to_numpy(), t),
                                 "amount": rng.gamma(2, 30, t.sum()).round(2),
                                 "booked": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, t.sum()), "D")})
    employees = pd.DataFrame({"emp_id": np.arange(1, 41), "dept": rng.choice(["ops", "it"], 40)})
    employees["manager_id"] = pd.array([None] + [int(rng.integers(1, i + 1)) for i in range(1, 40)], dtype="Int64")
    orders = pd.DataFrame({"order_id": np.arange(1, 61), "channel": rng.choice(["web", "shop"], 60)})
    lines = rng.integers(1, 4, 60)
    order_lines = pd.DataFrame({"order_id": np.repeat(orders.order_id.to_numpy(), lines),
                                "line_no": np.concatenate([np.arange(1, n + 1) for n in lines]),
                                "qty": rng.integers(1, 6, lines.sum())})
    return {"branches": branches, "customers": customers, "accounts": accounts, "cards": cards,
            "transactions": transactions, "employees": employees, "orders": orders, "order_lines": order_lines}


def create(url: str, tables: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Create the bank database at ``url`` (declared constraints) and load it."""
    tables = tables or bank_tables()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for stmt in DDL.split(";"):
            if stmt.strip():
                conn.execute(sa.text(stmt))
        for name in ("branches", "customers", "accounts", "cards", "transactions", "employees", "orders", "order_lines"):
            df = tables[name].copy()
            if name == "transactions":
                df["booked"] = df["booked"].dt.date
            conn.execute(sa.table(name, *[sa.column(c) for c in df.columns]).insert(),
                         df.astype(object).where(df.notna(), None).to_dict("records"))
    engine.dispose()
    return tables
