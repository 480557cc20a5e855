namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>Transaction mode on a pool of five: many clients, few server connections.</summary>
public sealed class CrossTalkFixture : PoolerFixture
{
    public const int Size = 5;

    protected override string PoolMode => "transaction";
    protected override int PoolSize => Size;
}
