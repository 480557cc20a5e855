namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// Session mode with a single server connection: every client, one after the other, gets the
/// same PostgreSQL backend, so what one client leaves behind is what the next one would see.
/// </summary>
public sealed class SessionSingleConnectionFixture : PoolerFixture
{
    protected override string PoolMode => "session";
    protected override int PoolSize => 1;
}
