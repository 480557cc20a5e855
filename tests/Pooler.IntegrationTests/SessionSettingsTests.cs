using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

public sealed class SingleServerTransactionFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 1;
}

/// <summary>
/// Transaction mode with one server connection shared by clients that want different session
/// settings: each client must see its own, on every transaction.
/// </summary>
public sealed class SessionSettingsTests(SingleServerTransactionFixture fixture) : IClassFixture<SingleServerTransactionFixture>
{
    [Fact]
    public async Task Startup_settings_follow_each_client_onto_the_shared_server_connection()
    {
        await using var paris = await fixture.Pooler.OpenAsync(
            extra: "Timezone=Europe/Paris;Application Name=client-paris;Options=-c search_path=paris_schema,public");
        await using var tokyo = await fixture.Pooler.OpenAsync(
            extra: "Timezone=Asia/Tokyo;Application Name=client-tokyo");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(("Europe/Paris", "client-paris", "paris_schema,public"), await SettingsAsync(paris));
            Assert.Equal(("Asia/Tokyo", "client-tokyo", "\"$user\", public"), await SettingsAsync(tokyo));
        }
        // Both ran on the one server connection, so the settings really were switched.
        Assert.Equal(await PidAsync(paris), await PidAsync(tokyo));
    }

    [Fact]
    public async Task A_clients_own_SET_of_a_reported_parameter_follows_it()
    {
        await using var mover = await fixture.Pooler.OpenAsync();
        await using var other = await fixture.Pooler.OpenAsync(extra: "Timezone=UTC");
        await using (var set = new NpgsqlCommand("SET TimeZone = 'America/New_York'", mover))
            await set.ExecuteNonQueryAsync();

        Assert.Equal("UTC", await ShowAsync(other, "TimeZone"));
        Assert.Equal("America/New_York", await ShowAsync(mover, "TimeZone"));
        // The ParameterStatus the client saw agrees with what the server runs with.
        Assert.Equal("America/New_York", mover.Timezone);
    }

    private static async Task<(string, string, string)> SettingsAsync(NpgsqlConnection connection) =>
        (await ShowAsync(connection, "TimeZone"), await ShowAsync(connection, "application_name"),
         await ShowAsync(connection, "search_path"));

    private static async Task<string> ShowAsync(NpgsqlConnection connection, string setting)
    {
        await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<int> PidAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
