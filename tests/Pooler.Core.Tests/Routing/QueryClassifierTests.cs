using Pooler.Core.Routing;
using Xunit;

namespace Pooler.Core.Tests.Routing;

/// <summary>A query goes to a replica only when every statement in it surely only reads.</summary>
public sealed class QueryClassifierTests
{
    private static void AssertRead(string sql) => Assert.Equal(QueryAccess.Read, QueryClassifier.Classify(sql));

    private static void AssertWrite(string sql) => Assert.Equal(QueryAccess.Write, QueryClassifier.Classify(sql));

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("select * from users where id = 1")]
    [InlineData("SeLeCt 1;")]
    [InlineData("   \n\t SELECT 1")]
    [InlineData("(SELECT 1)")]
    [InlineData("((SELECT 1) UNION (SELECT 2)) ORDER BY 1")]
    [InlineData("VALUES (1, 'a'), (2, 'b')")]
    [InlineData("TABLE users")]
    [InlineData("SHOW search_path")]
    [InlineData("show all;")]
    [InlineData("SELECT count(*) FROM t WHERE a IN (SELECT b FROM u) AND c = $1")]
    [InlineData("SELECT substring(name FOR 3) FROM t")]
    [InlineData("SELECT * FROM unnest(array[1, 2]) WITH ORDINALITY")]
    [InlineData("SELECT * FROM XMLTABLE('/r' PASSING x COLUMNS id FOR ORDINALITY)")]
    [InlineData("SELECT pg_sleep(0.1), now(), currval_history FROM t")]
    [InlineData("SELECT deleted, updated_at, inserted FROM t")]
    public void Plain_reads_may_go_to_a_replica(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("INSERT INTO t VALUES (1)")]
    [InlineData("update t set a = 1")]
    [InlineData("DELETE FROM t")]
    [InlineData("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE")]
    [InlineData("CREATE TABLE t (a int)")]
    [InlineData("DROP TABLE t")]
    [InlineData("ALTER TABLE t ADD b int")]
    [InlineData("TRUNCATE t")]
    [InlineData("SET search_path TO app")]
    [InlineData("RESET ALL")]
    [InlineData("CALL do_things()")]
    [InlineData("DO $$ BEGIN PERFORM 1; END $$")]
    [InlineData("COPY t TO STDOUT")]
    [InlineData("COPY (SELECT 1) TO STDOUT")]
    [InlineData("LOCK TABLE t")]
    [InlineData("VACUUM t")]
    [InlineData("PREPARE q AS SELECT 1")]
    [InlineData("EXECUTE q")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("LISTEN events")]
    [InlineData("NOTIFY events")]
    [InlineData("DISCARD ALL")]
    [InlineData("frobnicate the database")]
    [InlineData("42")]
    [InlineData("(DELETE FROM t)")]
    [InlineData("()")]
    public void Everything_else_goes_to_the_primary(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT * FROM t FOR UPDATE")]
    [InlineData("SELECT * FROM t WHERE id = 1 for update skip locked")]
    [InlineData("SELECT * FROM t FOR NO KEY UPDATE")]
    [InlineData("SELECT * FROM t FOR SHARE")]
    [InlineData("SELECT * FROM t FOR KEY SHARE NOWAIT")]
    [InlineData("SELECT * FROM t FOR UPDATE OF t")]
    [InlineData("SELECT * FROM (SELECT * FROM t FOR UPDATE) s")]
    [InlineData("SELECT * FROM t FOR /* comment */ UPDATE")]
    [InlineData("SELECT * FROM t FOR\n-- comment\nSHARE")]
    public void Locking_clauses_make_a_select_a_write(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT * INTO new_table FROM t")]
    [InlineData("select a into temp t2 from t")]
    [InlineData("SELECT 1into t")]
    public void Select_into_creates_a_table(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT nextval('s')")]
    [InlineData("SELECT NEXTVAL('s')")]
    [InlineData("select pg_catalog.nextval ('s')")]
    [InlineData("SELECT \"nextval\"('s')")]
    [InlineData("SELECT nextval/* comment */('s')")]
    [InlineData("SELECT setval('s', 10)")]
    [InlineData("SELECT currval('s')")]
    [InlineData("SELECT lastval()")]
    [InlineData("SELECT pg_advisory_lock(1)")]
    [InlineData("SELECT pg_advisory_xact_lock_shared(1)")]
    [InlineData("SELECT pg_try_advisory_lock(1, 2)")]
    [InlineData("SELECT pg_advisory_unlock_all()")]
    [InlineData("SELECT lo_create(0)")]
    [InlineData("SELECT lo_import('/tmp/x')")]
    [InlineData("SELECT pg_notify('channel', 'payload')")]
    [InlineData("SELECT txid_current()")]
    [InlineData("SELECT pg_current_xact_id()")]
    [InlineData("SELECT set_config('search_path', 'app', false)")]
    [InlineData("SELECT id FROM t WHERE x = (SELECT nextval('s'))")]
    [InlineData("VALUES (nextval('s'))")]
    public void Functions_with_side_effects_make_a_select_a_write(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT \"NEXTVAL\"('s')")]
    [InlineData("SELECT nextval_stats FROM t")]
    [InlineData("SELECT 'nextval(1)'")]
    [InlineData("SELECT my_nextval('s')")]
    public void Names_that_only_look_like_those_functions_do_not(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x")]
    [InlineData("with recursive t(n) as (values (1) union all select n + 1 from t where n < 10) select sum(n) from t")]
    [InlineData("WITH a AS (SELECT 1), b AS MATERIALIZED (SELECT * FROM a) SELECT * FROM b")]
    [InlineData("WITH a AS NOT MATERIALIZED (TABLE t) TABLE a")]
    [InlineData("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s")]
    [InlineData("(WITH x AS (SELECT 1) SELECT * FROM x)")]
    public void With_queries_whose_parts_all_read_are_reads(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x")]
    [InlineData("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT count(*) FROM x")]
    [InlineData("WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM x")]
    [InlineData("WITH a AS (SELECT 1), x AS ((DELETE FROM t RETURNING *)) SELECT 1")]
    [InlineData("with x as (select 1) delete from t where id in (select * from x)")]
    [InlineData("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x")]
    [InlineData("WITH x AS (SELECT 1) UPDATE t SET a = 1")]
    [InlineData("SELECT * FROM (WITH x AS (SELECT 1) DELETE FROM t) s")]
    [InlineData("WITH x AS (SELECT 1)")]
    public void With_queries_that_modify_data_are_writes(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("EXPLAIN SELECT * FROM t")]
    [InlineData("EXPLAIN ANALYZE SELECT * FROM t")]
    [InlineData("explain analyse verbose select 1")]
    [InlineData("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM t")]
    [InlineData("EXPLAIN WITH x AS (SELECT 1) SELECT * FROM x")]
    public void Explain_of_a_read_is_a_read(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("EXPLAIN ANALYZE DELETE FROM t")]
    [InlineData("EXPLAIN (ANALYZE true) UPDATE t SET a = 1")]
    [InlineData("EXPLAIN ANALYZE SELECT nextval('s')")]
    [InlineData("EXPLAIN DELETE FROM t")]
    [InlineData("EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1")]
    [InlineData("EXPLAIN")]
    public void Explain_of_a_write_is_a_write(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT 'DELETE FROM t'")]
    [InlineData("SELECT 'it''s; DROP TABLE t; --'")]
    [InlineData("SELECT E'it\\'s; DELETE FROM t'")]
    [InlineData("SELECT e'\\\\'")]
    [InlineData("SELECT \"delete\", \"FOR UPDATE\" FROM t")]
    [InlineData("SELECT \"a\"\"; DELETE FROM t\" FROM t")]
    [InlineData("SELECT $$ ; DELETE FROM t; $$")]
    [InlineData("SELECT $body$ it's $$ nested; UPDATE t $$ $body$")]
    [InlineData("SELECT $a$ $ab$ ; INSERT $a$")]
    [InlineData("SELECT a$b FROM t")]
    [InlineData("SELECT 1 -- ; DELETE FROM t")]
    [InlineData("SELECT 1 /* ; DELETE FROM t */")]
    [InlineData("SELECT 1 /* outer /* inner */ ; DELETE FROM t; */")]
    [InlineData("-- DELETE\nSELECT 1")]
    [InlineData("/* UPDATE t */ SELECT 1")]
    [InlineData("SELECT 'C:\\path'")]
    [InlineData("SELECT 1 FROM t WHERE a = 'FOR UPDATE'")]
    public void Keywords_in_strings_identifiers_and_comments_do_not_count(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("SELECT 'unterminated")]
    [InlineData("SELECT \"unterminated")]
    [InlineData("SELECT $$ unterminated")]
    [InlineData("SELECT 1 /* unterminated")]
    [InlineData("SELECT 1 /* outer /* inner */ still open")]
    [InlineData("SELECT 'it\\'s; DELETE FROM t; --'")]
    [InlineData("SELECT (1")]
    [InlineData("SELECT 1)")]
    public void Text_that_cannot_be_read_for_sure_is_a_write(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("SELECT 1; SELECT 2")]
    [InlineData("SELECT 1;;SELECT 2;")]
    [InlineData("SHOW x; VALUES (1); TABLE t")]
    public void Several_reads_are_a_read(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("SELECT 1; DELETE FROM t")]
    [InlineData("DELETE FROM t; SELECT 1")]
    [InlineData("SELECT 1; SELECT 2 FOR UPDATE")]
    [InlineData("SELECT 1; SET x = 1")]
    [InlineData("SELECT $$;$$; INSERT INTO t VALUES (1)")]
    public void One_write_among_several_statements_makes_the_query_a_write(string sql) => AssertWrite(sql);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(";")]
    [InlineData(" ; ; ")]
    [InlineData("-- nothing")]
    [InlineData("/* nothing */")]
    public void An_empty_query_is_a_read(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("BEGIN READ ONLY")]
    [InlineData("START TRANSACTION READ ONLY")]
    [InlineData("begin transaction isolation level repeatable read, read only")]
    [InlineData("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE")]
    [InlineData("BEGIN READ ONLY; SELECT 1")]
    [InlineData("BEGIN; SELECT 1; COMMIT")]
    [InlineData("BEGIN; SELECT 1; ROLLBACK;")]
    [InlineData("START TRANSACTION; SELECT 1; END")]
    [InlineData("BEGIN; SAVEPOINT a; SELECT 1; RELEASE a; COMMIT")]
    public void Read_only_transactions_and_closed_transactions_of_reads_are_reads(string sql) => AssertRead(sql);

    [Theory]
    [InlineData("BEGIN")]
    [InlineData("BEGIN WORK")]
    [InlineData("START TRANSACTION")]
    [InlineData("BEGIN ISOLATION LEVEL READ COMMITTED")]
    [InlineData("BEGIN READ WRITE")]
    [InlineData("BEGIN; SELECT 1")]
    [InlineData("SELECT 1; BEGIN")]
    [InlineData("BEGIN; SELECT 1; COMMIT; BEGIN")]
    [InlineData("BEGIN; SELECT 1; ROLLBACK TO SAVEPOINT a")]
    [InlineData("BEGIN; SELECT 1; COMMIT AND CHAIN")]
    [InlineData("BEGIN; DELETE FROM t; COMMIT")]
    [InlineData("COMMIT")]
    [InlineData("ROLLBACK")]
    [InlineData("SAVEPOINT a")]
    [InlineData("COMMIT PREPARED 'x'")]
    [InlineData("PREPARE TRANSACTION 'x'")]
    [InlineData("START SOMETHING")]
    public void Read_write_transactions_left_open_and_transaction_control_alone_are_writes(string sql) => AssertWrite(sql);

    [Fact]
    public void Commit_and_no_chain_closes_the_transaction() => AssertRead("BEGIN; SELECT 1; COMMIT AND NO CHAIN");

    [Fact]
    public void Very_deep_nesting_is_a_write()
    {
        var sql = "SELECT " + new string('(', 300) + "1" + new string(')', 300);
        AssertWrite(sql);
    }
}
