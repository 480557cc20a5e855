using Pooler.Core.Clients;
using Xunit;

namespace Pooler.Core.Tests.Clients;

public sealed class StartupOptionsTests
{
    [Theory]
    [InlineData("-c search_path=app,public", "search_path", "app,public")]
    [InlineData("-csearch_path=app", "search_path", "app")]
    [InlineData("--statement-timeout=5s", "statement_timeout", "5s")]
    [InlineData(@"-c application_name=two\ words", "application_name", "two words")]
    public void Settings_in_options_are_read_as_postgres_reads_them(string options, string name, string value)
    {
        var settings = new Dictionary<string, string>();

        StartupOptions.Apply(options, settings);

        Assert.Equal(value, settings[name]);
    }

    [Fact]
    public void Several_settings_and_junk_are_handled()
    {
        var settings = new Dictionary<string, string>();

        StartupOptions.Apply("-c a=1 -x -c b=2 -c noequals", settings);

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, settings);
    }

    [Fact]
    public void Missing_options_change_nothing()
    {
        var settings = new Dictionary<string, string> { ["keep"] = "me" };

        StartupOptions.Apply(null, settings);
        StartupOptions.Apply("   ", settings);

        Assert.Single(settings);
    }
}
