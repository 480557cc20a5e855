using Pooler.Config;
using Xunit;

namespace Pooler.Host.Tests;

/// <summary>Every configuration we ship (cluster-config/ and its subfolders) or promise to accept loads, and its summary leaks no secret.</summary>
public sealed class ShippedConfigTests
{
    public static TheoryData<string> ShippedConfigs()
    {
        var data = new TheoryData<string>();
        var root = RepositoryRoot();
        foreach (var file in Directory.GetFiles(Path.Combine(root, "cluster-config"), "*.toml", SearchOption.AllDirectories))
            data.Add(Path.GetRelativePath(root, file));
        // The shared examples sit beside the repository in CI (../shared/examples).
        var shared = Path.Combine(root, "..", "shared", "examples");
        if (Directory.Exists(shared))
            foreach (var file in Directory.GetFiles(shared, "*.toml"))
                data.Add(Path.GetRelativePath(root, file));
        return data;
    }

    [Theory]
    [MemberData(nameof(ShippedConfigs))]
    public void Shipped_config_loads_and_its_summary_shows_no_password(string relativePath)
    {
        var path = Path.Combine(RepositoryRoot(), relativePath);

        var config = ConfigLoader.LoadFile(path);
        var summary = string.Join('\n', ServingSummary.Describe(config, path));

        Assert.NotEmpty(config.Pools);
        foreach (var (pool, user) in config.PoolUsers())
        {
            Assert.Contains($"pool '{pool.Name}'", summary);
            Assert.DoesNotContain(user.Password, summary);
        }
        if (config.General.AdminPassword is { } adminPassword)
            Assert.DoesNotContain(adminPassword, summary);
        if (config.Cluster.Secret is { } secret)
            Assert.DoesNotContain(secret, summary);
    }

    [Fact]
    public void Cluster_config_folder_holds_the_single_node_file()
    {
        Assert.True(File.Exists(Path.Combine(RepositoryRoot(), "cluster-config", "single.toml")));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Pooler.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (holding Pooler.sln) was not found");
    }
}
