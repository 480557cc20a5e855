"""Named prepared statements from psycopg 3, many clients at once (PreparedStatementClientTests).

Run it with Debian's interpreter, /usr/bin/python3, which has python3-psycopg (`python3` may be a
pyenv shim without it):

    /usr/bin/python3 tests/clients/psycopg_prepared.py --host 127.0.0.1 --port 6432 \
        --user pooler_scram --password ... --database pooler_test --clients 10 --transactions 200

Each client is a thread with its own connection, autocommit on and prepare_threshold=0, so psycopg
prepares every statement under a name of its own (_pg3_0, _pg3_1 ... per connection) the first
time it runs it and executes it by name afterwards. One statement's text holds the client's number,
so the same name means different SQL on different clients: a pooler that let one client's statement
answer another's gives a wrong answer here, not just an error. Every statement also returns
pg_backend_pid(), so the summary tells on how many server connections each client ran.

--prepared-max N makes psycopg evict its least recently used statement past N with SQL
`DEALLOCATE _pg3_k`; --rollback-every N ends every Nth transaction block with ROLLBACK, after which
psycopg forgets all its statements and sends `DEALLOCATE ALL`.

The last line on stdout is the summary (key=value); the exit code is 0 only if every statement
gave the answer expected and nothing failed. Errors go to stderr.
"""

import argparse
import sys
import threading
import time
import uuid

import psycopg

MAX_ERRORS_PER_CLIENT = 5


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6432)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--database", required=True)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--transactions", type=int, default=200, help="per client")
    p.add_argument("--prepared-max", type=int, default=None, help="psycopg's prepared_max (default 100)")
    p.add_argument("--rollback-every", type=int, default=0, help="roll back every Nth transaction block")
    return p.parse_args()


def describe(e):
    """An exception on one line: its type, the SQLSTATE if PostgreSQL sent one, the message's first line."""
    sqlstate = getattr(e, "sqlstate", None)
    lines = str(e).strip().splitlines() or [""]
    return f"{type(e).__name__}{f' [{sqlstate}]' if sqlstate else ''}: {lines[0]}"


class Client(threading.Thread):
    def __init__(self, number, args, run, errors):
        super().__init__(name=f"client-{number}")
        self.number = number
        self.args = args
        self.run_id = run
        self.errors = errors
        self.pids = set()
        self.done = 0
        self.error_count = 0
        self.inserted = 0

    def fail(self, what):
        self.error_count += 1
        self.errors.append(f"client {self.number}: {what}")

    def check(self, what, got, expected):
        if got != expected:
            self.fail(f"{what}: expected {expected!r}, got {got!r}")

    def connect(self):
        a = self.args
        conn = psycopg.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                               dbname=a.database, autocommit=True, prepare_threshold=0,
                               connect_timeout=30, application_name=f"psycopg-{self.number}")
        if a.prepared_max is not None:
            conn.prepared_max = a.prepared_max
        return conn

    def run(self):
        try:
            conn = self.connect()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.fail(f"connect: {describe(e)}")
            return
        with conn:
            for n in range(self.args.transactions):
                if self.error_count >= MAX_ERRORS_PER_CLIENT or conn.closed:
                    break
                try:
                    self.transaction(conn, n)
                    self.done += 1
                except Exception as e:  # noqa: BLE001
                    self.fail(f"transaction {n}: {describe(e)}")

    def one(self, conn, sql, params):
        # prepare_threshold=0: psycopg prepares every statement the first time it runs.
        row = conn.execute(sql, params).fetchone()
        self.pids.add(row[-1])
        return row

    def transaction(self, conn, n):
        c = self.number
        kind = n % 5
        if kind == 0:
            # The client's number is part of the text: _pg3_0 is different SQL on every client.
            row = self.one(conn, f"select %s::int + {c} as v, pg_backend_pid()", (n,))
            self.check("add", row[0], n + c)
        elif kind == 1:
            row = self.one(conn, "select %s::text || '/' || %s::text, pg_backend_pid()", (f"c{c}", f"n{n}"))
            self.check("concat", row[0], f"c{c}/n{n}")
        elif kind == 2:
            row = self.one(conn, "insert into psycopg_probe (run, client, n) values (%s, %s, %s) "
                                 "returning n, pg_backend_pid()", (self.run_id, c, n))
            self.check("insert", row[0], n)
            self.inserted += 1
        elif kind == 3:
            row = self.one(conn, "select count(*), coalesce(sum(n), 0), pg_backend_pid() from psycopg_probe "
                                 "where run = %s and client = %s and n >= 0", (self.run_id, c))
            self.check("count", row[0], self.inserted)
            self.check("sum", row[1], sum(k for k in range(n) if k % 5 == 2))
        else:
            # A transaction block: its statements run on one server connection, in order.
            rollback = self.args.rollback_every and (n // 5) % self.args.rollback_every == 0
            pids = set()
            tx = conn.transaction(force_rollback=bool(rollback))
            with tx:
                row = self.one(conn, "insert into psycopg_probe (run, client, n) values (%s, %s, %s) "
                                     "returning n, pg_backend_pid()", (self.run_id, c, -n))
                self.check("insert in block", row[0], -n)
                pids.add(row[-1])
                row = self.one(conn, "select count(*), pg_backend_pid() from psycopg_probe "
                                     "where run = %s and client = %s and n = %s", (self.run_id, c, -n))
                self.check("own insert seen in block", row[0], 1)
                pids.add(row[-1])
            if len(pids) != 1:
                self.fail(f"transaction block {n} ran on several server connections: {sorted(pids)}")
            row = self.one(conn, "select count(*), pg_backend_pid() from psycopg_probe "
                                 "where run = %s and client = %s and n = %s", (self.run_id, c, -n))
            self.check("block kept" if not rollback else "block rolled back", row[0], 0 if rollback else 1)


def main():
    args = parse_args()
    run = uuid.uuid4().hex
    with psycopg.connect(host=args.host, port=args.port, user=args.user, password=args.password,
                         dbname=args.database, autocommit=True, connect_timeout=30) as setup:
        setup.execute("create table if not exists psycopg_probe (run text, client int, n int)", prepare=False)

    errors = []
    started = time.monotonic()
    clients = [Client(i, args, run, errors) for i in range(args.clients)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started

    incomplete = [c.number for c in clients if c.done != args.transactions]
    if incomplete and not errors:
        errors.append(f"clients {incomplete} did not finish")
    for line in errors[:50]:
        print(line, file=sys.stderr)
    if len(errors) > 50:
        print(f"... and {len(errors) - 50} more errors", file=sys.stderr)
    per_client = [len(c.pids) for c in clients]
    print(f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__} implementation, libpq {psycopg.pq.version()})")
    print(f"summary: library=psycopg clients={args.clients} transactions={sum(c.done for c in clients)} "
          f"errors={len(errors)} backend_pids={len(set().union(*(c.pids for c in clients)))} "
          f"min_pids_per_client={min(per_client)} max_pids_per_client={max(per_client)} "
          f"seconds={elapsed:.1f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
