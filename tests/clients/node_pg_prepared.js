// Named prepared statements from node-postgres (pg), many clients at once (PreparedStatementClientTests).
//
//   node tests/clients/node_pg_prepared.js --host 127.0.0.1 --port 6432 --user pooler_scram \
//       --password ... --database pooler_test --clients 10 --transactions 200
//
// node-postgres is installed into tests/clients/node_modules by ./pooler.sh test (npm ci, pinned in
// package.json). Each client is its own pg.Client; they all run at once. Every query is a named
// query ({ name, text, values }): node-postgres sends Parse for a name the first time a connection
// uses it and only Bind/Execute afterwards, and never closes it. Every client uses the same names,
// and the statement named 'add' has a different text on every client (it holds the client's
// number), so a pooler that let one client's statement answer another's gives a wrong answer here.
// Every statement also returns pg_backend_pid(), so the summary tells on how many server
// connections each client ran.
//
// The last line on stdout is the summary (key=value); the exit code is 0 only if every statement
// gave the answer expected and nothing failed. Errors go to stderr.
'use strict'

const crypto = require('crypto')
const { Client } = require('pg')
const pgVersion = require('pg/package.json').version

const MAX_ERRORS_PER_CLIENT = 5

function parseArgs(argv) {
  const args = { host: '127.0.0.1', port: 6432, user: null, password: '', database: null, clients: 10, transactions: 200 }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in args) || i + 1 >= argv.length) {
      console.error(`usage: node node_pg_prepared.js --user U --database D [--host H] [--port P] [--password PW] [--clients N] [--transactions N] (bad argument ${argv[i]})`)
      process.exit(2)
    }
    args[key] = ['port', 'clients', 'transactions'].includes(key) ? Number(argv[i + 1]) : argv[i + 1]
  }
  if (!args.user || !args.database) {
    console.error('--user and --database are required')
    process.exit(2)
  }
  return args
}

class ClientRun {
  constructor(number, args, run, errors) {
    this.number = number
    this.args = args
    this.run = run
    this.errors = errors
    this.pids = new Set()
    this.done = 0
    this.errorCount = 0
    this.inserted = 0
  }

  fail(what) {
    this.errorCount++
    this.errors.push(`client ${this.number}: ${what}`)
  }

  check(what, got, expected) {
    if (got !== expected) this.fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`)
  }

  async one(client, name, text, values) {
    const result = await client.query({ name, text, values, rowMode: 'array' })
    const row = result.rows[0]
    this.pids.add(row[row.length - 1])
    return row
  }

  async runAll() {
    const a = this.args
    const client = new Client({
      host: a.host, port: a.port, user: a.user, password: a.password, database: a.database,
      connectionTimeoutMillis: 30000, application_name: `node-pg-${this.number}`,
    })
    // A connection-level error (the socket dropped) also comes as an event: record it, do not crash.
    client.on('error', (e) => this.fail(`connection error: ${e.message}`))
    try {
      await client.connect()
    } catch (e) {
      this.fail(`connect: ${e.message}`)
      return
    }
    try {
      for (let n = 0; n < a.transactions; n++) {
        if (this.errorCount >= MAX_ERRORS_PER_CLIENT) break
        try {
          await this.transaction(client, n)
          this.done++
        } catch (e) {
          this.fail(`transaction ${n}: ${e.code ? e.code + ' ' : ''}${e.message}`)
        }
      }
    } finally {
      await client.end().catch(() => {})
    }
  }

  async transaction(client, n) {
    const c = this.number
    const kind = n % 5
    if (kind === 0) {
      // Same name on every client, different text: 'add' means "+ c" on client c.
      const row = await this.one(client, 'add', `select $1::int + ${c} as v, pg_backend_pid()`, [n])
      this.check('add', row[0], n + c)
    } else if (kind === 1) {
      const row = await this.one(client, 'concat', "select $1::text || '/' || $2::text, pg_backend_pid()", [`c${c}`, `n${n}`])
      this.check('concat', row[0], `c${c}/n${n}`)
    } else if (kind === 2) {
      const row = await this.one(client, 'insert',
        'insert into node_pg_probe (run, client, n) values ($1, $2, $3) returning n, pg_backend_pid()', [this.run, c, n])
      this.check('insert', row[0], n)
      this.inserted++
    } else if (kind === 3) {
      const row = await this.one(client, 'count',
        'select count(*)::int, coalesce(sum(n), 0)::int, pg_backend_pid() from node_pg_probe where run = $1 and client = $2 and n >= 0',
        [this.run, c])
      this.check('count', row[0], this.inserted)
      let sum = 0
      for (let k = 0; k < n; k++) if (k % 5 === 2) sum += k
      this.check('sum', row[1], sum)
    } else {
      // A transaction block: its statements run on one server connection, in order.
      const pids = new Set()
      await client.query('BEGIN')
      try {
        let row = await this.one(client, 'insert',
          'insert into node_pg_probe (run, client, n) values ($1, $2, $3) returning n, pg_backend_pid()', [this.run, c, -n])
        this.check('insert in block', row[0], -n)
        pids.add(row[1])
        row = await this.one(client, 'seen',
          'select count(*)::int, pg_backend_pid() from node_pg_probe where run = $1 and client = $2 and n = $3', [this.run, c, -n])
        this.check('own insert seen in block', row[0], 1)
        pids.add(row[1])
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw e
      }
      if (pids.size !== 1) this.fail(`transaction block ${n} ran on several server connections: ${[...pids].join(', ')}`)
      const row = await this.one(client, 'seen',
        'select count(*)::int, pg_backend_pid() from node_pg_probe where run = $1 and client = $2 and n = $3', [this.run, c, -n])
      this.check('block kept', row[0], 1)
    }
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const run = crypto.randomUUID()
  const setup = new Client({ host: args.host, port: args.port, user: args.user, password: args.password, database: args.database, connectionTimeoutMillis: 30000 })
  await setup.connect()
  try {
    // No values and no name: a simple query, nothing is prepared.
    await setup.query('create table if not exists node_pg_probe (run text, client int, n int)')
  } finally {
    await setup.end()
  }

  const errors = []
  const started = process.hrtime.bigint()
  const clients = Array.from({ length: args.clients }, (_, i) => new ClientRun(i, args, run, errors))
  await Promise.all(clients.map((c) => c.runAll()))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9

  const incomplete = clients.filter((c) => c.done !== args.transactions).map((c) => c.number)
  if (incomplete.length > 0 && errors.length === 0) errors.push(`clients ${incomplete.join(', ')} did not finish`)
  for (const line of errors.slice(0, 50)) console.error(line)
  if (errors.length > 50) console.error(`... and ${errors.length - 50} more errors`)
  const perClient = clients.map((c) => c.pids.size)
  const allPids = new Set(clients.flatMap((c) => [...c.pids]))
  console.log(`node-postgres ${pgVersion} (node ${process.version})`)
  console.log(`summary: library=node-postgres clients=${args.clients} transactions=${clients.reduce((s, c) => s + c.done, 0)} ` +
    `errors=${errors.length} backend_pids=${allPids.size} min_pids_per_client=${Math.min(...perClient)} ` +
    `max_pids_per_client=${Math.max(...perClient)} seconds=${seconds.toFixed(1)}`)
  return errors.length > 0 ? 1 : 0
}

main().then((code) => process.exit(code), (e) => {
  console.error(`fatal: ${e.stack || e}`)
  process.exit(1)
})
