using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Pooler.Core.Pools;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Cluster;

/// <summary>
/// Serializes the few control messages that cross nodes (<see cref="IClusterMessage"/>) as small
/// JSON documents named by a short manifest, so that no message falls back to Akka's default
/// serializer and an unknown one fails loudly.
/// </summary>
public sealed class ClusterMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4711;

    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(PoolEnvelope)] = "env",
        [typeof(GetPoolLocation)] = "where",
        [typeof(PoolLocation)] = "at",
        [typeof(GetServerParameters)] = "params?",
        [typeof(CurrentServerParameters)] = "params",
        [typeof(CheckoutFailed)] = "failed",
        [typeof(ForwardedCancel)] = "cancel",
        [typeof(MovePool)] = "move",
        [typeof(AdminPool)] = "admin",
        [typeof(Admin.AdminResult)] = "admin-result",
        [typeof(Stats.GetNodeSnapshot)] = "node?",
        [typeof(Stats.NodeReport)] = "node",
        [typeof(Stats.NodeCommand)] = "node-command",
    };

    private static readonly Dictionary<string, Type> Types = Manifests.ToDictionary(m => m.Value, m => m.Key);

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not a cluster message");

    public override byte[] ToBinary(object obj) => obj switch
    {
        PoolEnvelope envelope => JsonSerializer.SerializeToUtf8Bytes(
            new EnvelopeDto(envelope.PoolName, Manifest(envelope.Message), ToBinary(envelope.Message))),
        GetPoolLocation => [],
        _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType()),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new System.Runtime.Serialization.SerializationException($"unknown cluster message manifest '{manifest}'");
        if (type == typeof(PoolEnvelope))
        {
            var dto = JsonSerializer.Deserialize<EnvelopeDto>(bytes)!;
            return new PoolEnvelope(dto.Pool, FromBinary(dto.Payload, dto.Manifest));
        }
        if (type == typeof(GetPoolLocation))
            return new GetPoolLocation();
        if (type == typeof(CurrentServerParameters))
        {
            var parameters = JsonSerializer.Deserialize<CurrentParametersDto>(bytes)!;
            return new CurrentServerParameters(parameters.Parameters);
        }
        return JsonSerializer.Deserialize(bytes, type)
            ?? throw new System.Runtime.Serialization.SerializationException($"empty {manifest} message");
    }

    private sealed record EnvelopeDto(string Pool, string Manifest, byte[] Payload);

    private sealed record CurrentParametersDto(Dictionary<string, string> Parameters);
}
