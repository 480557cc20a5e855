using Xunit;

namespace Pooler.Host.Tests;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("--config", "a.toml")]
    [InlineData("-c", "a.toml")]
    [InlineData("--config=a.toml")]
    public void Config_file_is_taken_from_any_spelling(params string[] args)
    {
        var commandLine = CommandLine.Parse(args);

        Assert.Equal("a.toml", commandLine.ConfigPath);
        Assert.False(commandLine.CheckOnly);
    }

    [Fact]
    public void Check_flag_is_recognised()
    {
        Assert.True(CommandLine.Parse(["--config", "a.toml", "--check"]).CheckOnly);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_needs_no_config(string flag)
    {
        Assert.True(CommandLine.Parse([flag]).ShowHelp);
    }

    [Fact]
    public void Version_needs_no_config()
    {
        Assert.True(CommandLine.Parse(["--version"]).ShowVersion);
    }

    [Fact]
    public void Missing_config_is_an_error()
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse([]));
        Assert.Equal("--config FILE is required", error.Message);
    }

    [Fact]
    public void Config_flag_without_a_file_is_an_error()
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse(["--config"]));
        Assert.Equal("--config needs a file name", error.Message);
    }

    [Fact]
    public void Unknown_argument_is_named()
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse(["--config", "a.toml", "--verbose"]));
        Assert.Equal("unknown argument '--verbose'", error.Message);
    }
}
