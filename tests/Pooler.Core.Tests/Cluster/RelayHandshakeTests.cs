using System.IO.Pipelines;
using Pooler.Core.Cluster;
using Pooler.Core.Wire;
using Xunit;

namespace Pooler.Core.Tests.Cluster;

/// <summary>The relay handshake is only accepted with the cluster secret, for the nonce it was made for.</summary>
public sealed class RelayHandshakeTests
{
    private const string Secret = "a-cluster-secret-of-some-length";

    private static readonly RelayHandshake Sample = new("app", "alice",
        new Dictionary<string, string> { ["application_name"] = "billing", ["TimeZone"] = "Europe/Paris" },
        "akka.tcp://pooler@10.0.0.2:4053", "client-7", "10.0.0.1", 6432);

    private static async Task<byte[]> PayloadOf(RelayHandshake handshake, byte[] nonce, string secret)
    {
        var pipe = new Pipe();
        handshake.Write(pipe.Writer, nonce, secret);
        await pipe.Writer.FlushAsync();
        var message = await PipeMessages.ReadAsync(pipe.Reader, 1 << 16, CancellationToken.None);
        Assert.Equal(RelayHandshake.HandshakeType, message!.Value.Type);
        return message.Value.Payload.ToArray();
    }

    [Fact]
    public async Task A_handshake_made_with_the_secret_is_read_back_whole()
    {
        var nonce = RelayHandshake.NewNonce();
        var read = RelayHandshake.Read(await PayloadOf(Sample, nonce, Secret), nonce, Secret, out var problem);

        Assert.Null(problem);
        Assert.NotNull(read);
        Assert.Equal(("app", "alice", "client-7", "10.0.0.1", 6432), (read.PoolName, read.UserName, read.ClientId, read.CancelHost, read.CancelPort));
        Assert.Equal("akka.tcp://pooler@10.0.0.2:4053", read.EntryNode);
        Assert.Equal("billing", read.Settings["application_name"]);
        Assert.Equal("Europe/Paris", read.Settings["timezone"]);
    }

    [Fact]
    public async Task A_different_secret_is_refused()
    {
        var nonce = RelayHandshake.NewNonce();
        var read = RelayHandshake.Read(await PayloadOf(Sample, nonce, "another-secret-entirely"), nonce, Secret, out var problem);

        Assert.Null(read);
        Assert.Contains("proof does not match", problem);
    }

    [Fact]
    public async Task A_handshake_replayed_against_a_new_nonce_is_refused()
    {
        var payload = await PayloadOf(Sample, RelayHandshake.NewNonce(), Secret);

        Assert.Null(RelayHandshake.Read(payload, RelayHandshake.NewNonce(), Secret, out _));
    }

    [Fact]
    public async Task A_changed_field_is_refused()
    {
        var nonce = RelayHandshake.NewNonce();
        var payload = await PayloadOf(Sample, nonce, Secret);
        var at = Array.IndexOf(payload, (byte)'a', 5); // somewhere inside "app" or "alice"
        payload[at] = (byte)'b';

        Assert.Null(RelayHandshake.Read(payload, nonce, Secret, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_truncated_handshake_is_refused_with_a_reason()
    {
        Assert.Null(RelayHandshake.Read(new byte[10], RelayHandshake.NewNonce(), Secret, out var problem));
        Assert.Equal("relay handshake too short", problem);
    }
}
