namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// Transaction mode with a single server connection: consecutive transactions of different
/// clients run on the same PostgreSQL backend (the setting where a stale cancel key would hit
/// the wrong client).
/// </summary>
public sealed class TransactionSingleConnectionFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 1;
}

/// <summary>Transaction mode with five server connections, as in the pgbench runs.</summary>
public sealed class TransactionPoolOfFiveFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 5;
}
