using Akka.Actor;
using Akka.Serialization;
using Pooler.Core.Cluster;
using Pooler.Core.Pools;
using Xunit;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Tests.Cluster;

/// <summary>Every message that crosses nodes survives the serializer the cluster binds to it.</summary>
public sealed class ClusterMessageSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer-test");

    public void Dispose() => _system.Dispose();

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
        var bytes = serializer.ToBinary(message);
        return (T)serializer.FromBinary(bytes, serializer.Manifest(message));
    }

    [Fact]
    public void Pool_location_round_trips()
    {
        var location = new PoolLocation("app", "akka.tcp://pooler@10.0.0.3:4053", "10.0.0.3", 6433, "10.0.0.3", 6432);
        Assert.Equal(location, RoundTrip(location));
    }

    [Fact]
    public void Envelopes_carry_their_message()
    {
        var envelope = RoundTrip(new PoolEnvelope("app", new GetServerParameters("alice")));
        Assert.Equal("app", envelope.PoolName);
        Assert.Equal(new GetServerParameters("alice"), envelope.Message);
        Assert.IsType<GetPoolLocation>(RoundTrip(new PoolEnvelope("app", new GetPoolLocation())).Message);
    }

    [Fact]
    public void Server_parameters_and_failures_round_trip()
    {
        var parameters = RoundTrip(new CurrentServerParameters(new Dictionary<string, string> { ["server_version"] = "15.4", ["TimeZone"] = "UTC" }));
        Assert.Equal("15.4", parameters.Parameters["server_version"]);
        Assert.Equal("UTC", parameters.Parameters["TimeZone"]);
        Assert.Equal(new CheckoutFailed("53300", "busy", 7), RoundTrip(new CheckoutFailed("53300", "busy", 7)));
        Assert.Equal(new ForwardedCancel(0x12345678, -5), RoundTrip(new ForwardedCancel(0x12345678, -5)));
        Assert.Equal(new MovePool("app", "akka.tcp://pooler@h:1"), RoundTrip(new MovePool("app", "akka.tcp://pooler@h:1")));
    }

    [Fact]
    public void The_actor_system_picks_this_serializer_for_cluster_messages_when_bound()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString($$"""
            akka.actor.serializers.pooler-cluster = "{{typeof(ClusterMessageSerializer).AssemblyQualifiedName}}"
            akka.actor.serialization-bindings."{{typeof(IClusterMessage).AssemblyQualifiedName}}" = pooler-cluster
            akka.actor.serialization-identifiers."{{typeof(ClusterMessageSerializer).AssemblyQualifiedName}}" = {{ClusterMessageSerializer.Id}}
            """);
        using var system = ActorSystem.Create("bound", config);
        var serializer = system.Serialization.FindSerializerFor(new PoolLocation("p", "a", "h", 1, "h", 2));
        Assert.IsType<ClusterMessageSerializer>(serializer);
    }
}
