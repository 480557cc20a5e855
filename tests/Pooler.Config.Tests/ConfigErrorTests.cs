namespace Pooler.Config.Tests;

/// <summary>Mistakes in a file give one line naming the file, the line and the key.</summary>
public sealed class ConfigErrorTests
{
    [Fact]
    public void Unknown_key_is_an_error_naming_file_line_and_key()
    {
        var error = TestConfigs.Fails("""
            [general]
            port = 6432
            conect_timeout = 5000
            """ + "\n" + TestConfigs.Minimal);

        Assert.Equal("pooler.toml:3: general.conect_timeout: unknown key (did you mean 'connect_timeout'?)", error.Message);
        Assert.Equal("pooler.toml", error.File);
        Assert.Equal(3, error.Line);
        Assert.Equal("general.conect_timeout", error.Key);
    }

    [Fact]
    public void Unknown_key_without_a_near_match_points_to_the_docs()
    {
        var error = TestConfigs.FailsWith("[general]\nfrobnicate = true");

        Assert.Equal(TestConfigs.FirstExtraLine + 1, error.Line);
        Assert.Equal("general.frobnicate", error.Key);
        Assert.Contains("unknown key; remove it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_in_a_user_table_is_an_error()
    {
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("pool_size = 1", "poolsize = 1", StringComparison.Ordinal));

        Assert.Equal("pooler.toml:7: pools.app.users.0.poolsize: unknown key (did you mean 'pool_size'?)", error.Message);
    }

    [Fact]
    public void Unknown_section_is_an_error()
    {
        var error = TestConfigs.FailsWith("[clustr]\nport = 4053");

        Assert.Equal($"pooler.toml:{TestConfigs.FirstExtraLine}: clustr: unknown section (did you mean 'cluster'?)", error.Message);
    }

    [Fact]
    public void Unknown_section_inside_a_pool_is_an_error()
    {
        var error = TestConfigs.FailsWith("[pools.app.user.1]\nusername = \"b\"");

        Assert.Equal("pools.app.user", error.Key);
        Assert.Equal(TestConfigs.FirstExtraLine, error.Line);
        Assert.Contains("unknown section (did you mean 'users'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_section_is_reported_before_missing_pools()
    {
        var error = TestConfigs.Fails("[pool.app]\npool_mode = \"session\"");

        Assert.Equal("pooler.toml:1: pool: unknown section (did you mean 'pools'?)", error.Message);
    }

    [Fact]
    public void A_TOML_syntax_error_names_file_and_line()
    {
        var error = TestConfigs.Fails("""
            [general]
            host = "0.0.0.0"
            port =
            """);

        Assert.Equal(3, error.Line);
        Assert.Equal("general.port", error.Key);
        Assert.StartsWith("pooler.toml:3: general.port: invalid TOML: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_TOML_syntax_error_away_from_any_key_names_only_file_and_line()
    {
        var error = TestConfigs.Fails("[general\nport = 1");

        Assert.Equal(1, error.Line);
        Assert.StartsWith("pooler.toml:1: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("invalid TOML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_defined_twice_is_a_TOML_error_at_the_second_definition()
    {
        var error = TestConfigs.Fails("[general]\nport = 6432\nport = 6433\n" + TestConfigs.Minimal);

        Assert.Equal(3, error.Line);
        Assert.Contains("invalid TOML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_where_an_integer_is_expected_names_the_key()
    {
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("pool_size = 1", "pool_size = \"10\"", StringComparison.Ordinal));

        Assert.Equal("pooler.toml:7: pools.app.users.0.pool_size: must be a positive integer, got \"10\"", error.Message);
    }

    [Fact]
    public void An_integer_where_a_string_is_expected_names_the_key()
    {
        var error = TestConfigs.FailsWith("[general]\nhost = 127");

        Assert.Equal($"pooler.toml:{TestConfigs.FirstExtraLine + 1}: general.host: must be a string, got 127", error.Message);
    }

    [Fact]
    public void A_string_where_a_boolean_is_expected_names_the_key()
    {
        var error = TestConfigs.FailsWith("[general]\nlog_client_connections = \"yes\"");

        Assert.Equal("general.log_client_connections", error.Key);
        Assert.EndsWith("must be true or false, got \"yes\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_float_timeout_is_a_type_error()
    {
        var error = TestConfigs.FailsWith("[general]\nconnect_timeout = 5.5");

        Assert.EndsWith("general.connect_timeout: must be a duration in milliseconds from 0 to 2147483647, got a floating-point number",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_section_given_as_a_value_is_a_type_error()
    {
        var error = TestConfigs.Fails("general = 5\n" + TestConfigs.Minimal);

        Assert.Equal("pooler.toml:1: general: must be a table ([general]), got 5", error.Message);
    }

    [Fact]
    public void A_password_of_the_wrong_type_is_not_echoed()
    {
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("password = \"secret\"", "password = 123456", StringComparison.Ordinal));

        Assert.Equal("pooler.toml:6: pools.app.users.0.password: must be a string, got an integer", error.Message);
    }

    [Fact]
    public void A_negative_timeout_is_an_error()
    {
        var error = TestConfigs.FailsWith("[general]\nidle_timeout = -1");

        Assert.Equal("general.idle_timeout", error.Key);
        Assert.EndsWith("must be a duration in milliseconds from 0 to 2147483647, got -1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_enum_value_error_lists_the_allowed_values()
    {
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("\"transaction\"", "\"txn\"", StringComparison.Ordinal));

        Assert.Equal("pooler.toml:2: pools.app.pool_mode: must be one of \"transaction\", \"session\", \"statement\", got \"txn\"",
            error.Message);
    }

    [Fact]
    public void A_value_with_a_newline_still_gives_a_one_line_message()
    {
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("\"transaction\"", "\"\"\"trans\naction\"\"\"", StringComparison.Ordinal));

        Assert.Equal("pools.app.pool_mode", error.Key);
    }

    [Fact]
    public void A_missing_file_is_a_config_error_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pooler-missing-{Guid.NewGuid():N}.toml");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path));

        Assert.StartsWith($"{path}: cannot read the configuration file: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, error.Line);
    }

    [Fact]
    public void Errors_in_a_loaded_file_name_the_path_given()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pooler-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, "[general]\nport = 0\n" + TestConfigs.Minimal);
        try
        {
            var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path));

            Assert.Equal($"{path}:2: general.port: must be a port number from 1 to 65535, got 0", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
