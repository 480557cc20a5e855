namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>What the kernel says a process holds in RAM (Linux /proc).</summary>
public static class ProcessMemory
{
    /// <summary>VmRSS of <paramref name="processId"/> in bytes.</summary>
    public static long ResidentBytes(int processId)
    {
        foreach (var line in File.ReadLines($"/proc/{processId}/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
                continue;
            // "VmRSS:	  123456 kB"
            var fields = line["VmRSS:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(fields[0]) * 1024;
        }
        throw new InvalidOperationException($"/proc/{processId}/status has no VmRSS line");
    }
}
