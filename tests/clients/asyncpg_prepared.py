"""Named prepared statements from asyncpg, many clients at once (PreparedStatementClientTests).

Run it with Debian's interpreter, /usr/bin/python3, which has python3-asyncpg (`python3` may be a
pyenv shim without it):

    /usr/bin/python3 tests/clients/asyncpg_prepared.py --host 127.0.0.1 --port 6432 \
        --user pooler_scram --password ... --database pooler_test --clients 10 --transactions 200

Each client is an asyncio task with its own connection. asyncpg's default statement cache makes a
plain conn.fetchrow(query, *args) prepare the query under a name (__asyncpg_stmt_N__) the first
time and execute that name afterwards. One statement's text holds the client's number, so a
pooler that let one client's statement answer another's gives a wrong answer here. Every statement
also returns pg_backend_pid(), so the summary tells on how many server connections each client ran.

--cache-size N shrinks asyncpg's statement cache (statement_cache_size, default 100) so that it
evicts statements and closes them on the server with the protocol's Close message.

The last line on stdout is the summary (key=value); the exit code is 0 only if every statement
gave the answer expected and nothing failed. Errors go to stderr.
"""

import argparse
import asyncio
import sys
import time
import uuid

import asyncpg

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
    p.add_argument("--cache-size", type=int, default=None, help="asyncpg's statement_cache_size (default 100)")
    return p.parse_args()


def describe(e):
    """An exception on one line: its type, the SQLSTATE if PostgreSQL sent one, the message's first line."""
    sqlstate = getattr(e, "sqlstate", None)
    lines = str(e).strip().splitlines() or [""]
    return f"{type(e).__name__}{f' [{sqlstate}]' if sqlstate else ''}: {lines[0]}"


class Client:
    def __init__(self, number, args, run, errors):
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

    async def run(self):
        a = self.args
        options = {} if a.cache_size is None else {"statement_cache_size": a.cache_size}
        try:
            conn = await asyncpg.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                                         database=a.database, timeout=30,
                                         server_settings={"application_name": f"asyncpg-{self.number}"},
                                         **options)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.fail(f"connect: {describe(e)}")
            return
        try:
            for n in range(a.transactions):
                if self.error_count >= MAX_ERRORS_PER_CLIENT or conn.is_closed():
                    break
                try:
                    await self.transaction(conn, n)
                    self.done += 1
                except Exception as e:  # noqa: BLE001
                    self.fail(f"transaction {n}: {describe(e)}")
        finally:
            await conn.close(timeout=10)

    async def one(self, conn, sql, *params):
        # A plain fetchrow with arguments: asyncpg prepares the query under a name and caches it.
        row = await conn.fetchrow(sql, *params)
        self.pids.add(row[-1])
        return row

    async def transaction(self, conn, n):
        c = self.number
        kind = n % 5
        if kind == 0:
            row = await self.one(conn, f"select $1::int + {c} as v, pg_backend_pid()", n)
            self.check("add", row[0], n + c)
        elif kind == 1:
            row = await self.one(conn, "select $1::text || '/' || $2::text, pg_backend_pid()", f"c{c}", f"n{n}")
            self.check("concat", row[0], f"c{c}/n{n}")
        elif kind == 2:
            row = await self.one(conn, "insert into asyncpg_probe (run, client, n) values ($1, $2, $3) "
                                       "returning n, pg_backend_pid()", self.run_id, c, n)
            self.check("insert", row[0], n)
            self.inserted += 1
        elif kind == 3:
            row = await self.one(conn, "select count(*), coalesce(sum(n), 0), pg_backend_pid() from asyncpg_probe "
                                       "where run = $1 and client = $2 and n >= 0", self.run_id, c)
            self.check("count", row[0], self.inserted)
            self.check("sum", row[1], sum(k for k in range(n) if k % 5 == 2))
        else:
            # A transaction block: its statements run on one server connection, in order.
            pids = set()
            async with conn.transaction():
                row = await self.one(conn, "insert into asyncpg_probe (run, client, n) values ($1, $2, $3) "
                                           "returning n, pg_backend_pid()", self.run_id, c, -n)
                self.check("insert in block", row[0], -n)
                pids.add(row[-1])
                row = await self.one(conn, "select count(*), pg_backend_pid() from asyncpg_probe "
                                           "where run = $1 and client = $2 and n = $3", self.run_id, c, -n)
                self.check("own insert seen in block", row[0], 1)
                pids.add(row[-1])
            if len(pids) != 1:
                self.fail(f"transaction block {n} ran on several server connections: {sorted(pids)}")
            row = await self.one(conn, "select count(*), pg_backend_pid() from asyncpg_probe "
                                       "where run = $1 and client = $2 and n = $3", self.run_id, c, -n)
            self.check("block kept", row[0], 1)


async def main():
    args = parse_args()
    run = uuid.uuid4().hex
    setup = await asyncpg.connect(host=args.host, port=args.port, user=args.user, password=args.password,
                                  database=args.database, timeout=30)
    try:
        # No arguments: asyncpg sends this as a simple query, nothing is prepared.
        await setup.execute("create table if not exists asyncpg_probe (run text, client int, n int)")
    finally:
        await setup.close()

    errors = []
    started = time.monotonic()
    clients = [Client(i, args, run, errors) for i in range(args.clients)]
    await asyncio.gather(*(client.run() for client in clients))
    elapsed = time.monotonic() - started

    incomplete = [c.number for c in clients if c.done != args.transactions]
    if incomplete and not errors:
        errors.append(f"clients {incomplete} did not finish")
    for line in errors[:50]:
        print(line, file=sys.stderr)
    if len(errors) > 50:
        print(f"... and {len(errors) - 50} more errors", file=sys.stderr)
    per_client = [len(c.pids) for c in clients]
    print(f"asyncpg {asyncpg.__version__}")
    print(f"summary: library=asyncpg clients={args.clients} transactions={sum(c.done for c in clients)} "
          f"errors={len(errors)} backend_pids={len(set().union(*(c.pids for c in clients)))} "
          f"min_pids_per_client={min(per_client)} max_pids_per_client={max(per_client)} "
          f"seconds={elapsed:.1f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
