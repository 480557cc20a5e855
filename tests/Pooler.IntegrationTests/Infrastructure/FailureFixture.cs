namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// Transaction mode with small limits, so that bad input and silent clients meet them fast:
/// messages over 1 MiB are refused and a login must finish within one second.
/// </summary>
public sealed class FailureFixture : PoolerFixture
{
    public const int MaxMessageSize = 1048576;
    public const int ClientLoginTimeoutMs = 1000;

    protected override string PoolMode => "transaction";
    protected override int PoolSize => 3;

    protected override string General => $"""
        max_message_size = {MaxMessageSize}
        client_login_timeout = {ClientLoginTimeoutMs}
        """;
}
