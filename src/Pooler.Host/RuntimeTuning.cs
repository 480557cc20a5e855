namespace Pooler.Host;

/// <summary>
/// Runtime settings that must be in place before the first socket is made. Each one can be
/// overridden by setting its environment variable before starting the pooler.
/// </summary>
public static class RuntimeTuning
{
    /// <summary>
    /// Socket completions run on the epoll thread that saw them instead of being queued to the
    /// thread pool: a pooler's work per event is a few microseconds of copying bytes, far less
    /// than the cost of waking a worker thread for it (measured with bench/run: less CPU per
    /// transaction and more throughput). Nothing on the data path blocks; slow work (SCRAM key
    /// derivation, connecting to PostgreSQL) runs elsewhere.
    /// </summary>
    public const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
            Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
    }
}
