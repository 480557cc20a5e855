namespace Pooler.Config.Toml;

/// <summary>"did you mean …?" for a misspelt key: the known key closest by edit distance, if close enough.</summary>
internal static class KeySuggestions
{
    public static string? Nearest(string key, IEnumerable<string> known)
    {
        // Up to a quarter of the key may differ (at least 2 edits), so "conect_timeout" finds
        // "connect_timeout" but "foo" does not become "host".
        var limit = Math.Max(2, key.Length / 4);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known.Order(StringComparer.Ordinal))
        {
            var distance = Distance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= limit ? best : null;
    }

    // Levenshtein distance with one row of memory; keys are short.
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
